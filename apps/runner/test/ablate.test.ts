import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig, stringifyConfig } from '@ekipl/core';
import { afterAll, describe, expect, it } from 'vitest';
import { ablate, ablationArms, builtinPlugins, gridArms, readArmsFile } from '../src/index.js';

// Inside the package (an ignored .scratch/), so the config's own plugin file can import @ekipl/core.
const scratchRoot = join(import.meta.dirname, '..', '.scratch');
mkdirSync(scratchRoot, { recursive: true });
const scratch = mkdtempSync(join(scratchRoot, 'ablate-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('gridArms', () => {
  it('is the cartesian product of the axes, in order', () => {
    expect(gridArms(['a=1,2', 'b=x,y'])).toEqual([
      ['a=1', 'b=x'],
      ['a=1', 'b=y'],
      ['a=2', 'b=x'],
      ['a=2', 'b=y'],
    ]);
    expect(() => gridArms(['a='])).toThrow(/a=: expected path=value1,value2/);
    // @config keeps the config's own value: the configured method as one arm beside GRPO.
    expect(gridArms(['auxiliary=@config,none', 'b=x'])).toEqual([['b=x'], ['auxiliary=none', 'b=x']]);
  });
});

describe('named arms', () => {
  it('cross the grid and keep their names; an arms file is checked line by line', async () => {
    const named = { grpo: ['auxiliary=none'], snis: ['estimator.use=snis'] };
    expect(ablationArms([], named)).toEqual([
      { name: 'grpo', settings: ['auxiliary=none'] },
      { name: 'snis', settings: ['estimator.use=snis'] },
    ]);
    expect(ablationArms(['run.steps=2,4'], { grpo: ['auxiliary=none'] })).toEqual([
      { name: 'grpo,run.steps=2', settings: ['auxiliary=none', 'run.steps=2'] },
      { name: 'grpo,run.steps=4', settings: ['auxiliary=none', 'run.steps=4'] },
    ]);
    expect(ablationArms(['a=1'])).toEqual([{ name: 'a=1', settings: ['a=1'] }]);
    const file = join(scratch, 'arms.yaml');
    writeFileSync(file, 'grpo: [auxiliary=none]\nekipl: []\n');
    expect(await readArmsFile(file)).toEqual({ grpo: ['auxiliary=none'], ekipl: [] });
    writeFileSync(file, 'grpo: auxiliary=none\n"a b": []\n');
    const error = await readArmsFile(file).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(
      `${file}:1:7: grpo: expected a list of path=value strings`,
    );
    expect((error as ConfigError).message).toContain(`${file}:2:1: a b: an arm name may hold`);
    await expect(readArmsFile(join(scratch, 'missing.yaml'))).rejects.toThrow(
      /missing.yaml: cannot read the arms file \(ENOENT\)/,
    );
  });
});

describe('ekipl ablate', () => {
  it('2 x 2 grid x 2 seeds: 8 runs, a crashed one reported while 7 finish, reruns skip what finished', async () => {
    cpSync(join(import.meta.dirname, 'fixtures', 'plugins'), join(scratch, 'plugins'), { recursive: true });
    const file = join(scratch, 'ablate.yaml');
    writeFileSync(
      file,
      `
run: { name: grid, steps: 2, batchSize: 1, groupSize: 2, evalEvery: 2, evalLimit: 2, checkpointEvery: 0 }
dataset: { use: synthetic-counting, options: { imageSize: 16 } }
policy: { use: tfjs, options: { workers: 1, size: { dimension: 16, layers: 1, heads: 2, visionDimension: 8, visionLayers: 1, visionHeads: 2, imageSize: 16, patchSize: 8 } } }
auxiliary: [{ use: oracle, name: expert, samples: 1, options: { accuracy: 1, style: terse } }]
reward: [{ use: format }, { use: accuracy }, { use: ./plugins/crash-reward.mjs, weight: 0 }]
warmStart: { steps: 2, batchSize: 2 }
objective: { maxCompletionLength: 200, learningRate: 1.0e-3 }
`,
    );
    const out = join(scratch, 'grid');
    const grid = ['objective.learningRate=1e-3,2e-3', 'estimator.use=uncorrected,snis'];
    const crashed = join('objective.learningRate=2e-3,estimator.use=snis', 'seed-2');
    process.env['EKIPL_TEST_CRASH'] = crashed;
    const lines: string[] = [];
    const first = await ablate({
      config: file,
      grid,
      seeds: 2,
      jobs: 2,
      out,
      log: (line) => lines.push(line),
    });
    expect(first.runs).toHaveLength(8);
    const failed = first.runs.filter((run) => run.state === 'failed');
    expect(failed.map((run) => join(run.arm, `seed-${run.seed}`))).toEqual([crashed]);
    expect(failed[0]!.logTail).toContain('crashed on purpose');
    expect(first.runs.filter((run) => run.state === 'finished')).toHaveLength(7);
    expect(lines.join('\n')).toMatch(
      /estimator\.use=snis seed 2: failed \(exit 1\):\n[\s\S]*crashed on purpose/,
    );
    // The table: one row per arm, mean +- std over the seeds that finished.
    const summary = readFileSync(join(out, 'summary.md'), 'utf8').split('\n');
    expect(summary[0]).toMatch(/^\| arm \| seeds \| failed \| last id\/accuracy \| /);
    expect(summary.filter((line) => line.startsWith('| objective.'))).toHaveLength(4);
    expect(summary.find((line) => line.includes('2e-3,estimator.use=snis'))).toMatch(
      /\| 1 \| 1 \| \d\.\d{3} \+- 0\.000 \|/,
    );
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('(2 seeds: mean +- std)');
    expect(readFileSync(join(out, 'summary.csv'), 'utf8').split('\n')[0]).toMatch(
      /^arm,seeds,failed,last id\/accuracy mean,last id\/accuracy std,/,
    );

    // Again, without the crash: the 7 finished runs are skipped, the crashed one runs.
    process.env['EKIPL_TEST_CRASH'] = '';
    const second = await ablate({ config: file, grid, seeds: 2, jobs: 2, out });
    expect(second.runs.filter((run) => run.state === 'skipped')).toHaveLength(7);
    expect(second.runs.filter((run) => run.state === 'finished')).toHaveLength(1);
    // It started over cleanly: one warm start and one evaluation a step in its files, none of the crash's.
    const rerun = readFileSync(join(out, crashed, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { step?: number; warmStartStep?: number });
    expect(rerun.filter((line) => line.warmStartStep === 1)).toHaveLength(1);
    expect(rerun.filter((line) => line.step === 0)).toHaveLength(1);
    // And once more: nothing new to run.
    const third = await ablate({ config: file, grid, seeds: 2, jobs: 2, out });
    expect(third.runs.every((run) => run.state === 'skipped')).toBe(true);
    // With another evaluation limit, the finished runs are not this invocation's: refused before any
    // run, each one named where its config.yaml says otherwise (they were skipped before).
    const summaryBefore = readFileSync(join(out, 'summary.md'), 'utf8');
    const changed = await ablate({
      config: file,
      grid,
      seeds: 2,
      jobs: 2,
      out,
      overrides: ['run.evalLimit=3'],
    }).catch((caught: unknown) => caught);
    expect(ConfigError.isInstance(changed)).toBe(true);
    const issues = (changed as ConfigError).issues;
    expect(issues).toHaveLength(9); // 8 runs, then what to do
    expect(issues[0]).toMatchObject({
      file: join(out, 'objective.learningRate=1e-3,estimator.use=uncorrected', 'seed-1', 'config.yaml'),
      path: 'run.evalLimit',
      message: 'the run was made with 2, this invocation gives 3',
    });
    expect(issues[0]!.line).toBeGreaterThan(1);
    expect(issues[8]!.message).toMatch(/holds runs of another config: .*or another --out$/);
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).toBe(summaryBefore);
  }, 180_000);

  it('a grid path that does not exist stops it before any run, naming the path', async () => {
    const file = join(scratch, 'ablate.yaml');
    const error = await ablate({
      config: file,
      grid: ['objective.learningRat=1e-3,2e-3'],
      seeds: 1,
      jobs: 1,
      out: join(scratch, 'bad'),
    }).catch((caught: unknown) => caught);
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/learningRat.*\(from --set objective\.learningRat=\.\.\.\)/);
  });

  it("with a GRPO arm, the summary gives the prompts each arm saw before it first matched GRPO's final accuracy", async () => {
    const file = join(scratch, 'reach.yaml');
    writeFileSync(file, 'run: { batchSize: 4 }\n');
    const out = join(scratch, 'reach');
    // Finished runs (so nothing is trained): GRPO ends at id accuracy 0.5 in both seeds; the arm with an
    // expert gets there at step 10 in seed 1, step 20 in seed 2 (batch 4: 40 and 80 prompts).
    const runs: [arm: string, seed: number, accuracies: number[]][] = [
      ['auxiliary=none', 1, [0.2, 0.4, 0.5]],
      ['auxiliary=none', 2, [0.2, 0.3, 0.5]],
      ['auxiliary=__use__oracle__', 1, [0.2, 0.5, 0.6]],
      ['auxiliary=__use__oracle__', 2, [0.2, 0.4, 0.5]],
    ];
    for (const [arm, seed, accuracies] of runs) {
      const directory = join(out, arm, `seed-${seed}`);
      mkdirSync(directory, { recursive: true });
      writeFileSync(join(directory, 'status.json'), '{ "state": "finished" }');
      // The config the arm runs (a run of another config would be refused).
      const setting = arm === 'auxiliary=none' ? arm : 'auxiliary=[{use: oracle}]';
      const { config } = await loadConfig(file, {
        builtins: builtinPlugins,
        overrides: [setting, `run.seed=${seed}`],
      });
      writeFileSync(join(directory, 'config.yaml'), stringifyConfig(config));
      writeFileSync(
        join(directory, 'metrics.jsonl'),
        accuracies
          .map((accuracy, i) => JSON.stringify({ step: i * 10, 'eval/id/accuracy': accuracy }))
          .join('\n'),
      );
    }
    const result = await ablate({
      config: file,
      grid: ['auxiliary=none,[{use: oracle}]'],
      seeds: 2,
      jobs: 1,
      out,
    });
    expect(result.runs.every((run) => run.state === 'skipped')).toBe(true);
    const lines = result.summary.split('\n');
    expect(lines[0]).toBe(
      "| arm | seeds | failed | last id/accuracy | best id/accuracy | prompts to GRPO's final id/accuracy |",
    );
    expect(lines[2]).toBe('| auxiliary=none | 2 | 0 | 0.500 +- 0.000 | 0.500 +- 0.000 | 80 +- 0 (2/2) |');
    expect(lines[3]).toBe(
      '| auxiliary=__use__oracle__ | 2 | 0 | 0.550 +- 0.071 | 0.550 +- 0.071 | 60 +- 28 (2/2) |',
    );
  });

  it('stopped (Ctrl-C): no run starts, the one in progress checkpoints where it is, no summary; the same call again goes on from there', async () => {
    const file = join(scratch, 'stop.yaml');
    writeFileSync(
      file,
      `
run: { name: stop, steps: 40, batchSize: 1, groupSize: 2, evalEvery: 0, checkpointEvery: 0 }
dataset: { use: synthetic-counting, options: { imageSize: 16 } }
policy: { use: tfjs, options: { workers: 1, size: { dimension: 16, layers: 1, heads: 2, visionDimension: 8, visionLayers: 1, visionHeads: 2, imageSize: 16, patchSize: 8 } } }
auxiliary: [{ use: oracle, name: expert, samples: 1, options: { accuracy: 1, style: terse } }]
objective: { maxCompletionLength: 200, learningRate: 1.0e-3 }
`,
    );
    const out = join(scratch, 'stopped');
    const grid = ['estimator.use=uncorrected,snis'];
    const first = join(out, 'estimator.use=uncorrected', 'seed-1');
    const controller = new AbortController();
    // Stop once the first run has trained a few steps.
    const watch = setInterval(() => {
      const metrics = join(first, 'metrics.jsonl');
      const text = existsSync(metrics) ? readFileSync(metrics, 'utf8') : '';
      if (text.split('\n').filter((line) => line.startsWith('{"step":')).length >= 3) controller.abort();
    }, 20);
    const lines: string[] = [];
    const stopped = await ablate({
      config: file,
      grid,
      seeds: 1,
      jobs: 1,
      out,
      signal: controller.signal,
      log: (line) => lines.push(line),
    }).finally(() => clearInterval(watch));
    expect(stopped.interrupted).toBe(true);
    expect(stopped.summary).toBe('');
    expect(stopped.runs.map((run) => [run.arm, run.state])).toEqual([
      ['estimator.use=uncorrected', 'interrupted'],
    ]);
    expect(lines).toContain('estimator.use=uncorrected seed 1: stopped at a checkpoint');
    const status = JSON.parse(readFileSync(join(first, 'status.json'), 'utf8')) as {
      state: string;
      steps: number;
    };
    expect(status.state).toBe('interrupted');
    expect(status.steps).toBeGreaterThanOrEqual(3);
    expect(status.steps).toBeLessThan(40);
    expect(existsSync(join(first, 'checkpoints', `step-${status.steps}`, 'run-state.json'))).toBe(true);
    expect(existsSync(join(out, 'estimator.use=snis'))).toBe(false);
    expect(existsSync(join(out, 'summary.md'))).toBe(false);

    const again = await ablate({
      config: file,
      grid,
      seeds: 1,
      jobs: 1,
      out,
      log: (line) => lines.push(line),
    });
    expect(again.interrupted).toBe(false);
    expect(again.runs.map((run) => run.state)).toEqual(['finished', 'finished']);
    expect(readFileSync(join(first, 'train.log'), 'utf8')).toContain(
      `resuming from ${join(first, 'checkpoints', `step-${status.steps}`)} (step ${status.steps})`,
    );
    // Every step once: the steps before the stop kept, the rest trained after it.
    const steps = readFileSync(join(first, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { step?: number }).step);
    expect(steps).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(again.summary.split('\n').filter((line) => line.startsWith('| estimator.use='))).toHaveLength(2);
  }, 180_000);
});
