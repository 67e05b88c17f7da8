import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';

/**
 * Installing packed tarballs into a fresh folder without the network: npm needs every dependency's
 * registry metadata to resolve version ranges, and a test may not fetch it. So the folder gets a
 * package-lock.json written here: the tarballs as `file:` entries, and every third-party package they
 * need copied from the repository's own lockfile (same versions), each pointing at a tarball file
 * in the folder taken from the npm cache by its integrity (the repository's `npm ci` filled it), or,
 * where the cache lost it, packed from the repository's installed copy. `npm ci --offline` then reads
 * only files.
 */

type LockEntry = Record<string, unknown> & {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  link?: boolean;
  resolved?: string;
};

export interface PackedPackage {
  name: string;
  version: string;
  /** The tarball, relative to the install folder. */
  file: string;
  manifest: LockEntry;
  integrity: string;
}

/** `npm pack` of one package folder into `destination`; returns what the lockfile needs of it. */
export function packPackage(packageDirectory: string, destination: string): PackedPackage {
  const [result] = npmPack(packageDirectory, [], destination);
  return packedPackage(packageDirectory, join(destination, result!.filename));
}

/**
 * `npm pack` of workspace packages (name -> folder) in one npm invocation from the repository's root:
 * a few seconds for all of them, where one invocation a package took a second each.
 */
export function packWorkspaces(
  repositoryRoot: string,
  folders: ReadonlyMap<string, string>,
  destination: string,
): PackedPackage[] {
  return npmPack(repositoryRoot, workspaceFlags(folders), destination).map((result) =>
    packedPackage(folders.get(result.name)!, join(destination, result.filename)),
  );
}

/** npm's `--workspace` flags naming each folder: one npm invocation for all of them. */
export function workspaceFlags(folders: ReadonlyMap<string, string>): string[] {
  return [...folders.values()].flatMap((folder) => ['--workspace', folder]);
}

function npmPack(cwd: string, args: string[], destination: string): { name: string; filename: string }[] {
  const output = execFileSync('npm', ['pack', '--json', '--pack-destination', destination, ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(output.slice(output.indexOf('[')));
}

function packedPackage(packageDirectory: string, tarball: string): PackedPackage {
  const manifest = JSON.parse(readFileSync(join(packageDirectory, 'package.json'), 'utf8')) as LockEntry & {
    name: string;
    version: string;
  };
  return {
    name: manifest.name,
    version: manifest.version,
    file: tarball,
    manifest,
    integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
  };
}

export interface OfflineProject {
  packed: readonly PackedPackage[];
  /** The repository's package-lock.json, where third-party versions and integrity come from. */
  repositoryLockfile: string;
  /**
   * The project's package.json: each packed package it names (in dependencies or devDependencies)
   * is pointed at its tarball, the way a user installs packages not yet on the registry. Default: a
   * project that depends on every packed package.
   */
  manifest?: Record<string, unknown>;
}

/** Writes package.json and package-lock.json in `folder` for `npm ci --offline`. */
export async function writeOfflineProject(folder: string, project: OfflineProject): Promise<void> {
  const { packed } = project;
  const repositoryRoot = dirname(project.repositoryLockfile);
  const repositoryLock = JSON.parse(readFileSync(project.repositoryLockfile, 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const repositoryPackages = repositoryLock.packages;
  const workspaceLocation = new Map<string, string>();
  for (const [location, entry] of Object.entries(repositoryPackages)) {
    if (entry.link === true && typeof entry.resolved === 'string') {
      workspaceLocation.set(location.slice('node_modules/'.length), entry.resolved);
    }
  }
  const packedByName = new Map(packed.map((item) => [item.name, item]));
  const tarballSpec = (item: PackedPackage) => `file:${relative(folder, item.file)}`;
  const manifest: Record<string, unknown> = project.manifest ?? {
    name: 'ekipl-offline-project',
    version: '1.0.0',
    private: true,
    dependencies: Object.fromEntries(packed.map((item) => [item.name, tarballSpec(item)])),
  };
  const packages: Record<string, LockEntry> = {};
  for (const item of packed) {
    packages[`node_modules/${item.name}`] = {
      ...pick(item.manifest, [
        'version',
        'license',
        'dependencies',
        'optionalDependencies',
        'peerDependencies',
        'peerDependenciesMeta',
        'bin',
        'engines',
      ]),
      resolved: tarballSpec(item),
      integrity: item.integrity,
    };
  }

  // Walk third-party dependencies the way Node resolves them in the repository's tree.
  const pending: { from: string; name: string; optional: boolean }[] = [];
  const enqueue = (from: string, entry: LockEntry) => {
    for (const name of Object.keys(entry.dependencies ?? {})) pending.push({ from, name, optional: false });
    for (const name of Object.keys(entry.optionalDependencies ?? {}))
      pending.push({ from, name, optional: true });
    for (const name of Object.keys(entry.peerDependencies ?? {})) {
      if (entry.peerDependenciesMeta?.[name]?.optional !== true)
        pending.push({ from, name, optional: false });
    }
  };
  for (const item of packed) {
    enqueue(workspaceLocation.get(item.name) ?? `node_modules/${item.name}`, item.manifest);
  }
  for (const field of ['dependencies', 'devDependencies'] as const) {
    const specs = { ...((manifest[field] as Record<string, string> | undefined) ?? {}) };
    for (const name of Object.keys(specs)) {
      const item = packedByName.get(name);
      if (item !== undefined) specs[name] = tarballSpec(item);
      else pending.push({ from: '', name, optional: false });
    }
    if (manifest[field] !== undefined) manifest[field] = specs;
  }
  const copied = new Set<string>();
  while (pending.length > 0) {
    const { from, name, optional } = pending.pop()!;
    if (packedByName.has(name)) continue;
    const location = resolveIn(repositoryPackages, from, name);
    if (location === undefined) {
      if (optional) continue;
      throw new Error(`cannot find ${name} (needed by ${from || 'the root'}) in the repository's lockfile`);
    }
    const target = relocate(location, workspaceLocation);
    if (copied.has(target)) continue;
    copied.add(target);
    const { dev: _dev, devOptional, peer: _peer, ...entry } = repositoryPackages[location]!;
    // The tarball itself, taken from the npm cache by its integrity and given as a file: an offline
    // install then asks neither the registry nor the cache's record of a URL.
    if (typeof entry['integrity'] === 'string' && typeof entry.version === 'string') {
      Object.assign(
        entry,
        await localTarball(folder, repositoryRoot, location, entry.version, entry['integrity']),
      );
    }
    packages[target] = devOptional === true ? { ...entry, optional: true } : entry;
    enqueue(location, entry);
  }

  writeFileSync(join(folder, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const lock = {
    name: manifest['name'],
    version: manifest['version'],
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': pick(manifest, ['name', 'version', 'dependencies', 'devDependencies', 'peerDependencies']),
      ...packages,
    },
  };
  writeFileSync(join(folder, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
}

/** Node's lookup: `<from>/node_modules/<name>`, then each parent's node_modules, then the root's. */
function resolveIn(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
    if (packages[candidate] !== undefined && packages[candidate].link !== true) return candidate;
    if (base === '') return undefined;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut < 0 ? '' : base.slice(0, cut);
  }
}

/** A package nested under a workspace folder moves under that workspace's installed folder. */
function relocate(location: string, workspaceLocation: ReadonlyMap<string, string>): string {
  for (const [name, folder] of workspaceLocation) {
    if (location.startsWith(`${folder}/node_modules/`))
      return `node_modules/${name}${location.slice(folder.length)}`;
  }
  return location;
}

// npm's cache and its own content-addressed cache library, located without running npm (whose config
// commands refuse to run inside a workspace): from the environment npm gives scripts, else the defaults.
const npmCache = join(process.env['npm_config_cache'] ?? join(homedir(), '.npm'), '_cacache');
const npmRoot =
  process.env['npm_execpath']?.includes('npm-cli') === true
    ? dirname(dirname(process.env['npm_execpath']))
    : join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm');
const cacache = createRequire(join(npmRoot, 'package.json'))('cacache') as {
  get: { byDigest(cache: string, integrity: string): Promise<Buffer> };
};

/**
 * A third-party package's tarball as a file in the project: from the npm cache by its integrity, else
 * (a cache missing its content) packed from the repository's installed copy. Returns the lockfile's
 * `resolved` and `integrity` for it; nothing for another platform's optional package.
 */
async function localTarball(
  folder: string,
  repositoryRoot: string,
  location: string,
  version: string,
  integrity: string,
): Promise<{ resolved: string; integrity: string } | undefined> {
  const name = location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length);
  const file = join('.offline-tarballs', `${name.replace('/', '__')}-${version}.tgz`);
  mkdirSync(join(folder, '.offline-tarballs'), { recursive: true });
  try {
    writeFileSync(join(folder, file), await cacache.get.byDigest(npmCache, integrity));
    return { resolved: `file:${file}`, integrity };
  } catch {
    // Another platform's optional binary: neither cached nor installed here, and skipped by npm ci.
    if (!existsSync(join(repositoryRoot, location))) return undefined;
    const staging = mkdtempSync(join(tmpdir(), 'ekipl-package-'));
    cpSync(join(repositoryRoot, location), join(staging, 'package'), {
      recursive: true,
      filter: (source) => !source.slice(join(repositoryRoot, location).length).includes('node_modules'),
    });
    execFileSync('tar', ['-czf', join(folder, file), '-C', staging, 'package']);
    rmSync(staging, { recursive: true, force: true });
    const digest = createHash('sha512')
      .update(readFileSync(join(folder, file)))
      .digest('base64');
    return { resolved: `file:${file}`, integrity: `sha512-${digest}` };
  }
}

function pick(entry: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((key) => entry[key] !== undefined).map((key) => [key, entry[key]]));
}

/** The workspace package folders of the repository, by package name. */
export function workspaceFolders(repositoryRoot: string): Map<string, string> {
  const folders = new Map<string, string>();
  for (const group of ['packages', 'plugins', 'apps']) {
    for (const name of readdirSync(join(repositoryRoot, group))) {
      const folder = join(repositoryRoot, group, name);
      try {
        const manifest = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as { name: string };
        folders.set(manifest.name, folder);
      } catch {
        // not a package
      }
    }
  }
  return folders;
}
