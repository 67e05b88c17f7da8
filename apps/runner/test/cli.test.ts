import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listPlugins, validateConfigFile } from '../src/index.js';
import { flagsWithoutValue, unknownFlags } from '../src/unknown-flags.js';

const fixtures = join(import.meta.dirname, 'fixtures');
const bin = join(import.meta.dirname, '..', 'dist', 'bin.js');

function ekipl(...args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: fixtures });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('ekipl validate', () => {
  it('prints the resolved config with every default filled in and exits 0', async () => {
    const outcome = await validateConfigFile(join(fixtures, 'good.yaml'));
    expect(outcome.stderr).toBe('');
    expect(outcome.exitCode).toBe(0);
    expect(outcome.stdout).toContain('name: fixture-run');
    expect(outcome.stdout).toContain('batchSize: 4');
    expect(outcome.stdout).toContain('clip: 0.2');
    expect(outcome.stdout).toMatch(
      /policy:\n {2}use: \.\/plugins\/policy\.mjs\n {2}options:\n {4}level: 0\.5\n {4}mode: careful/,
    );
    expect(outcome.stdout).toMatch(/name: fixture-auxiliary\n {4}samples: 4/);
  });

  it('creates the plugins: a missing checkpoint fails validation with the section and file, exit 2', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'ekipl-validate-'));
    try {
      const file = join(folder, 'run.yaml');
      writeFileSync(file, 'policy: { use: tfjs, options: { workers: 1, checkpoint: ./missing } }\n');
      const outcome = await validateConfigFile(file);
      expect(outcome.exitCode).toBe(2);
      expect(outcome.stderr).toMatch(
        /run\.yaml: 1 problem\n.*run\.yaml: policy: tfjs: checkpoint .*missing has no state\.json: not a checkpoint directory/,
      );
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('the bin prints every error with file, line, column and path, and exits 2', () => {
    const { status, stdout, stderr } = ekipl('validate', '-c', 'bad.yaml');
    expect(stdout).toBe('');
    expect(status).toBe(2);
    const lines = stderr.trim().split('\n');
    expect(lines[0]).toBe('bad.yaml: 4 problems');
    expect(lines[1]).toBe('bad.yaml:9:14: auxiliary[1].options.model: expected string, got number 42');
    expect(lines[2]).toBe('bad.yaml:12:5: reward[0].wieght: unknown key "wieght" (did you mean "weight"?)');
    expect(lines[3]).toMatch(
      /^bad\.yaml:13:18: selector\.use: unknown plugin "ekipl-selector-that-does-not-exist": not a built-in \(built-in selector plugins: top-k, replace-worst, quota, ampo\), and no npm package/,
    );
    expect(lines[4]).toBe(
      'bad.yaml:14:19: estimator.use: plugin "./plugins/selector.mjs" is a selector, but this section needs an estimator',
    );
  });

  it('a missing file is one clear line, exit 2', () => {
    const { status, stderr } = ekipl('validate', '-c', 'nope.yaml');
    expect(status).toBe(2);
    expect(stderr).toBe('nope.yaml: 1 problem\nnope.yaml: file not found\n');
  });
});

describe('ekipl plugins', () => {
  it('lists plugins by kind with their options, types and defaults', async () => {
    const text = await listPlugins({ config: join(fixtures, 'good.yaml') });
    expect(text).toContain(
      [
        '  fixture-selector  (./plugins/selector.mjs)  test fixture',
        '    level: number in [0, 1] = 0.5',
        '    mode: "fast" | "careful" = "fast"',
        '    model: string',
      ].join('\n'),
    );
    expect(text.indexOf('policy:')).toBeLessThan(text.indexOf('dataset:'));
  });

  it('lists the built-in estimators, selectors and rewards with their options', async () => {
    const text = await listPlugins();
    expect(text).toContain('  snis  (@ekipl/estimators)');
    expect(text).toContain(
      '    crossDensity: "assume-zero" | "policy" | "constant" = "assume-zero"  A text\'s density under another',
    );
    expect(text).toContain('  top-k  (@ekipl/selectors)');
    expect(text).toContain('  accuracy  (@ekipl/rewards)');
    expect(text).toContain('    tolerance.full: number >= 0 = 0.05');
  });

  it('the bin runs it', () => {
    const { status, stdout } = ekipl('plugins', '-c', 'good.yaml');
    expect(status).toBe(0);
    expect(stdout).toContain('fixture-policy  (./plugins/policy.mjs)');
  });
});

describe('options a command does not declare', () => {
  const args = {
    config: { type: 'string', alias: 'c' },
    'blank-images': { type: 'boolean' },
    runs: { type: 'positional' },
  } as const;

  it('are found; declared ones pass in every spelling, and a string option takes the next argument', () => {
    expect(
      unknownFlags(args, [
        '-c',
        'x.yaml',
        '--config=y.yaml',
        '--blank-images',
        '--blankImages',
        '--no-blank-images',
        'a',
        '--',
        '--later',
      ]),
    ).toEqual([]);
    expect(unknownFlags(args, ['--config', '--looks-like-a-flag'])).toEqual([]); // the config's value
    expect(unknownFlags(args, ['--sett', 'a=1', '--set rollout={ use: onnx }', '-x'])).toEqual([
      '--sett',
      '--set rollout={ use: onnx }',
      '-x',
    ]);
  });

  it('stop the command with exit 2, naming the option (an option and its value in one argument too)', () => {
    const joined = ekipl('validate', '-c', 'good.yaml', '--set run.steps=3');
    expect(joined.status).toBe(2);
    expect(joined.stderr).toBe(
      'ekipl validate: unknown option "--set run.steps=3": an option and its value in one argument; give them as two, or join them with = (ekipl validate --help lists them)\n',
    );
    const misspelt = ekipl('validate', '-c', 'good.yaml', '--sett', 'run.steps=3');
    expect(misspelt.status).toBe(2);
    expect(misspelt.stderr).toContain('unknown option "--sett"');
    expect(ekipl('validate', '-c', 'good.yaml', '--set', 'run.steps=3').status).toBe(0);
  });

  it('a string option left without a value is found: last on the line, `--name=` or `--name ""`', () => {
    expect(flagsWithoutValue(args, ['-c', 'x.yaml', '--config=y.yaml', '--blank-images'])).toEqual([]);
    expect(flagsWithoutValue(args, ['--config', '--looks-like-a-flag'])).toEqual([]); // citty's value
    expect(flagsWithoutValue(args, ['--blank-images', '-c'])).toEqual(['-c']);
    expect(flagsWithoutValue(args, ['--config='])).toEqual(['--config']);
    expect(flagsWithoutValue(args, ['--config', ' ', '--blank-images'])).toEqual(['--config']);
    expect(flagsWithoutValue(args, ['a', '--', '--config'])).toEqual([]); // after --: not an option
  });

  it('and stops the command with exit 2 before it runs (`sft --out` used to copy into the working folder)', () => {
    const trailing = ekipl('validate', '-c', 'good.yaml', '--set');
    expect(trailing.status).toBe(2);
    expect(trailing.stderr).toBe('ekipl validate: --set needs a value\n');
    const empty = ekipl('sft', '-c', 'good.yaml', '--out=');
    expect(empty.status).toBe(2);
    expect(empty.stderr).toBe('ekipl sft: --out needs a value\n');
  });
});
