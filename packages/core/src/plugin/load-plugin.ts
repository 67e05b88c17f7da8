import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { closestMatch } from '../config/issues.js';
import { PluginError } from '../errors/plugin-error.js';
import {
  type AnyPluginDefinition,
  isPluginDefinition,
  type PluginKind,
  pluginKinds,
} from './define-plugin.js';

/** A plugin shipped with ekipl, addressed in configs by its short name (`snis`, `tfjs`, `openai`). */
export interface BuiltinPlugin {
  name: string;
  kind: PluginKind;
  /** The npm package that holds it (shown by `ekipl plugins`). */
  packageName: string;
  load(): Promise<AnyPluginDefinition>;
}

export interface LoadPluginOptions {
  builtins: readonly BuiltinPlugin[];
  /** Folder of the config file: relative paths and npm packages are resolved from here. */
  configDirectory: string;
  /** When given, a plugin of another kind is an error naming both kinds. */
  expectedKind?: PluginKind;
}

const articles: Record<PluginKind, string> = {
  policy: 'a policy',
  auxiliary: 'an auxiliary sampler',
  reward: 'a reward',
  selector: 'a selector',
  estimator: 'an estimator',
  dataset: 'a dataset',
};

/**
 * Loads the plugin a config names with `use:`:
 * - a built-in name: `snis`, `top-k`, `tfjs`;
 * - a relative or absolute path to a `.js` / `.mjs` / `.cjs` file: `./plugins/my-reward.mjs`;
 * - an npm package installed next to the config (or in any parent folder's node_modules), optionally
 *   with `#exportName` to pick one of several plugins it exports: `ekipl-plugin-foo#bar`.
 * A module's plugin is its default export, or the one named export that is a plugin.
 */
export async function loadPlugin(
  reference: string,
  options: LoadPluginOptions,
): Promise<AnyPluginDefinition> {
  const plugin = await loadUnchecked(reference, options);
  if (options.expectedKind !== undefined && plugin.kind !== options.expectedKind) {
    throw new PluginError(
      reference,
      `plugin "${reference}" is ${articles[plugin.kind] ?? `of kind "${plugin.kind}"`}, but this section needs ${articles[options.expectedKind]}`,
    );
  }
  return plugin;
}

async function loadUnchecked(reference: string, options: LoadPluginOptions): Promise<AnyPluginDefinition> {
  if (isPathReference(reference)) return loadFile(reference, options.configDirectory);
  const builtin = options.builtins.find((candidate) => candidate.name === reference);
  if (builtin !== undefined) return checkDefinition(reference, await builtin.load(), builtin.packageName);

  const { packageName, exportName } = splitPackageReference(reference);
  const entry = resolvePackageEntry(packageName, options.configDirectory);
  if (entry === undefined) {
    const sameKind = options.builtins.filter(
      (candidate) => options.expectedKind === undefined || candidate.kind === options.expectedKind,
    );
    const suggestion = closestMatch(
      reference,
      sameKind.map((candidate) => candidate.name),
    );
    const builtinList =
      sameKind.length === 0 ? 'none' : sameKind.map((candidate) => candidate.name).join(', ');
    throw new PluginError(
      reference,
      `unknown plugin "${reference}"${suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`}: ` +
        `not a built-in (${options.expectedKind === undefined ? 'built-ins' : `built-in ${options.expectedKind} plugins`}: ${builtinList}), ` +
        `and no npm package "${packageName}" is installed in ${options.configDirectory} or a parent folder`,
    );
  }
  const module = await importModule(reference, entry);
  return pickFromModule(reference, module, exportName, entry);
}

function isPathReference(reference: string): boolean {
  return reference.startsWith('./') || reference.startsWith('../') || isAbsolute(reference);
}

async function loadFile(reference: string, configDirectory: string): Promise<AnyPluginDefinition> {
  const file = resolve(configDirectory, reference);
  const extension = extname(file);
  if (!['.js', '.mjs', '.cjs'].includes(extension)) {
    throw new PluginError(
      reference,
      `plugin file ${file} must be JavaScript (.js, .mjs or .cjs)${extension === '.ts' || extension === '.mts' ? '; compile the TypeScript first' : ''}`,
    );
  }
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new PluginError(reference, `plugin file not found: ${file} (resolved from ${configDirectory})`);
  }
  return pickFromModule(reference, await importModule(reference, file), undefined, file);
}

async function importModule(reference: string, file: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new PluginError(reference, `plugin "${reference}" failed to load from ${file}: ${reason}`, {
      cause: error,
    });
  }
}

function pickFromModule(
  reference: string,
  module: Record<string, unknown>,
  exportName: string | undefined,
  location: string,
): AnyPluginDefinition {
  if (exportName !== undefined) {
    const named = module[exportName] ?? pluginsIn(module).find((plugin) => plugin.name === exportName);
    if (named === undefined) {
      throw new PluginError(
        reference,
        `${location} has no plugin "${exportName}" (it exports: ${describeExports(module)})`,
      );
    }
    return checkDefinition(reference, named, location);
  }
  if (module['default'] !== undefined && isPluginDefinition(module['default'])) {
    return checkDefinition(reference, module['default'], location);
  }
  const plugins = pluginsIn(module);
  if (plugins.length === 1) return checkDefinition(reference, plugins[0], location);
  if (plugins.length > 1) {
    throw new PluginError(
      reference,
      `${location} exports several plugins (${plugins.map((plugin) => plugin.name).join(', ')}); write "${reference}#<name>" to pick one`,
    );
  }
  throw new PluginError(
    reference,
    `${location} exports no plugin: its default export must be the object returned by definePlugin() (it exports: ${describeExports(module)})`,
  );
}

function pluginsIn(module: Record<string, unknown>): AnyPluginDefinition[] {
  const values = Object.entries(module)
    .filter(([key]) => key !== 'default')
    .map(([, value]) => value);
  const defaultExport = module['default'];
  if (Array.isArray(defaultExport)) values.push(...defaultExport);
  return values.filter(isPluginDefinition);
}

function describeExports(module: Record<string, unknown>): string {
  const names = Object.keys(module);
  return names.length === 0 ? 'nothing' : names.join(', ');
}

function checkDefinition(reference: string, value: unknown, location: string): AnyPluginDefinition {
  if (!isPluginDefinition(value)) {
    throw new PluginError(
      reference,
      `${location}: the export is not a plugin (expected the object returned by definePlugin({ kind, name, options, create }))`,
    );
  }
  if (value.specificationVersion !== undefined && value.specificationVersion !== 'v1') {
    throw new PluginError(
      reference,
      `plugin "${value.name}" targets contract ${String(value.specificationVersion)}, this ekipl supports v1`,
    );
  }
  if (!pluginKinds.includes(value.kind)) {
    throw new PluginError(
      reference,
      `plugin "${value.name}" has unknown kind "${value.kind}" (kinds: ${pluginKinds.join(', ')})`,
    );
  }
  return value;
}

function splitPackageReference(reference: string): { packageName: string; exportName?: string } {
  const hash = reference.indexOf('#');
  if (hash < 0) return { packageName: reference };
  return { packageName: reference.slice(0, hash), exportName: reference.slice(hash + 1) };
}

/**
 * The ESM entry file of an installed package, looked up the way Node does from `fromDirectory`
 * (node_modules of it and of every parent), reading `exports` (import / node / default conditions),
 * then `module`, then `main`.
 */
export function resolvePackageEntry(packageName: string, fromDirectory: string): string | undefined {
  let directory = resolve(fromDirectory);
  for (;;) {
    const packageDirectory = join(directory, 'node_modules', packageName);
    const manifestFile = join(packageDirectory, 'package.json');
    if (existsSync(manifestFile)) {
      const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Record<string, unknown>;
      const entry =
        exportTarget(manifest['exports']) ??
        (typeof manifest['module'] === 'string' ? manifest['module'] : undefined) ??
        (typeof manifest['main'] === 'string' ? manifest['main'] : 'index.js');
      return join(packageDirectory, entry);
    }
    const parent = dirname(directory);
    if (parent === directory) return undefined;
    directory = parent;
  }
}

function exportTarget(exports: unknown): string | undefined {
  if (typeof exports === 'string') return exports;
  if (Array.isArray(exports)) {
    for (const item of exports) {
      const target = exportTarget(item);
      if (target !== undefined) return target;
    }
    return undefined;
  }
  if (exports === null || typeof exports !== 'object') return undefined;
  const map = exports as Record<string, unknown>;
  if ('.' in map) return exportTarget(map['.']);
  for (const condition of ['import', 'node', 'default']) {
    if (condition in map) {
      const target = exportTarget(map[condition]);
      if (target !== undefined) return target;
    }
  }
  return undefined;
}
