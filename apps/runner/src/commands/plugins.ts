import { type AnyPluginDefinition, type BuiltinPlugin, loadConfig, pluginKinds, type z } from '@ekipl/core';
import { defineCommand } from 'citty';
import { builtinPlugins } from '../builtin-plugins.js';
import { reportError } from '../report-error.js';
import { schemaFields } from '../schema-fields.js';

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

/** One line per option: `name: type = default (required)  description`, from the options schema. */
function optionsSummary(plugin: AnyPluginDefinition): string[] {
  const fields = schemaFields(plugin.options as z.ZodType);
  if (fields === undefined) return ['(options schema cannot be summarised)'];
  return fields.map(
    (field) =>
      `${field.path}: ${field.type}${field.default === undefined ? '' : ` = ${field.default}`}${field.required ? ' (required)' : ''}${field.description === undefined ? '' : `  ${field.description}`}`,
  );
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
