import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TfjsPolicy } from '@ekipl/backend-tfjs';
import { startMockProviderServer } from '@ekipl/testkit';
import { readSafetensors } from '@ekipl/tiny-vlm';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluationChange, train } from '../src/index.js';

const scratch = mkdtempSync(join(tmpdir(), 'ekipl-train-'));
const bin = join(import.meta.dirname, '..', 'dist', 'bin.js');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const secret = 'sk-test-TRAIN-SECRET-31337';
/** A policy small enough for a few steps in a test. */
const tinySize =
  '{ dimension: 16, layers: 1, heads: 2, visionDimension: 8, visionLayers: 1, visionHeads: 2, imageSize: 16, patchSize: 8 }';

const config = (baseURL: string) => `
run: { name: tiny, seed: 3, steps: 2, batchSize: 1, groupSize: 2, evalEvery: 2, evalLimit: 2 }
dataset: { use: synthetic-counting, options: { imageSize: 16 } }
policy:
  use: tfjs
  options: { size: ${tinySize} }
auxiliary:
  - { use: oracle, name: expert, samples: 1, options: { accuracy: 1 } }
  - { use: openai, name: gpt, samples: 1, options: { model: gpt-4o, baseURL: '${baseURL}', maxRetries: 0, cache: { directory: cache } } }
warmStart: { steps: 3, batchSize: 2 }
objective: { maxCompletionLength: 256, learningRate: 1.0e-3 }
prompt: { templates: { default: '{question}' } }
`;

describe('ekipl train', () => {
  it('writes the run directory: resolved config, per-step metrics, samples, evaluation, checkpoint; no key anywhere in it', async () => {
    // One in two chat requests fails with a message that echoes the key: it must not reach any file.
    const server = await startMockProviderServer({
      apiKey: secret,
      fault: (request) =>
        request.method === 'POST' && request.sequence % 2 === 0
          ? { kind: 'status', status: 400, message: `bad key ${secret}` }
          : undefined,
    });
    process.env['OPENAI_API_KEY'] = secret;
    const file = join(scratch, 'tiny.yaml');
    writeFileSync(file, config(server.openaiBaseURL));
    const lines: string[] = [];
    const result = await train({
      config: file,
      out: join(scratch, 'run'),
      overrides: ['objective.learningRate=2e-3'],
      log: (line) => lines.push(line),
    });
    await server.close();
    expect(result.steps).toBe(2);
    const run = result.runDirectory;
    expect(readFileSync(join(run, 'config.yaml'), 'utf8')).toContain('name: tiny');
    const metrics = readFileSync(join(run, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(metrics.filter((line) => 'warmStartStep' in line)).toHaveLength(3);
    const steps = metrics.filter((line) => 'reward/mean' in line);
    expect(steps.map((line) => line.step)).toEqual([1, 2]);
    expect(steps[0]).toHaveProperty('source/expert/selected_share');
    expect(steps[0]).toHaveProperty('estimator/ess_mean');
    expect(steps[0]).toHaveProperty('cost/usd_total');
    // A before (step 0, after the warm start) and an after.
    const evaluations = metrics.filter((line) => 'eval/id/accuracy' in line);
    expect(evaluations.map((line) => line.step)).toEqual([0, 2]);
    expect(evaluations[1]).toHaveProperty('eval/ood/format');
    expect(result.evaluation).toHaveProperty('eval/id/reward');
    const samples = readFileSync(join(run, 'samples.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(samples[0].selected).toHaveLength(2);
    // The whole pool too, each candidate marked selected or not, with its reward parts.
    expect(
      samples[0].candidates.filter((candidate: { selected: boolean }) => candidate.selected),
    ).toHaveLength(2);
    expect(samples[0].candidates.length).toBeGreaterThanOrEqual(3);
    expect(samples[0].candidates[0].parts).toHaveProperty('accuracy');
    expect(samples[0].selected[0].parts).toHaveProperty('format');
    // Its prompt image, for the report.
    expect(samples[0].image).toBe('images/step-1/0.png');
    expect(readFileSync(join(run, samples[0].image)).subarray(1, 4).toString()).toBe('PNG');
    expect(existsSync(join(run, 'checkpoint', 'model.safetensors'))).toBe(true);
    // What produced the run: the version, the resolved thread count and the overrides.
    expect(JSON.parse(readFileSync(join(run, 'run.json'), 'utf8'))).toMatchObject({
      ekipl: '0.1.0',
      overrides: ['objective.learningRate=2e-3'],
      policy: { engine: 'wasm', workers: expect.any(Number) },
    });
    expect(readFileSync(join(run, 'config.yaml'), 'utf8')).toContain('learningRate: 0.002');
    expect(
      lines.some((line) =>
        /^step 2\/2 {2}policy: reward [\d.]+ accuracy [\d.]+ entropy [\d.]+ {2}group: reward [\d.]+ sources \[policy /.test(
          line,
        ),
      ),
    ).toBe(true);
    expect(lines.join('\n')).not.toContain(secret);
    for (const path of listFiles(run).concat(listFiles(join(scratch, 'cache')))) {
      expect(readFileSync(path).includes(secret), path).toBe(false);
    }
    expect(readFileSync(join(run, 'warnings.log'), 'utf8')).toMatch(/HTTP 400: .*bad key \*\*\*/);
  });
});

function listFiles(directory: string): string[] {
  if (!existsSync(directory)) return [];
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

describe('the before / after summary', () => {
  /** A run directory holding just these metrics.jsonl lines. */
  const runWithMetrics = (name: string, lines: Record<string, number>[]) => {
    const directory = join(scratch, name);
    mkdirSync(directory, { recursive: true });
    writeFileSync(join(directory, 'metrics.jsonl'), lines.map((line) => JSON.stringify(line)).join('\n'));
    return directory;
  };

  it('pairs the step-0 evaluation with the last one, per split', async () => {
    const directory = runWithMetrics('summary', [
      { step: 0, 'eval/id/accuracy': 0.3, 'eval/id/format': 0.85, 'eval/ood/accuracy': 0.2 },
      { step: 1, 'reward/mean': 1 },
      { step: 50, 'eval/id/accuracy': 0.35, 'eval/id/format': 0.9, 'eval/ood/accuracy': 0.15 },
      { step: 100, 'eval/id/accuracy': 0.42, 'eval/id/format': 0.95, 'eval/ood/accuracy': 0.25 },
    ]);
    expect(await evaluationChange(directory)).toEqual([
      'id accuracy 0.300 -> 0.420, format 0.850 -> 0.950 (steps 0 -> 100)',
      'ood accuracy 0.200 -> 0.250 (steps 0 -> 100)',
    ]);
  });

  it("adds the change's standard error over the tasks answered both times, from eval-answers.jsonl", async () => {
    const directory = runWithMetrics('paired', [
      { step: 0, 'eval/id/accuracy': 0.6 },
      { step: 20, 'eval/id/accuracy': 0.8 },
    ]);
    const answers = (step: number, accuracy: number[], ids = ['a', 'b', 'c', 'd', 'e']) =>
      JSON.stringify({
        step,
        split: 'id',
        answers: accuracy.map((value, i) => ({ id: ids[i], text: '...', rewards: { accuracy: value } })),
      });
    writeFileSync(
      join(directory, 'eval-answers.jsonl'),
      [answers(0, [1, 1, 0, 0, 1]), answers(20, [1, 0, 1, 1, 1])].join('\n'),
    );
    // Differences 0, -1, 1, 1, 0: mean 0.2, sample variance 2.8 / 4 = 0.7, standard error sqrt(0.7 / 5).
    expect(await evaluationChange(directory)).toEqual([
      'id accuracy 0.600 -> 0.800 (steps 0 -> 20; change +0.200 +- 0.374 over 5 tasks, within noise)',
    ]);
    // Only tasks answered both times are paired: "e" is missing after, "f" new.
    writeFileSync(
      join(directory, 'eval-answers.jsonl'),
      [answers(0, [1, 1, 0, 0, 1]), answers(20, [1, 0, 0, 0, 1], ['a', 'b', 'c', 'd', 'f'])].join('\n'),
    );
    // Differences 0, -1, 0, 0: mean -0.25, variance 0.75 / 3, standard error sqrt(0.25 / 4) = 0.25.
    expect(await evaluationChange(directory)).toEqual([
      'id accuracy 0.600 -> 0.800 (steps 0 -> 20; change -0.250 +- 0.250 over 4 tasks, within noise)',
    ]);
    // Eight tasks turn right and two stay wrong: differences 1 x 8, 0 x 2, mean 0.8, sample variance
    // (8 x 0.04 + 2 x 0.64) / 9 = 0.1778, standard error sqrt(0.1778 / 10) = 0.133; 0.8 > 2 x 0.133.
    const ten = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
    writeFileSync(
      join(directory, 'eval-answers.jsonl'),
      [answers(0, Array(10).fill(0), ten), answers(20, [1, 1, 1, 1, 1, 1, 1, 1, 0, 0], ten)].join('\n'),
    );
    expect(await evaluationChange(directory)).toEqual([
      'id accuracy 0.600 -> 0.800 (steps 0 -> 20; change +0.800 +- 0.133 over 10 tasks, beyond noise)',
    ]);
  });
});

describe('ekipl train when the policy fails mid-run', () => {
  it('a dead worker at warm-start step 3: a known error naming the step, the weights of step 2 saved, the run marked failed', async () => {
    const { tfjs, PolicyWorkerError } = await import('@ekipl/backend-tfjs');
    const { definePlugin, z } = await import('@ekipl/core');
    const { builtinPlugins } = await import('../src/builtin-plugins.js');
    // The built-in tfjs policy whose third supervised step meets a worker that died.
    const dying = definePlugin({
      kind: 'policy',
      name: 'dying-tfjs',
      options: z.strictObject({ failAt: z.int(), tfjs: z.record(z.string(), z.unknown()) }),
      async create(options, context) {
        const policy = (await tfjs.create(tfjs.options.parse(options.tfjs), context)) as TfjsPolicy;
        const supervisedStep = policy.supervisedStep.bind(policy);
        let calls = 0;
        policy.supervisedStep = async (...args) => {
          if (++calls === options.failAt)
            throw new PolicyWorkerError(
              'worker 1 of 1',
              'supervised',
              policy.describeModel(),
              'RuntimeError: Aborted()',
            );
          return supervisedStep(...args);
        };
        return policy;
      },
    });
    const builtins = [
      ...builtinPlugins,
      { name: 'dying-tfjs', kind: 'policy' as const, packageName: 'test', load: async () => dying },
    ];
    const file = join(scratch, 'dying.yaml');
    writeFileSync(
      file,
      `
run: { name: dying, seed: 3, steps: 2, batchSize: 1, groupSize: 2, evalEvery: 0 }
dataset: { use: synthetic-counting, options: { imageSize: 16 } }
policy:
  use: dying-tfjs
  options: { failAt: 3, tfjs: { workers: 1, size: ${tinySize} } }
auxiliary: [{ use: oracle, name: expert, samples: 1, options: { accuracy: 1 } }]
warmStart: { steps: 5, batchSize: 2 }
objective: { maxCompletionLength: 256 }
`,
    );
    const out = join(scratch, 'dying-run');
    const failure = await train({ config: file, out, builtins }).catch((error: unknown) => error);
    const { EkiplError } = await import('@ekipl/core');
    expect(EkiplError.isInstance(failure)).toBe(true);
    const message = (failure as Error).message;
    expect(message).toMatch(
      /^warm-start step 3: policy worker 1 of 1 died during supervised \(RuntimeError: Aborted\(\)\); model dimension 16, layers 1/,
    );
    expect(message).toContain(`the weights after warm-start step 2 are saved in ${join(out, 'checkpoint')}`);
    expect(existsSync(join(out, 'checkpoint', 'model.safetensors'))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'status.json'), 'utf8'))).toMatchObject({
      state: 'failed',
      at: 'warm-start step 3',
      lastUpdate: 'warm-start step 2',
    });
  });
});

describe('ekipl train warm start', () => {
  it('skips teacher answers longer than maxCompletionLength instead of learning their cut prefixes', async () => {
    const file = join(scratch, 'short.yaml');
    writeFileSync(
      file,
      `
run: { name: short, seed: 3, steps: 0, batchSize: 1, groupSize: 2, evalEvery: 0 }
dataset: { use: synthetic-counting, options: { imageSize: 16 } }
policy:
  use: tfjs
  options: { workers: 1, size: ${tinySize} }
auxiliary: [{ use: oracle, name: expert, samples: 1, options: { accuracy: 1, style: verbose } }]
warmStart: { steps: 2, batchSize: 2 }
objective: { maxCompletionLength: 24 }
`,
    );
    const lines: string[] = [];
    const result = await train({
      config: file,
      out: join(scratch, 'short-run'),
      log: (line) => lines.push(line),
    });
    expect(result.steps).toBe(0);
    // Every verbose answer is longer than 24 tokens: nothing was learnt, and the log says why.
    const metrics = existsSync(join(result.runDirectory, 'metrics.jsonl'))
      ? readFileSync(join(result.runDirectory, 'metrics.jsonl'), 'utf8')
      : '';
    expect(metrics).not.toContain('warmStartStep');
    expect(lines.join('\n')).toContain('4 answers longer than maxCompletionLength skipped so far');
    expect(existsSync(join(result.runDirectory, 'checkpoint'))).toBe(false);
  });

  it('warms up, then decays its rate along a cosine to minLearningRateRatio', async () => {
    const file = join(scratch, 'decay.yaml');
    writeFileSync(
      file,
      `
run: { name: decay, seed: 3, steps: 0, batchSize: 1, groupSize: 2, evalEvery: 0 }
dataset: { use: synthetic-counting, options: { imageSize: 16 } }
policy:
  use: tfjs
  options: { workers: 1, size: ${tinySize} }
auxiliary: [{ use: oracle, name: expert, samples: 1, options: { accuracy: 1, style: brief } }]
warmStart: { steps: 5, batchSize: 1, learningRate: 0.01, warmupSteps: 2, decay: cosine, minLearningRateRatio: 0.1 }
`,
    );
    const result = await train({ config: file, out: join(scratch, 'decay-run'), log: () => {} });
    const rates = readFileSync(join(result.runDirectory, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .filter((line) => 'warmStartStep' in line)
      .map((line) => line['warmstart/learning_rate']);
    // Warm-up: 0.01 x 1/2, 0.01 x 2/2. Then progress 0, 1/3, 2/3 of the cosine from 0.01 to 0.001:
    // 0.001 + 0.009 x (1 + cos(pi x progress)) / 2.
    const expected = [0.005, 0.01, 0.01, 0.00775, 0.00325];
    expect(rates).toHaveLength(5);
    rates.forEach((rate, i) => {
      expect(rate).toBeCloseTo(expected[i]!, 10);
    });
  });
});

describe('warm starts are artifacts', () => {
  it('ekipl sft stores the warm start; train reuses it and ends where an uncached run ends, byte for byte', async () => {
    const folder = mkdtempSync(join(scratch, 'cache-'));
    const file = join(folder, 'run.yaml');
    writeFileSync(
      file,
      `
run: { name: cached, seed: 4, steps: 2, batchSize: 1, groupSize: 2, evalEvery: 0 }
dataset: { use: synthetic-counting, options: { imageSize: 16 } }
policy: { use: tfjs, options: { workers: 1, size: ${tinySize} } }
auxiliary: [{ use: oracle, name: expert, samples: 1, options: { accuracy: 1, style: terse } }]
warmStart: { steps: 3, batchSize: 2 }
objective: { maxCompletionLength: 200 }
`,
    );
    const { sft } = await import('../src/index.js');
    const stored = await sft({ config: file });
    expect(stored.trained).toBe(true);
    expect(stored.directory).toBe(join(folder, 'runs', 'warm-starts', stored.key));
    expect((await sft({ config: file })).trained).toBe(false); // the same settings: already there
    const lines: string[] = [];
    const reusing = await train({
      config: file,
      out: join(folder, 'reusing'),
      log: (line) => lines.push(line),
    });
    expect(lines).toContain(`warm start ${stored.key}: reusing ${stored.directory}`);
    // Against a run that does its warm start itself (reuse off): the same final weights.
    const fresh = await train({
      config: file,
      out: join(folder, 'fresh'),
      overrides: ['run.reuseWarmStart=false'],
    });
    const weights = (run: string) => readFileSync(join(run, 'checkpoint', 'model.safetensors'));
    expect(weights(reusing.runDirectory).equals(weights(fresh.runDirectory))).toBe(true);
    // Its warm-start lines are in the run's metrics, as if it had run them.
    const warmLines = (run: string) =>
      readFileSync(join(run, 'metrics.jsonl'), 'utf8')
        .split('\n')
        .filter((line) => line.includes('warmStartStep'));
    expect(warmLines(reusing.runDirectory)).toEqual(warmLines(fresh.runDirectory));
    // Another seed is another warm start.
    const other = await sft({ config: file, overrides: ['run.seed=5'] });
    expect(other.key).not.toBe(stored.key);
  });

  it('a warm start killed after a checkpoint goes on from it when run again, to the bytes of one never stopped', async () => {
    const folder = mkdtempSync(join(scratch, 'killed-sft-'));
    const file = join(folder, 'run.yaml');
    writeFileSync(
      file,
      `
run: { name: killed, seed: 4, steps: 0, batchSize: 1, groupSize: 2, checkpointEvery: 3 }
dataset: { use: synthetic-counting, options: { imageSize: 16 } }
policy: { use: tfjs, options: { workers: 1, size: ${tinySize} } }
auxiliary: [{ use: oracle, name: expert, samples: 1, options: { accuracy: 1, style: terse } }]
warmStart: { steps: 40, batchSize: 2 }
objective: { maxCompletionLength: 200 }
`,
    );
    const { sft } = await import('../src/index.js');
    const uninterrupted = await sft({ config: file, overrides: ['run.outputDir=uninterrupted'] });
    // The same warm start in a child process, killed (SIGKILL: no handler runs) once it has a checkpoint.
    const cache = join(folder, 'runs', 'warm-starts');
    const child = spawn(process.execPath, [bin, 'sft', '-c', file], { stdio: 'ignore' });
    const exited = new Promise((done) => child.on('exit', done));
    const partial = join(cache, `.${uninterrupted.key}.${child.pid}.partial`);
    while (!existsSync(join(partial, 'checkpoints', 'step-6', 'warm-start-state.json'))) {
      await new Promise((wait) => setTimeout(wait, 5));
    }
    child.kill('SIGKILL');
    await exited;
    expect(existsSync(join(cache, uninterrupted.key))).toBe(false); // it did not get to finish

    const lines: string[] = [];
    const resumed = await sft({ config: file, log: (line) => lines.push(line) });
    expect(resumed.trained).toBe(true);
    expect(
      lines.some((line) =>
        /^warm start: going on from step (6|9|12|15|18|21|24|27|30|33|36) of 40 /.test(line),
      ),
    ).toBe(true);
    for (const name of [
      'checkpoint/model.safetensors',
      'checkpoint/optimizer.safetensors',
      'metrics.jsonl',
    ]) {
      expect(
        readFileSync(join(resumed.directory, name)).equals(readFileSync(join(uninterrupted.directory, name))),
      ).toBe(true);
    }
    // Nothing of the killed one is left behind, and the stored warm start holds no periodic checkpoint.
    expect(readdirSync(cache)).toEqual([uninterrupted.key]);
    expect(existsSync(join(resumed.directory, 'checkpoints'))).toBe(false);
  }, 120_000);
});

describe('RL after a warm start or from a checkpoint', () => {
  // The warm start's moments were measured on supervised gradients about 10x smaller than RL's: kept,
  // Adam made the first RL updates several times larger (a start's `add` probe collapsed with them).
  it('starts with a fresh optimiser; objective.freshOptimizer=false keeps the moments', async () => {
    const folder = mkdtempSync(join(scratch, 'fresh-'));
    const file = join(folder, 'run.yaml');
    writeFileSync(
      file,
      `
run: { name: fresh, seed: 4, steps: 2, batchSize: 1, groupSize: 2, evalEvery: 0 }
dataset: { use: synthetic-counting, options: { imageSize: 16 } }
policy: { use: tfjs, options: { workers: 1, size: ${tinySize} } }
auxiliary: [{ use: oracle, name: expert, samples: 1, options: { accuracy: 1, style: terse } }]
warmStart: { steps: 3, batchSize: 2 }
objective: { maxCompletionLength: 200 }
`,
    );
    const optimizerSteps = (run: string) =>
      (
        JSON.parse(readFileSync(join(run, 'checkpoint', 'state.json'), 'utf8')) as {
          optimizer: { step: number };
        }
      ).optimizer.step;
    const afterWarmStart = await train({ config: file, out: join(folder, 'after-warm-start') });
    expect(optimizerSteps(afterWarmStart.runDirectory)).toBe(2); // the 3 warm-start updates forgotten
    const kept = await train({
      config: file,
      out: join(folder, 'kept'),
      overrides: ['objective.freshOptimizer=false'],
    });
    expect(optimizerSteps(kept.runDirectory)).toBe(5);
    // From a checkpoint (here the kept run's, 5 updates in): its moments are not carried into RL either.
    const fromCheckpoint = await train({
      config: file,
      out: join(folder, 'from-checkpoint'),
      overrides: ['warmStart.steps=0', `policy.options.checkpoint=${join(kept.runDirectory, 'checkpoint')}`],
    });
    expect(optimizerSteps(fromCheckpoint.runDirectory)).toBe(2);
    // A fresh first update moves every weight with a gradient by the learning rate (Adam's first step).
    const before = (await readSafetensors(join(kept.runDirectory, 'checkpoint', 'model.safetensors')))
      .tensors;
    const oneStep = await train({
      config: file,
      out: join(folder, 'one-step'),
      overrides: [
        'run.steps=1',
        'warmStart.steps=0',
        'objective.learningRate=1.0e-3',
        `policy.options.checkpoint=${join(kept.runDirectory, 'checkpoint')}`,
      ],
    });
    const after = (await readSafetensors(join(oneStep.runDirectory, 'checkpoint', 'model.safetensors')))
      .tensors;
    let largest = 0;
    for (const [name, tensor] of Object.entries(after)) {
      const start = before[name]!.data;
      tensor.data.forEach((value, i) => {
        largest = Math.max(largest, Math.abs(value - start[i]!));
      });
    }
    expect(largest).toBeCloseTo(1e-3, 6);
  });
});

describe('a warm-start teacher of its own', () => {
  it('GRPO (auxiliary=none) starts from the same stored warm start as the method with experts', async () => {
    const folder = mkdtempSync(join(scratch, 'teacher-'));
    const file = join(folder, 'run.yaml');
    writeFileSync(
      file,
      `
run: { name: grpo-vs-ekipl, seed: 4, steps: 2, batchSize: 1, groupSize: 2, evalEvery: 0 }
dataset: { use: synthetic-counting, options: { imageSize: 16 } }
policy: { use: tfjs, options: { workers: 1, size: ${tinySize} } }
auxiliary: [{ use: oracle, name: expert, samples: 1, options: { accuracy: 0.5, style: terse } }]
warmStart: { steps: 3, batchSize: 2, teacher: { use: oracle, name: teacher, options: { accuracy: 1, style: terse } } }
objective: { maxCompletionLength: 200 }
`,
    );
    const { sft } = await import('../src/index.js');
    const stored = await sft({ config: file });
    expect(stored.trained).toBe(true);
    const lines: string[] = [];
    const grpo = await train({
      config: file,
      out: join(folder, 'grpo'),
      overrides: ['auxiliary=none'],
      log: (line) => lines.push(line),
    });
    expect(lines).toContain(`warm start ${stored.key}: reusing ${stored.directory}`);
    expect(grpo.steps).toBe(2);
    const config = readFileSync(join(grpo.runDirectory, 'config.yaml'), 'utf8');
    expect(config).toMatch(
      /teacher:\n\s+use: oracle\n\s+options:\n\s+accuracy: 1\n\s+style: terse\n\s+name: teacher/,
    );
    expect(config).toContain('auxiliary: []');
  });
});

describe('ekipl train with bad input', () => {
  it('a config error found while creating the plugins leaves no run directory behind', async () => {
    const file = join(scratch, 'missing-checkpoint.yaml');
    writeFileSync(file, 'policy: { use: tfjs, options: { workers: 1, checkpoint: ./gone } }\n');
    const out = join(scratch, 'never-created');
    await expect(train({ config: file, out })).rejects.toThrow(
      /policy: tfjs: checkpoint .*gone has no state\.json/,
    );
    expect(existsSync(out)).toBe(false);
  });
});

describe('run.outputDir', () => {
  it('an absolute folder is used as it is, not put under the config folder', async () => {
    const folder = join(scratch, 'absolute-runs');
    const file = join(scratch, 'configs', 'absolute.yaml');
    mkdirSync(join(scratch, 'configs'));
    writeFileSync(
      file,
      `run: { name: absolute, seed: 1, steps: 1, batchSize: 1, groupSize: 2, evalEvery: 0, evalLimit: 2, outputDir: '${folder}' }
dataset: { use: synthetic-counting, options: { imageSize: 16 } }
policy: { use: tfjs, options: { size: ${tinySize} } }
auxiliary: [{ use: oracle, name: expert, samples: 1, options: { accuracy: 1 } }]
objective: { maxCompletionLength: 64 }
prompt: { templates: { default: '{question}' } }
`,
    );
    const result = await train({ config: file, log: () => {} });
    expect(dirname(result.runDirectory)).toBe(folder);
    expect(existsSync(join(scratch, 'configs', folder))).toBe(false);
  });
});
