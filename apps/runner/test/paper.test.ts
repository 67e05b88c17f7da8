import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '@ekipl/core';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module of the example, without types
import { commit, compare, pairOutcomes } from '../../../examples/paper/results.mjs';
import { builtinPlugins } from '../src/index.js';

const root = join(import.meta.dirname, '..', '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'ekipl-paper-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// The CI-sized paper: a tiny model, a 2-step warm start, 2 RL steps, one seed, three arms, so that the
// pipeline (sft -> eval -> ablate -> pass@k -> results.md) cannot rot. The numbers mean nothing here.
const tiny = [
  'policy.options.size={ dimension: 16, layers: 1, heads: 2, visionDimension: 8, visionLayers: 1, visionHeads: 2, imageSize: 16, patchSize: 8 }',
  'dataset.options.imageSize=16',
  'policy.options.workers=1',
  'warmStart.steps=2',
  'warmStart.batchSize=2',
  'run.steps=2',
  'run.evalEvery=1',
  'run.batchSize=1',
  'run.groupSize=2',
];

function paper(out: string, results: string, limit = '4') {
  return promisify(execFile)(
    process.execPath,
    [
      join(root, 'examples', 'paper', 'paper.mjs'),
      '--out',
      out,
      '--results',
      results,
      '--seeds',
      '2',
      '--arms',
      'grpo,ekipl,exact-is-local',
      '--limit',
      limit,
      '--pass-at-limit',
      '2',
      '--pass-at',
      '1,2',
      '--rebuild-warm-start',
      ...tiny.flatMap((override) => ['--set', override]),
    ],
    { cwd: root },
  );
}

describe('npm run paper, CI-sized', () => {
  it('runs every stage, writes each table of results.md from the files, and resumes', async () => {
    const out = join(scratch, 'runs');
    const results = join(scratch, 'results.md');
    const { stderr } = await paper(out, results);
    expect(stderr).toContain('[paper] building the warm start');
    expect(stderr).toMatch(/results\.md written/);
    // The rebuilt warm start's cache lives under --out, not beside the config in the checkout.
    expect(readdirSync(join(out, 'warm-starts'))).toHaveLength(1);
    const page = readFileSync(results, 'utf8');
    for (const heading of [
      '## Table 1: held-out accuracy',
      "## Fig. 3: samples to reach GRPO's final accuracy",
      '## Fig. 4: share of selected actions by source, over training',
      '## Fig. 5: pass@k',
      '## Importance weights per estimator',
      '## Mechanism and cost',
      "## The paper's claims, checked",
    ]) {
      expect(page).toContain(heading);
    }
    // Each arm's row: 2 seeds, four mean +- std cells.
    for (const arm of ['grpo', 'ekipl', 'exact-is-local']) {
      expect(page).toMatch(
        new RegExp(
          `\\| ${arm} +\\| 2 +\\| \\d\\.\\d{3} \\+- \\d\\.\\d{3} +\\| \\d\\.\\d{3} \\+- \\d\\.\\d{3} +\\|`,
        ),
      );
    }
    expect(page).toMatch(/\| answer prior \(always "\d+"\) +\|/);
    expect(page).toMatch(/\| warm start, images blanked +\| +\| \d\.\d{3} +\|/);
    // Fig. 4 lists the experts of the EKIPL arms and not of GRPO; Fig. 5 the three policies.
    // Two steps fill the second and last quarters only.
    expect(page).toMatch(/\| ekipl +\| strong-expert +\| n\/a +\| \d\.\d{3} +\| n\/a +\| \d\.\d{3} +\|/);
    expect(page).not.toMatch(/\| grpo +\| strong-expert +\|/);
    for (const policy of ['warm start', 'grpo', 'ekipl'])
      expect(page).toMatch(new RegExp(`\\| ${policy} +\\| id +\\| \\d`));
    expect(page).toMatch(/\| EKIPL beats plain GRPO on id accuracy \(Table 1\) +\|/);
    // The local expert (the warm start itself, on ONNX) gives exact densities: no fallbacks.
    expect(page).toMatch(/\| exact-is-local +\| exact-is +\| [^|]+ \| [^|]+ \| [^|]+ \| [^|]+ \| 0\.00 +\|/);
    expect(page).toMatch(/\| exact-is-local +\| local-expert +\|/);
    expect(page).toContain('--rebuild-warm-start');
    // Step time in seconds and as a multiple of GRPO's (1.00 on GRPO's own row), then the cost.
    const costRow = (arm: string) =>
      page
        .split('\n')
        .find((line) => new RegExp(`^\\| ${arm} +\\| \\d\\.\\d\\d \\+- `).test(line) && line.includes('->'))
        ?.split('|')
        .map((cell) => cell.trim());
    expect(costRow('grpo')?.slice(6, 9)).toEqual([expect.stringMatching(/^\d\.\d{3}$/), '1.00', '0.0000']);
    const grpoSeconds = Number(costRow('grpo')![6]);
    const [ekiplSeconds, ekiplRatio] = costRow('ekipl')!.slice(6, 8).map(Number) as [number, number];
    // Equal up to the rounding of the printed cells (3 decimals of seconds, 2 of the ratio).
    expect(Math.abs(ekiplRatio * grpoSeconds - ekiplSeconds)).toBeLessThanOrEqual(
      0.005 * grpoSeconds + 0.0005 * (1 + ekiplRatio) + 1e-9,
    );

    // --limit 4 reaches the arms' own evaluations (run.evalLimit), so that Table 1 compares them with the
    // warm start on the same tasks, as its caption says: every evaluation of each run (steps 0, 1, 2 x id,
    // ood) read 4 tasks (it used to read the benchmark's 200, and took most of this test's time).
    expect(page).toContain('Greedy accuracy on the first 4 tasks of each held-out split');
    for (const arm of ['grpo', 'ekipl', 'exact-is-local']) {
      const evaluations = readFileSync(join(out, 'ablate', arm, 'seed-1', 'eval-answers.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { answers: unknown[] });
      expect(evaluations.map((evaluation) => evaluation.answers.length)).toEqual([4, 4, 4, 4, 4, 4]);
    }

    // Again: every run and evaluation is kept, only the page is rewritten.
    const metrics = join(out, 'ablate', 'ekipl', 'seed-1', 'metrics.jsonl');
    const before = statSync(metrics).mtimeMs;
    const again = await paper(out, results);
    expect(again.stderr).not.toContain('building the warm start');
    expect(again.stderr).not.toContain('[paper] eval');
    expect(statSync(metrics).mtimeMs).toBe(before);
    // The page names the invocation that measured the files, not the one that only rewrote it.
    expect(JSON.parse(readFileSync(join(out, 'provenance.json'), 'utf8'))).toHaveLength(1);
    expect(readFileSync(results, 'utf8')).toMatch(/^Measured by `npm run paper -- --out .*` at commit \w+/m);
    // Resumed with another --limit, it would compare evaluations of different sizes: refused at once.
    const pageBefore = readFileSync(results, 'utf8');
    const otherLimit = await paper(out, results, '3').then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(otherLimit?.code).toBe(2);
    expect(otherLimit?.stderr.trim().split('\n').at(-1)).toMatch(
      /^\S+ was measured with other options \(evals\/settings\.json\): --limit 4, now 3\. Give the options it was measured with, or another --out$/,
    );
    expect(readFileSync(results, 'utf8')).toBe(pageBefore);
  }, 600_000);

  it('refuses bad input before any work: one line naming the option, exit 2, no stack trace', async () => {
    const out = join(scratch, 'refused');
    const refused = async (...args: string[]) => {
      const failure = await promisify(execFile)(
        process.execPath,
        [join(root, 'examples', 'paper', 'paper.mjs'), '--out', out, ...args],
        { cwd: root },
      ).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(failure?.code).toBe(2);
      expect(failure?.stderr).not.toMatch(/\n\s+at /);
      return failure!.stderr.trim();
    };
    // Each of these used to start (or throw) only after minutes of evaluating the warm start, or at once
    // with a stack trace.
    expect(await refused('--arms', 'grpo,nope')).toMatch(
      /^--arms: no arm nope in arms\.yaml \(it has grpo, /,
    );
    expect(await refused('--seeds', 'x')).toBe('--seeds: expected a positive integer, got "x"');
    expect(await refused('--first-seed', '0')).toBe('--first-seed: expected a positive integer, got "0"');
    expect(await refused('--pass-at', '1,,2')).toBe(
      '--pass-at: expected positive integers separated by commas, got "1,,2"',
    );
    expect(await refused('--bogus')).toMatch(/^Unknown option '--bogus' \(options: --out --config /);
    expect(await refused('--set', 'run.bogus=1')).toMatch(
      /^.*benchmark\.yaml: 1 problem\nrun\.bogus: unknown key/,
    );
    expect(await refused('--config', join(scratch, 'none.yaml'))).toMatch(/none\.yaml: file not found$/);
    expect(await refused('--rebuild-warm-start', '--set', 'warmStart.steps=x')).toMatch(
      /warm-start\.yaml: 1 problem\nwarmStart\.steps: expected number/,
    );
    expect(() => readdirSync(out)).toThrow(/ENOENT/);
  }, 60_000);

  it('the real-experts variant is a valid config (data and servers are not here: it is not run)', async () => {
    for (const name of [
      'paper-real-experts.yaml',
      'paper-real-experts-warm-start.yaml',
      'benchmark.yaml',
      'warm-start.yaml',
    ]) {
      const resolved = await loadConfig(join(root, 'examples', 'paper', name), { builtins: builtinPlugins });
      expect(resolved.config.run.name).toMatch(/^paper/);
    }
  });

  it('names the commit that ran, flagging uncommitted changes to anything but Markdown (an earlier page)', () => {
    const repository = join(scratch, 'provenance');
    mkdirSync(join(repository, 'docs'), { recursive: true });
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repository });
    git('init', '-q');
    writeFileSync(join(repository, 'docs', 'results.md'), 'first\n');
    writeFileSync(join(repository, 'benchmark.yaml'), 'run: {}\n');
    git('add', '.');
    git('commit', '-q', '-m', 'start');
    const sha = git('rev-parse', '--short', 'HEAD').toString().trim();
    expect(commit(repository)).toBe(sha);
    writeFileSync(join(repository, 'docs', 'results.md'), 'rewritten by the first invocation\n');
    writeFileSync(join(repository, 'docs', 'results-seeds-4-6.md'), 'new page\n');
    expect(commit(repository)).toBe(sha);
    writeFileSync(join(repository, 'benchmark.yaml'), 'run: { steps: 1 }\n');
    expect(commit(repository)).toBe(`${sha} (with uncommitted changes)`);
  });

  it('calls a difference real only beyond 2 standard errors', () => {
    // means 0.5 and 0.3, stds 0.1 and 0.1 over 3 seeds: s.e. of the difference sqrt(2 x 0.01 / 3) = 0.0816.
    const higher = compare([0.4, 0.5, 0.6], [0.2, 0.3, 0.4]);
    expect(higher.difference).toBeCloseTo(0.2, 12);
    expect(higher.error).toBeCloseTo(Math.sqrt(0.02 / 3), 12);
    expect(higher.verdict).toBe('higher');
    expect(compare([0.4, 0.5, 0.6], [0.3, 0.4, 0.5]).verdict).toBe('within noise'); // 0.1 < 0.163
    expect(compare([0.2, 0.3, 0.4], [0.4, 0.5, 0.6]).verdict).toBe('lower');
    expect(compare([0.9], [0.1]).verdict).toBe('within noise'); // one seed each: no spread to judge by
  });

  it('checks a second invocation against the first pair by pair: same order, beyond noise once, reversed', () => {
    // Per-seed accuracies of three arms in two invocations (s.e. of each difference 0.0816, as above).
    const first: Record<string, number[]> = {
      a: [0.4, 0.5, 0.6],
      b: [0.2, 0.3, 0.4],
      c: [0.4, 0.5, 0.6],
    };
    const second: Record<string, number[]> = {
      a: [0.4, 0.5, 0.6], // a > b again; a vs c: c now higher, beyond noise
      b: [0.2, 0.3, 0.4],
      c: [0.6, 0.7, 0.8],
    };
    const pairs = pairOutcomes(
      ['a', 'b', 'c'],
      (arm: string) => first[arm]!,
      (arm: string) => second[arm]!,
    );
    expect(
      pairs.map(({ a, b, outcome }: { a: string; b: string; outcome: string }) => [a, b, outcome]),
    ).toEqual([
      ['a', 'b', 'same order'],
      ['a', 'c', 'beyond noise once'], // within noise first (equal), lower second
      ['b', 'c', 'same order'], // b < c in both
    ]);
    const reversed = pairOutcomes(
      ['a', 'b'],
      (arm: string) => first[arm]!,
      (arm: string) => (arm === 'a' ? first['b']! : first['a']!),
    );
    expect(reversed[0].outcome).toBe('reversed');
  });
});
