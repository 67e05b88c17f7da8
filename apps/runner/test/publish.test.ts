import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type PackedPackage,
  packPackage,
  packWorkspaces,
  workspaceFlags,
  workspaceFolders,
  writeOfflineProject,
} from './helpers/offline-install.js';

const repositoryRoot = join(import.meta.dirname, '..', '..', '..');
const repositoryLockfile = join(repositoryRoot, 'package-lock.json');
const folders = workspaceFolders(repositoryRoot);
const scratch = mkdtempSync(join(tmpdir(), 'ekipl-publish-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** npm's own notices that say nothing about the package (no credentials in a dry run; the repository's .npmrc). */
const expectedWarnings = [
  /requires you to be logged in/,
  /Unknown (project|env) config "onnxruntime-node-install"/,
];

/** npm's stdout, and its stdout and stderr together. */
function npm(args: string[], cwd: string): { stdout: string; all: string } {
  const result = spawnSync('npm', args, {
    cwd,
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, NODE_ENV: '' },
  });
  const all = `${result.stdout}\n${result.stderr}`;
  if (result.status !== 0)
    throw new Error(`npm ${args.join(' ')} in ${cwd} exited ${result.status}:\n${all}`);
  return { stdout: result.stdout, all };
}

describe('publishing', () => {
  it('every @ekipl package publishes cleanly (npm publish --dry-run) with its entry, types, README and licence', () => {
    expect([...folders.keys()].sort()).toContain('@ekipl/runner');
    const { stdout, all } = npm(
      ['publish', '--dry-run', '--offline', '--json', ...workspaceFlags(folders)],
      repositoryRoot,
    );
    const warnings = all
      .split('\n')
      .filter((line) => /npm warn/i.test(line) && !expectedWarnings.some((pattern) => pattern.test(line)));
    expect(warnings).toEqual([]);
    // One pretty-printed JSON object a package, one after another: { name: { id, files, ... } }.
    const published = Object.assign(
      {},
      ...stdout.split(/^(?=\{$)/m).map((part) => JSON.parse(part)),
    ) as Record<string, { id: string; files: { path: string }[] }>;
    expect(Object.keys(published).sort()).toEqual([...folders.keys()].sort());
    for (const [name, folder] of folders) {
      expect(published[name]!.id).toBe(`${name}@0.1.0`);
      const manifest = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8'));
      for (const field of ['description', 'license', 'repository', 'engines', 'exports', 'types', 'files']) {
        expect(manifest[field], `${name} ${field}`).toBeDefined();
      }
      expect(manifest.private, name).toBeUndefined();
      expect(manifest.publishConfig?.access, name).toBe('public');
      const files = published[name]!.files.map((file) => file.path);
      const entry = manifest.exports['.'].import.replace(/^\.\//, '');
      for (const file of [
        'README.md',
        'LICENSE',
        'package.json',
        entry,
        manifest.types.replace(/^\.\//, ''),
      ]) {
        expect(files, `${name} ships ${file}`).toContain(file);
      }
      expect(
        files.some((file) => file.startsWith('src/') || file.startsWith('test/')),
        name,
      ).toBe(false);
    }
  }, 300_000);

  it('a third-party plugin, packed and installed with the CLI into a fresh folder, is listed, validates and trains', async () => {
    const tarballs = join(scratch, 'tarballs');
    mkdirSync(tarballs);
    const packed: PackedPackage[] = packWorkspaces(repositoryRoot, folders, tarballs);
    const byName = (name: string) => packed.find((item) => item.name === name)!;

    // The plugin's author: a copy of the example package, outside any workspace, built and tested
    // against the packed @ekipl/core and @ekipl/testkit.
    const plugin = join(scratch, 'ekipl-plugin-estimator-tis');
    cpSync(join(repositoryRoot, 'examples', 'plugin-estimator-tis'), plugin, {
      recursive: true,
      filter: (source) => !/[/\\](node_modules|dist)$/.test(source) && !source.endsWith('.tgz'),
    });
    await writeOfflineProject(plugin, {
      packed: [byName('@ekipl/core'), byName('@ekipl/testkit')],
      repositoryLockfile,
      manifest: JSON.parse(readFileSync(join(plugin, 'package.json'), 'utf8')),
    });
    npm(['ci', '--offline', '--no-audit', '--no-fund'], plugin);
    const testOutput = npm(['test'], plugin).all;
    expect(testOutput).toMatch(/# pass [1-9]/);
    expect(testOutput).toMatch(/# fail 0/);
    packed.push(packPackage(plugin, tarballs));

    // Its user: a fresh folder with the CLI and the plugin installed from tarballs, a config naming
    // the plugin by package name.
    const project = join(scratch, 'project');
    mkdirSync(project);
    await writeOfflineProject(project, { packed, repositoryLockfile });
    npm(['ci', '--offline', '--no-audit', '--no-fund'], project);
    writeFileSync(
      join(project, 'run.yaml'),
      `run: { name: tiny, seed: 2, steps: 2, batchSize: 1, groupSize: 2, evalEvery: 0, evalLimit: 2, outputDir: runs }
dataset: { use: synthetic-counting, options: { imageSize: 16 } }
policy:
  use: tfjs
  options: { workers: 1, size: { dimension: 16, layers: 1, heads: 2, visionDimension: 8, visionLayers: 1, visionHeads: 2, imageSize: 16, patchSize: 8 } }
auxiliary: [{ use: oracle, samples: 2, options: { accuracy: 1 } }]
estimator: { use: ekipl-plugin-estimator-tis, options: { exponent: 0.5 } }
objective: { maxCompletionLength: 64 }
`,
    );
    const ekipl = join(project, 'node_modules', '.bin', 'ekipl');
    const run = (args: string[]) =>
      execFileSync(ekipl, args, { cwd: project, encoding: 'utf8', timeout: 240_000 });
    expect(run(['validate', '-c', 'run.yaml'])).toMatch(
      /use: ekipl-plugin-estimator-tis[\s\S]*selfNormalise: true/,
    );
    expect(run(['plugins', '-c', 'run.yaml'])).toMatch(/tis\s+\(ekipl-plugin-estimator-tis\)/);
    run(['train', '-c', 'run.yaml', '--out', 'runs/tis']);
    const metrics = readFileSync(join(project, 'runs', 'tis', 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .filter((line) => 'estimator/ess_mean' in line);
    expect(metrics.map((line) => line.step)).toEqual([1, 2]);
    expect(existsSync(join(project, 'runs', 'tis', 'checkpoint'))).toBe(true);
  }, 600_000);
});
