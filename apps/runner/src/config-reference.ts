import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type BuiltinPlugin, configSchema, pluginKinds, type z } from '@ekipl/core';
import type { CommandDef } from 'citty';
import { builtinPlugins } from './builtin-plugins.js';
import { main } from './main.js';
import { fieldsOf, inputJsonSchema, type SchemaField, schemaFields } from './schema-fields.js';

/**
 * The config reference is generated from the zod schemas (core's config schema and each built-in
 * plugin's options, their `.describe()` texts included), so it cannot drift from what ekipl accepts.
 * Markdown files hold generated blocks between markers:
 *
 *   <!-- generated: options snis -->   the options table of a built-in plugin
 *   <!-- generated: config run -->     the fields of a config section (run, objective, prompt, warmStart,
 *                                      entry: a plugin entry; sections: the top-level sections)
 *   <!-- generated: reference -->      every section and every built-in plugin
 *   <!-- generated: commands -->       every `ekipl` command with its flags
 *   ...
 *   <!-- /generated -->
 *
 * `npm run docs` rewrites the blocks; the test suite fails when a committed block is stale.
 */

const blockPattern = /<!-- generated: ([^>]*?) -->\n[\s\S]*?<!-- \/generated -->/g;

export interface StaleFile {
  file: string;
  /** The file's text with every block regenerated. */
  expected: string;
}

/** The text with every generated block rendered afresh. Unknown block names throw, naming them. */
export async function fillGeneratedBlocks(
  text: string,
  builtins: readonly BuiltinPlugin[] = builtinPlugins,
): Promise<string> {
  const names = [...text.matchAll(blockPattern)].map((match) => match[1]!);
  const rendered = new Map<string, string>();
  for (const name of names) rendered.set(name, await renderBlock(name, builtins));
  return text.replace(blockPattern, (_, name: string) => {
    return `<!-- generated: ${name} -->\n${rendered.get(name)}<!-- /generated -->`;
  });
}

/** Markdown files under the repository that may hold generated blocks. */
export function documentationFiles(repositoryRoot: string): string[] {
  const files = [join(repositoryRoot, 'README.md')];
  for (const name of readdirSync(join(repositoryRoot, 'docs'))) {
    if (name.endsWith('.md')) files.push(join(repositoryRoot, 'docs', name));
  }
  for (const group of ['packages', 'plugins', 'apps', 'examples']) {
    for (const name of readdirSync(join(repositoryRoot, group), { withFileTypes: true })) {
      if (!name.isDirectory()) continue;
      const readme = join(repositoryRoot, group, name.name, 'README.md');
      try {
        readFileSync(readme);
        files.push(readme);
      } catch {
        // no README
      }
    }
  }
  return files;
}

/** Files whose generated blocks differ from what the schemas give now. */
export async function staleDocumentation(files: readonly string[]): Promise<StaleFile[]> {
  const stale: StaleFile[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const expected = await fillGeneratedBlocks(text);
    if (expected !== text) stale.push({ file, expected });
  }
  return stale;
}

/** Rewrites stale files; returns their paths relative to the root. */
export async function writeDocumentation(repositoryRoot: string): Promise<string[]> {
  const stale = await staleDocumentation(documentationFiles(repositoryRoot));
  for (const { file, expected } of stale) writeFileSync(file, expected);
  return stale.map(({ file }) => relative(repositoryRoot, file));
}

type JsonSchema = Parameters<typeof fieldsOf>[0];

const configSections = ['run', 'objective', 'prompt', 'warmStart'] as const;

async function renderBlock(name: string, builtins: readonly BuiltinPlugin[]): Promise<string> {
  const [what, argument] = name.split(/\s+/);
  if (what === 'options' && argument !== undefined) {
    const builtin = builtins.find((candidate) => candidate.name === argument);
    if (builtin === undefined) throw new Error(`generated block "${name}": no built-in plugin "${argument}"`);
    return optionsTable(await builtin.load().then((plugin) => plugin.options as z.ZodType));
  }
  if (what === 'config' && argument === 'sections') return sectionsTable();
  if (what === 'config' && argument !== undefined) return configSectionTable(argument);
  if (what === 'reference') return reference(builtins);
  if (what === 'commands') return commandsReference();
  throw new Error(
    `unknown generated block "${name}" (use "options <plugin>", "config <section>", "reference" or "commands")`,
  );
}

function configProperties(): Record<string, JsonSchema> {
  return (inputJsonSchema(configSchema) as { properties: Record<string, JsonSchema> }).properties;
}

function configSectionTable(section: string): string {
  const properties = configProperties();
  if (section === 'entry') {
    // The fields of a plugin entry, the union of what the sections' entries accept.
    const auxiliary = properties['auxiliary']!.items!;
    const reward = properties['reward']!.items!;
    const fields = fieldsOf(auxiliary, '');
    for (const field of fieldsOf(reward, '')) {
      if (!fields.some((known) => known.path === field.path)) {
        fields.push({ ...field, description: `${field.description ?? ''} (reward entries)`.trim() });
      }
    }
    for (const field of fields) {
      if (field.path === 'samples') field.description = `${field.description} (auxiliary entries)`;
    }
    return fieldTable(fields);
  }
  const schema = properties[section];
  if (schema === undefined || schema.properties === undefined) {
    throw new Error(`generated block "config ${section}": no config section "${section}" with fields`);
  }
  return fieldTable(fieldsOf(schema, ''));
}

/** The top-level sections: what each is, and its default. */
function sectionsTable(): string {
  const rows = Object.entries(configProperties()).map(([name, schema]) => {
    const row: SchemaField = {
      path: name,
      type:
        schema.type === 'array'
          ? 'list of plugin entries'
          : configSections.includes(name as (typeof configSections)[number])
            ? 'object'
            : 'plugin entry',
      required: false,
    };
    if (schema.default !== undefined) row.default = JSON.stringify(schema.default);
    if (schema.description !== undefined) row.description = schema.description;
    return row;
  });
  return fieldTable(rows);
}

function optionsTable(schema: z.ZodType): string {
  const fields = schemaFields(schema);
  if (fields === undefined) return "Options: see the plugin's source (its schema cannot be summarised).\n";
  if (fields.length === 0) return 'No options.\n';
  return fieldTable(fields);
}

async function reference(builtins: readonly BuiltinPlugin[]): Promise<string> {
  const parts: string[] = [];
  parts.push('## Sections\n\n');
  parts.push(sectionsTable());
  for (const section of configSections) {
    parts.push(`\n## \`${section}\`\n\n`);
    parts.push(configSectionTable(section));
  }
  parts.push('\n## Plugin entries\n\n');
  parts.push(
    'Each of `dataset`, `policy`, `selector`, `estimator` is one entry; `auxiliary` and `reward` are lists of entries.\n\n',
  );
  parts.push(configSectionTable('entry'));
  parts.push('\n## Built-in plugins\n');
  for (const kind of pluginKinds) {
    const ofKind = builtins.filter((builtin) => builtin.kind === kind);
    if (ofKind.length === 0) continue;
    parts.push(`\n### ${kind}\n`);
    for (const builtin of ofKind) {
      const plugin = await builtin.load();
      parts.push(`\n#### \`${builtin.name}\` (${builtin.packageName})\n\n`);
      if (plugin.description !== undefined) parts.push(`${capitalise(plugin.description)}.\n\n`);
      parts.push(optionsTable(plugin.options as z.ZodType));
    }
  }
  return parts.join('');
}

interface CommandArgument {
  type?: string;
  alias?: string | string[];
  description?: string;
  required?: boolean;
  default?: unknown;
  valueHint?: string;
}

/** Each subcommand of `ekipl` with its description and flags, from the commands' own definitions. */
async function commandsReference(): Promise<string> {
  const parts: string[] = [];
  const subCommands = main.subCommands as Record<string, () => Promise<CommandDef>>;
  for (const [name, load] of Object.entries(subCommands)) {
    const command = await load();
    const meta = (await resolveValue(command.meta)) ?? {};
    const args = ((await resolveValue(command.args)) ?? {}) as Record<string, CommandArgument>;
    parts.push(`### \`ekipl ${name}\`\n\n${meta.description ?? ''}\n\n`);
    const rows = Object.entries(args).map(([argument, spec]) => {
      const aliases = spec.alias === undefined ? [] : [spec.alias].flat();
      const flag =
        spec.type === 'positional'
          ? `<${argument}>`
          : [`--${argument}`, ...aliases.map((alias) => `-${alias}`)].join(', ');
      const row: SchemaField = {
        path: flag,
        type: spec.type === 'positional' ? 'positional' : (spec.type ?? 'string'),
        required: spec.required === true,
      };
      if (spec.default !== undefined) row.default = JSON.stringify(spec.default);
      if (spec.description !== undefined) row.description = spec.description;
      return row;
    });
    parts.push(
      rows.length === 0 ? 'No flags.\n\n' : `${fieldTable(rows, ['flag', 'kind', 'default', 'meaning'])}\n`,
    );
  }
  return parts.join('').replace(/\n+$/, '\n');
}

async function resolveValue<T>(
  value: T | (() => T | Promise<T>) | Promise<T> | undefined,
): Promise<T | undefined> {
  return typeof value === 'function' ? await (value as () => T | Promise<T>)() : await value;
}

function capitalise(text: string): string {
  const trimmed = text.replace(/\.$/, '');
  return trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
}

/** An aligned markdown table: field, type, default, meaning. */
function fieldTable(
  fields: readonly SchemaField[],
  header: readonly string[] = ['field', 'type', 'default', 'meaning'],
): string {
  const rows = fields.map((field) => [
    `\`${field.path}\``,
    escapeCell(field.type),
    field.default !== undefined ? `\`${escapeCell(field.default)}\`` : field.required ? 'required' : '',
    escapeCell(field.description ?? ''),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return `${[line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n')}\n`;
}

/** A table cell: pipes escaped, one line, and a `<tag`-like text outside code spans shown as text, not taken for HTML. */
function escapeCell(text: string): string {
  return text
    .replace(/\n/g, ' ')
    .split('`')
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/<(?=[A-Za-z/!])/g, '&lt;')))
    .join('`')
    .replace(/\|/g, '\\|');
}
