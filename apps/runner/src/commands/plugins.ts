import { type AnyPluginDefinition, type BuiltinPlugin, loadConfig, pluginKinds, z } from '@ekipl/core';
import { defineCommand } from 'citty';
import { builtinPlugins } from '../builtin-plugins.js';
import { reportError } from '../report-error.js';

interface ListedPlugin {
  name: string;
  kind: string;
  /** Where it comes from: the package of a built-in, or the `use:` of a config's plugin. */
  origin: string;
  description?: string;
  options: string[];
}

/**
 * `ekipl plugins [-c FILE]`: every plugin ekipl can load by name, grouped by kind, with its options
 * (type, default); with a config, also the third-party plugins it names (npm packages, files).
 */
export async function listPlugins(
  options: { config?: string; builtins?: readonly BuiltinPlugin[] } = {},
): Promise<string> {
  const builtins = options.builtins ?? builtinPlugins;
  const listed: ListedPlugin[] = [];
  for (const builtin of builtins) {
    listed.push(describe(await builtin.load(), builtin.packageName));
  }
  if (options.config !== undefined) {
    const resolved = await loadConfig(options.config, { builtins });
    const { plugins } = resolved;
    const all = [
      plugins.dataset,
      plugins.policy,
      plugins.selector,
      plugins.estimator,
      ...plugins.auxiliary,
      ...plugins.reward,
    ];
    for (const entry of all) {
      if (builtins.some((builtin) => builtin.name === entry.use)) continue;
      if (listed.some((item) => item.origin === entry.use && item.name === entry.plugin.name)) continue;
      listed.push(describe(entry.plugin, entry.use));
    }
  }
  if (listed.length === 0) return 'No plugins available.\n';
  const lines: string[] = [];
  for (const kind of pluginKinds) {
    const ofKind = listed.filter((plugin) => plugin.kind === kind);
    if (ofKind.length === 0) continue;
    lines.push(`${kind}:`);
    for (const plugin of ofKind) {
      lines.push(
        `  ${plugin.name}  (${plugin.origin})${plugin.description === undefined ? '' : `  ${plugin.description}`}`,
      );
      lines.push(plugin.options.length === 0 ? '    no options' : `    ${plugin.options.join('\n    ')}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function describe(plugin: AnyPluginDefinition, origin: string): ListedPlugin {
  const listed: ListedPlugin = {
    name: plugin.name,
    kind: plugin.kind,
    origin,
    options: optionsSummary(plugin),
  };
  if (plugin.description !== undefined) listed.description = plugin.description;
  return listed;
}

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  default?: unknown;
  description?: string;
}

/** One line per option: `name: type = default`, from the options schema. */
function optionsSummary(plugin: AnyPluginDefinition): string[] {
  let schema: JsonSchema;
  try {
    schema = z.toJSONSchema(plugin.options as z.ZodType, {
      io: 'input',
      unrepresentable: 'any',
    }) as JsonSchema;
  } catch {
    return ['(options schema cannot be summarised)'];
  }
  return describeProperties(schema, '');
}

/** `name: type = default` per property; nested objects flattened to `parent.child`. */
function describeProperties(schema: JsonSchema, prefix: string): string[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).flatMap(([key, property]) => {
    if (property.type === 'object' && property.properties !== undefined) {
      return describeProperties(property, `${prefix}${key}.`);
    }
    const defaultText = property.default === undefined ? '' : ` = ${JSON.stringify(property.default)}`;
    const requiredText = required.has(key) && property.default === undefined ? ' (required)' : '';
    const description = property.description === undefined ? '' : `  ${property.description}`;
    return [`${prefix}${key}: ${typeText(property)}${defaultText}${requiredText}${description}`];
  });
}

function typeText(schema: JsonSchema): string {
  if (schema.enum !== undefined) return schema.enum.map((value) => JSON.stringify(value)).join(' | ');
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.anyOf !== undefined) return schema.anyOf.map(typeText).join(' | ');
  if (schema.type === 'array') return `${schema.items === undefined ? 'unknown' : typeText(schema.items)}[]`;
  if (Array.isArray(schema.type)) return schema.type.join(' | ');
  return schema.type ?? 'unknown';
}

export default defineCommand({
  meta: { name: 'plugins', description: 'List the plugins ekipl can load, with their options' },
  args: {
    config: {
      type: 'string',
      alias: 'c',
      description: 'Also list the third-party plugins this config names',
    },
  },
  async run({ args }) {
    try {
      process.stdout.write(await listPlugins(args.config === undefined ? {} : { config: args.config }));
    } catch (error) {
      process.exitCode = reportError(error);
    }
  },
});
