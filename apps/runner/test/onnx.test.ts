import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder, OnnxPolicy, onnx, writeOnnxModel } from '@ekipl/backend-onnx';
import {
  defaultOptimizerSettings,
  defaultTinyVlmConfig,
  selectEngine,
  TfjsPolicy,
} from '@ekipl/backend-tfjs';
import type { PolicyBackend, Prompt, ScoreRequest } from '@ekipl/core';
import { instantiatePlugin } from '@ekipl/testkit';
import { initialValues } from '@ekipl/tiny-vlm';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The ONNX backend against the tfjs one, on the same weights: it lives here because the runner is the
// package that depends on both (a plugin never imports another).
const config = {
  ...defaultTinyVlmConfig,
  dimension: 32,
  layers: 2,
  heads: 2,
  visionDimension: 24,
  visionLayers: 1,
  visionHeads: 2,
  imageSize: 16,
  patchSize: 8,
  maxPositions: 256,
};
const scratch = mkdtempSync(join(tmpdir(), 'ekipl-onnx-'));
let tfjs: TfjsPolicy;
let prompts: Prompt[];
let requests: ScoreRequest[];

async function scene(color: string): Promise<Uint8Array> {
  const square = await sharp({ create: { width: 8, height: 8, channels: 3, background: color } })
    .png()
    .toBuffer();
  return new Uint8Array(
    await sharp({ create: { width: 16, height: 16, channels: 3, background: '#c8c8c8' } })
      .composite([{ input: square, left: 4, top: 2 }])
      .png()
      .toBuffer(),
  );
}

/** The largest difference between a backend's tempered log-probs (T 0.9) and tfjs's, on `requests`. */
async function differenceFromTfjs(policy: PolicyBackend): Promise<number> {
  return maxDifference(
    await tfjs.score(requests, 'current', 0.9),
    await policy.score(requests, 'current', 0.9),
  );
}

function maxDifference(a: number[][], b: number[][]): number {
  let max = 0;
  a.forEach((row, i) => {
    expect(b[i]!.length).toBe(row.length);
    row.forEach((value, t) => {
      max = Math.max(max, Math.abs(value - b[i]![t]!));
    });
  });
  return max;
}

beforeAll(async () => {
  await selectEngine('wasm');
  tfjs = new TfjsPolicy({
    name: 'tfjs',
    config,
    maxPromptTokens: 32,
    optimizer: defaultOptimizerSettings,
    seed: 3,
    workers: 1,
  });
  const red = { data: await scene('#ff0000'), mediaType: 'image/png' };
  const blue = { data: await scene('#0000ff'), mediaType: 'image/png' };
  prompts = [
    { system: '', user: 'How many?', images: [red] },
    { system: '', user: 'Which changed between the two?', images: [red, blue] },
    { system: '', user: 'text only', images: [] },
  ];
  requests = prompts.map((prompt, i) => ({
    prompt,
    tokens: tfjs.encode(['<think>one</think><answer>3</answer>', 'ab', 'xyz!'][i]!),
  }));
});
afterAll(async () => {
  await tfjs.dispose();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the ONNX backend', () => {
  it('scores as tfjs does (1e-4), with images, two images and none; greedy and seeded samples are identical', async () => {
    for (const placement of ['inputs', 'initializers'] as const) {
      const policy = await OnnxPolicy.create({
        name: 'onnx',
        config,
        maxPromptTokens: 32,
        weights: tfjs.weights(),
        placement,
      });
      expect(await differenceFromTfjs(policy)).toBeLessThan(1e-4);
      for (const sampling of [
        { temperature: 0.9, topP: 1, topK: 1, maxTokens: 24, seed: 5 },
        { temperature: 0.9, topP: 0.9, topK: 50, maxTokens: 24, seed: 6 },
        // Long enough for the cache to grow past its first slots, with rows leaving the batch.
        { temperature: 1.5, topP: 1, topK: 0, maxTokens: 100, seed: 7 },
      ]) {
        const expected = await tfjs.generate(prompts, 3, sampling);
        const actual = await policy.generate(prompts, 3, sampling);
        if (sampling.maxTokens === 100) {
          const lengths = expected.flat().map((sample) => sample.tokens.length);
          expect(Math.max(...lengths)).toBe(100);
          expect(Math.min(...lengths)).toBeLessThan(60);
        }
        expect(actual.map((row) => row.map((sample) => sample.tokens))).toEqual(
          expected.map((row) => row.map((sample) => sample.tokens)),
        );
        expect(
          maxDifference(
            expected.flat().map((sample) => sample.logProbs),
            actual.flat().map((sample) => sample.logProbs),
          ),
        ).toBeLessThan(1e-4);
      }
      await policy.dispose();
    }
  });

  it("after a training step and a sync, its log-probs are the trainer's new ones", async () => {
    const policy = await OnnxPolicy.create({
      name: 'onnx',
      config,
      maxPromptTokens: 32,
      weights: tfjs.weights(),
    });
    // The default placement keeps the first weights in the graphs and feeds them once they change.
    expect(policy.weightPlacement).toBe('initializers');
    const before = await policy.score(requests, 'current', 1);
    await tfjs.supervisedStep(
      requests.map((request) => ({ prompt: request.prompt, tokens: request.tokens })),
      { learningRate: 1e-2 },
    );
    await policy.setWeights(tfjs.weights());
    expect(policy.weightPlacement).toBe('inputs');
    const trained = await tfjs.score(requests, 'current', 1);
    expect(maxDifference(trained, await policy.score(requests, 'current', 1))).toBeLessThan(1e-4);
    expect(maxDifference(trained, before)).toBeGreaterThan(1e-2); // the step changed something
    await policy.dispose();
  });

  it('reads overlapping patch windows (patchContext) as tfjs does', async () => {
    const withContext = { ...config, patchContext: 2 };
    const trainer = new TfjsPolicy({
      name: 'tfjs',
      config: withContext,
      maxPromptTokens: 32,
      optimizer: defaultOptimizerSettings,
      seed: 4,
      workers: 1,
    });
    const policy = await OnnxPolicy.create({
      name: 'onnx',
      config: withContext,
      maxPromptTokens: 32,
      weights: trainer.weights(),
    });
    const expected = await trainer.score(requests, 'current', 0.9);
    expect(maxDifference(expected, await policy.score(requests, 'current', 0.9))).toBeLessThan(1e-4);
    // The context pixels matter: the same weights without them would not read these windows at all.
    expect(trainer.weights().get('vision.patch.weight')!.shape).toEqual([12 * 12 * 3, 24]);
    await Promise.all([policy.dispose(), trainer.dispose()]);
  });

  it('restore takes over a snapshot of another size: the architecture and the weights', async () => {
    const other = await OnnxPolicy.create({
      name: 'onnx',
      config: { ...config, dimension: 16, heads: 2 },
      maxPromptTokens: 8,
      weights: initialValues({ ...config, dimension: 16, heads: 2 }, 1),
    });
    await other.restore(tfjs.snapshot());
    expect(await differenceFromTfjs(other)).toBeLessThan(1e-4);
    await expect(other.restore({ format: 'other/1', settings: {}, tensors: new Map() })).rejects.toThrow(
      'cannot run a other/1 model',
    );
    await other.dispose();
  });

  it('the onnx plugin loads a tfjs checkpoint; the CUDA provider without its files is a clear error', async () => {
    const checkpoint = join(scratch, 'checkpoint');
    await tfjs.save(checkpoint);
    const size = { ...config, vocabularySize: undefined, ropeBase: undefined };
    delete size.vocabularySize;
    delete size.ropeBase;
    const { instance } = await instantiatePlugin(onnx, { size, maxPromptTokens: 32, checkpoint });
    expect(await differenceFromTfjs(instance)).toBeLessThan(1e-4);
    expect(instance.capabilities.train).toBe(false);
    await instance.dispose?.();
    // Without size, the checkpoint's own architecture (its state.json); a size that disagrees is an error.
    const sized = await instantiatePlugin(onnx, { maxPromptTokens: 32, checkpoint });
    expect(await differenceFromTfjs(sized.instance)).toBeLessThan(1e-4);
    await sized.instance.dispose?.();
    await expect(instantiatePlugin(onnx, { size: { ...size, dimension: 64 }, checkpoint })).rejects.toThrow(
      /has dimension = 32, options.size says 64: leave size out/,
    );
    // A model of this architecture as standalone ONNX files (weights inside), loaded as a user's own.
    const files = join(scratch, 'onnx-model');
    expect((await writeOnnxModel(checkpoint, files)).dimension).toBe(32);
    const own = await instantiatePlugin(onnx, { size, maxPromptTokens: 32, model: files });
    expect(await differenceFromTfjs(own.instance)).toBeLessThan(1e-4);
    await own.instance.dispose?.();
    // Scored by its scorer.onnx: a scorer of another graph is refused at the first score call; files
    // without one are scored from the decoder's logits.
    const graphless = join(scratch, 'model-without-scorer');
    mkdirSync(graphless);
    for (const file of ['vision.onnx', 'decoder.onnx'])
      copyFileSync(join(files, file), join(graphless, file));
    const fromLogits = await instantiatePlugin(onnx, { size, maxPromptTokens: 32, model: graphless });
    expect(await differenceFromTfjs(fromLogits.instance)).toBeLessThan(1e-4);
    await fromLogits.instance.dispose?.();
    copyFileSync(join(files, 'decoder.onnx'), join(graphless, 'scorer.onnx'));
    const wrong = await instantiatePlugin(onnx, { size, maxPromptTokens: 32, model: graphless });
    await expect(differenceFromTfjs(wrong.instance)).rejects.toThrow(
      /the scorer model has no output target_log_probs: .* write it again with writeOnnxModel, or leave scorer.onnx out/,
    );
    await wrong.instance.dispose?.();
    // A decoder without this version's outputs (an earlier export kept the whole cache as present_k_i).
    const stale = join(scratch, 'stale-model');
    mkdirSync(stale);
    copyFileSync(join(files, 'vision.onnx'), join(stale, 'vision.onnx'));
    const graph = new GraphBuilder('stale');
    graph.output(graph.input('x', 'float', [1]), 'present_k_0', 'float', [1]);
    writeFileSync(join(stale, 'decoder.onnx'), graph.toBytes());
    await expect(instantiatePlugin(onnx, { size, maxPromptTokens: 32, model: stale })).rejects.toThrow(
      /the decoder model has no output logits, key_0, value_0, key_1, value_1: .* write it again with writeOnnxModel/,
    );
    await expect(instantiatePlugin(onnx, { size, model: scratch })).rejects.toThrow(
      /vision.onnx: missing \(a folder with vision.onnx and decoder.onnx\)/,
    );
    await expect(instantiatePlugin(onnx, { size, model: files, checkpoint })).rejects.toThrow(
      /give model \(ONNX files\) or checkpoint/,
    );
    const cuda = await instantiatePlugin(onnx, { size, executionProvider: 'cuda' }).catch(
      (error: unknown) => error,
    );
    // Where the CUDA files are installed (a GPU machine set up for it) the session starts instead.
    if (cuda instanceof Error) {
      expect(cuda.message).toMatch(
        /could not start the CUDA execution provider .*ONNXRUNTIME_NODE_INSTALL=cuda12 node "[^"]+" \(downloads .*or use executionProvider: cpu/,
      );
      // The command names the install script of the onnxruntime-node that is loaded: npm's own
      // reinstall skips it wherever allowScripts denies it (this repository's package.json does).
      const script = /ONNXRUNTIME_NODE_INSTALL=cuda12 node "([^"]+)"/.exec(cuda.message)![1]!;
      expect(script).toMatch(/onnxruntime-node[\\/]script[\\/]install\.js$/);
      expect(existsSync(script)).toBe(true);
    }
  });
});

describe('rollout: onnx', () => {
  it('generates the trainer’s samples with its weights synced each step: the same run as without it, and time/sync_s', async () => {
    const { train } = await import('../src/index.js');
    const file = join(scratch, 'rollout.yaml');
    const size =
      '{ dimension: 16, layers: 1, heads: 2, visionDimension: 8, visionLayers: 1, visionHeads: 2, imageSize: 16, patchSize: 8 }';
    const { writeFileSync, readFileSync } = await import('node:fs');
    writeFileSync(
      file,
      `run: { name: rollout, seed: 2, steps: 3, batchSize: 1, groupSize: 2, evalEvery: 0, checkpointEvery: 0 }
dataset: { use: synthetic-counting, options: { imageSize: 16 } }
policy: { use: tfjs, options: { workers: 1, size: ${size} } }
auxiliary: [{ use: oracle, samples: 1, options: { accuracy: 1, style: terse } }]
objective: { maxCompletionLength: 64, learningRate: 1.0e-2 }
`,
    );
    const plain = await train({ config: file, out: join(scratch, 'plain') });
    const withRollout = await train({
      config: file,
      out: join(scratch, 'with-rollout'),
      overrides: [`rollout={ use: onnx, options: { size: ${size} } }`],
    });
    const lines = (run: string, name: string) =>
      readFileSync(join(run, name), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
    const policyTexts = (run: string) =>
      lines(run, 'samples.jsonl').map((group) =>
        group.candidates
          .filter((c: { source: string }) => c.source === 'policy')
          .map((c: { text: string }) => c.text),
      );
    expect(policyTexts(withRollout.runDirectory)).toEqual(policyTexts(plain.runDirectory));
    const steps = lines(withRollout.runDirectory, 'metrics.jsonl').filter((line) => 'reward/mean' in line);
    expect(steps).toHaveLength(3);
    for (const step of steps) expect(step['time/sync_s']).toBeGreaterThan(0);
    expect(lines(plain.runDirectory, 'metrics.jsonl').some((line) => 'time/sync_s' in line)).toBe(false);
    // A rollout backend must be able to take over a model: tfjs cannot (no restore).
    const { validateConfigFile } = await import('../src/index.js');
    const refused = await validateConfigFile(file, undefined, [
      `rollout={ use: tfjs, options: { size: ${size} } }`,
    ]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('rollout: "tfjs" cannot take over a model (no restore)');
  });
});

describe('reference: onnx', () => {
  it('scores the KL anchor as the trainer would, and after --resume the anchor is still the starting weights', async () => {
    const { train } = await import('../src/index.js');
    const { cpSync, readFileSync, writeFileSync } = await import('node:fs');
    const file = join(scratch, 'reference.yaml');
    const size =
      '{ dimension: 16, layers: 1, heads: 2, visionDimension: 8, visionLayers: 1, visionHeads: 2, imageSize: 16, patchSize: 8 }';
    writeFileSync(
      file,
      `run: { name: reference, seed: 4, steps: 4, batchSize: 2, groupSize: 4, evalEvery: 0, checkpointEvery: 2, keepCheckpoints: 2 }
dataset: { use: synthetic-counting, options: { imageSize: 16 } }
policy: { use: tfjs, options: { workers: 1, size: ${size} } }
auxiliary: [{ use: oracle, samples: 1, options: { accuracy: 1, style: terse } }]
objective: { maxCompletionLength: 256, learningRate: 3.0e-2, beta: 0.5 }
`,
    );
    const kl = (run: string) =>
      readFileSync(join(run, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line))
        .filter((line) => 'train/kl' in line)
        .map((line) => line['train/kl'] as number);
    const plain = await train({ config: file, out: join(scratch, 'kl-plain') });
    const withReference = await train({
      config: file,
      out: join(scratch, 'kl-onnx'),
      overrides: [`reference={ use: onnx, options: { size: ${size} } }`],
    });
    const expected = kl(plain.runDirectory);
    expect(expected).toHaveLength(4);
    expect(expected[0]).toBe(0); // the first update starts at the anchor
    expect(Math.min(...expected.slice(1))).toBeGreaterThan(1e-4); // and moves away from it
    const actual = kl(withReference.runDirectory);
    for (const [i, value] of actual.entries()) expect(Math.abs(value - expected[i]!)).toBeLessThan(1e-5);
    // Resume the ONNX-reference run from its step-2 checkpoint: steps 3 and 4 must measure the KL to
    // the starting weights again (taken from the checkpoint), not to the weights it resumed with.
    const resumed = join(scratch, 'kl-resumed');
    cpSync(withReference.runDirectory, resumed, { recursive: true });
    rmSync(join(resumed, 'checkpoints', 'step-4'), { recursive: true, force: true });
    await train({
      config: file,
      out: resumed,
      resume: true,
      overrides: [`reference={ use: onnx, options: { size: ${size} } }`],
    });
    const again = kl(resumed);
    expect(again).toHaveLength(4);
    for (const [i, value] of again.entries()) expect(Math.abs(value - actual[i]!)).toBeLessThan(1e-6);
  });
});
