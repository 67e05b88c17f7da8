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
 * - a relative or absolute path to a `.js` / `.mjs` / `.cjs` file (`./plugins/my-reward.mjs`) or to a
 *   package folder (`../ekipl-plugin-foo`: its package.json's entry);
 * - an npm package installed next to the config (or in any parent folder's node_modules).
 * Any of these may end in `#exportName` to pick one of several plugins a module exports: `ekipl-plugin-foo#bar`.
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
  const { target, exportName } = splitExportName(reference);
  if (isPathReference(target)) return loadPath(reference, target, exportName, options.configDirectory);
  const builtin = options.builtins.find((candidate) => candidate.name === reference);
  if (builtin !== undefined) return checkDefinition(reference, await builtin.load(), builtin.packageName);

  const packageDirectory = findPackageDirectory(target, options.configDirectory);
  if (packageDirectory === undefined) {
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
        `and no npm package "${target}" is installed in ${options.configDirectory} or a parent folder`,
    );
  }
  return loadPackageFolder(reference, packageDirectory, exportName, `npm package "${target}"`);
}

function isPathReference(reference: string): boolean {
  return reference.startsWith('./') || reference.startsWith('../') || isAbsolute(reference);
}

/** A file (`./plugin.mjs`, `./plugin.mjs#name`) or a package folder (`../ekipl-plugin-foo`). */
async function loadPath(
  reference: string,
  target: string,
  exportName: string | undefined,
  configDirectory: string,
): Promise<AnyPluginDefinition> {
  const path = resolve(configDirectory, target);
  const extension = extname(path);
  if (extension !== '' && !['.js', '.mjs', '.cjs'].includes(extension)) {
    throw new PluginError(
      reference,
      `plugin file ${path} must be JavaScript (.js, .mjs or .cjs)${extension === '.ts' || extension === '.mts' ? '; compile the TypeScript first' : ''}`,
    );
  }
  if (!existsSync(path)) {
    throw new PluginError(reference, `plugin file not found: ${path} (resolved from ${configDirectory})`);
  }
  if (statSync(path).isDirectory()) {
    return loadPackageFolder(reference, path, exportName, `folder ${path}`);
  }
  return pickFromModule(reference, await importModule(reference, path), exportName, path);
}

/** A package's folder: its package.json's entry (exports, module, main), else an index.js there. */
async function loadPackageFolder(
  reference: string,
  directory: string,
  exportName: string | undefined,
  what: string,
): Promise<AnyPluginDefinition> {
  const entry = packageEntry(directory);
  if (entry === undefined) {
    throw new PluginError(
      reference,
      `${what} has no package.json and no index.js: point use: at the plugin's .js file or at its package folder`,
    );
  }
  if (!existsSync(entry)) {
    throw new PluginError(
      reference,
      `${what}: its entry file ${entry} does not exist; build the package first (npm run build in ${directory})`,
    );
  }
  return pickFromModule(reference, await importModule(reference, entry), exportName, entry);
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

/** `pkg#name` / `./file.mjs#name`: the part after the last `#` picks one of several exported plugins. */
function splitExportName(reference: string): { target: string; exportName?: string } {
  const hash = reference.lastIndexOf('#');
  if (hash <= 0) return { target: reference };
  return { target: reference.slice(0, hash), exportName: reference.slice(hash + 1) };
}

/** The folder of an installed package, looked up the way Node does from `fromDirectory` upwards. */
function findPackageDirectory(packageName: string, fromDirectory: string): string | undefined {
  let directory = resolve(fromDirectory);
  for (;;) {
    const packageDirectory = join(directory, 'node_modules', packageName);
    if (existsSync(join(packageDirectory, 'package.json'))) return packageDirectory;
    const parent = dirname(directory);
    if (parent === directory) return undefined;
    directory = parent;
  }
}

/** The ESM entry file of a package folder: `exports` (import / node / default), `module`, `main`, index.js. */
function packageEntry(packageDirectory: string): string | undefined {
  const manifestFile = join(packageDirectory, 'package.json');
  if (!existsSync(manifestFile)) {
    const index = ['index.js', 'index.mjs'].map((name) => join(packageDirectory, name)).find(existsSync);
    return index;
  }
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Record<string, unknown>;
  const entry =
    exportTarget(manifest['exports']) ??
    (typeof manifest['module'] === 'string' ? manifest['module'] : undefined) ??
    (typeof manifest['main'] === 'string' ? manifest['main'] : 'index.js');
  return join(packageDirectory, entry);
}

/**
 * The ESM entry file of an installed package, looked up the way Node does from `fromDirectory`
 * (node_modules of it and of every parent).
 */
export function resolvePackageEntry(packageName: string, fromDirectory: string): string | undefined {
  const directory = findPackageDirectory(packageName, fromDirectory);
  return directory === undefined ? undefined : packageEntry(directory);
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
