import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EkiplError, type ObjectiveSettings, Random, type TrainBatch } from '@ekipl/core';
import { objectiveConformance } from '@ekipl/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, parameterShapes } from '../src/index.js';
import { smallConfig, smallPolicy, testPrompts } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'ekipl-tfjs-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const sampling = { temperature: 0.9, topP: 1, topK: 0, maxTokens: 16, seed: 5 };

describe('objective conformance', () => {
  for (const engine of ['wasm', 'cpu'] as const) {
    it(`${engine}: trainStep and objectiveGradient equal core's reference (1e-4 relative), every aggregation, weights != 1`, async () => {
      const report = await objectiveConformance(() => smallPolicy({}, engine), {
        prompts: await testPrompts(),
        tolerance: 1e-4,
      });
      expect(report.cases).toHaveLength(18);
      for (const result of report.cases) expect(result.gradientError).toBeLessThan(1e-4);
    });
  }
});

describe('generation and scoring', () => {
  it('KV-cache generation gives the log-probs that teacher-forced scoring gives (1e-4), images or not', async () => {
    const policy = await smallPolicy();
    const prompts = await testPrompts();
    const samples = await policy.generate(prompts, 3, sampling);
    const requests = samples.flatMap((group, p) =>
      group.map((sample) => ({ prompt: prompts[p]!, tokens: sample.tokens })),
    );
    const scored = await policy.score(requests, 'current', sampling.temperature);
    requests.forEach((_, i) => {
      const generated = samples[Math.floor(i / 3)]![i % 3]!.logProbs;
      expect(scored[i]).toHaveLength(generated.length);
      scored[i]!.forEach((value, t) => {
        expect(Math.abs(value - generated[t]!)).toBeLessThan(1e-4);
      });
    });
  });

  it('scores many requests in bounded passes, in order: 150 at once equal each scored alone', async () => {
    const policy = await smallPolicy();
    const prompts = await testPrompts();
    const requests = Array.from({ length: 150 }, (_, i) => ({
      prompt: prompts[i % prompts.length]!,
      tokens: [65 + (i % 7), 66 + (i % 5), 256],
    }));
    const together = await policy.score(requests, 'current', 0.9);
    const alone = await Promise.all(requests.map((request) => policy.score([request], 'current', 0.9)));
    together.forEach((row, i) => {
      row.forEach((value, t) => {
        expect(Math.abs(value - alone[i]![0]![t]!)).toBeLessThan(1e-4);
      });
    });
  });

  it('the same seed gives the same samples; another seed other samples; no tensors leak', async () => {
    const policy = await smallPolicy();
    const prompts = await testPrompts();
    const first = await policy.generate(prompts, 2, sampling);
    const tensors = tf.memory().numTensors;
    const again = await policy.generate(prompts, 2, sampling);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(again.map((group) => group.map((sample) => sample.tokens))).toEqual(
      first.map((group) => group.map((sample) => sample.tokens)),
    );
    const other = await policy.generate(prompts, 2, { ...sampling, seed: 6 });
    expect(other.map((group) => group.map((sample) => sample.tokens))).not.toEqual(
      first.map((group) => group.map((sample) => sample.tokens)),
    );
  });

  it('generate records sampling log-probs and entropies per token; completionRoom counts positions left', async () => {
    const policy = await smallPolicy();
    const prompts = await testPrompts();
    const sample = (await policy.generate(prompts.slice(0, 1), 1, { ...sampling, topK: 5 }))[0]![0];
    expect(sample!.samplingLogProbs).toHaveLength(sample!.tokens.length);
    expect(sample!.entropies).toHaveLength(sample!.tokens.length);
    // Truncation only raises a kept token's probability.
    sample!.samplingLogProbs!.forEach((value, t) => {
      expect(value).toBeGreaterThanOrEqual(sample!.logProbs[t]! - 1e-9);
    });
    // 256 positions - 4 patches (one 16 px image) - <bos> + "How many?" (10 tokens) = 242.
    expect(policy.completionRoom(prompts[0]!)).toBe(242);
    // Two images: 256 - 8 - 31 ("Which changed between the two?" + <bos>) = 217.
    expect(policy.completionRoom(prompts[1]!)).toBe(256 - 8 - 31);
  });

  it('top-k 1 is greedy: every sample of a prompt is the same', async () => {
    const policy = await smallPolicy();
    const [prompt] = await testPrompts();
    const samples = await policy.generate([prompt!], 4, { ...sampling, topK: 1 });
    expect(new Set(samples[0]!.map((sample) => sample.tokens.join()))).toHaveProperty('size', 1);
  });
});

describe('checkpoints', () => {
  async function batch(policy: Awaited<ReturnType<typeof smallPolicy>>): Promise<TrainBatch> {
    const prompts = await testPrompts();
    const samples = await policy.generate(prompts, 2, sampling);
    return {
      sequences: samples.flatMap((group, p) =>
        group.map((sample, j) => ({
          prompt: prompts[p]!,
          tokens: sample.tokens,
          oldLogProbs: sample.logProbs,
          refLogProbs: sample.logProbs,
          advantage: j === 0 ? 1 : -1,
          weight: 0.5 + p * 0.25,
          source: 'policy',
        })),
      ),
    };
  }
  const objective: ObjectiveSettings = {
    clipLow: 0.2,
    clipHigh: 0.2,
    beta: 0.04,
    aggregation: 'sequence-mean',
    maxCompletionLength: 16,
    learningRate: 1e-3,
  };

  it('save -> load -> one more step equals an uninterrupted step, bit for bit', async () => {
    const uninterrupted = await smallPolicy();
    const trainBatch = await batch(uninterrupted);
    await uninterrupted.trainStep(trainBatch, objective, 0.9);
    await uninterrupted.trainStep(trainBatch, objective, 0.9);
    const directory = join(scratch, 'checkpoint');
    await uninterrupted.save(directory);
    const expectedLoss = (await uninterrupted.trainStep(trainBatch, objective, 0.9)).loss;

    const resumed = await smallPolicy({ seed: 99 }); // other initial weights: everything must come from the checkpoint
    await resumed.load(directory);
    const loss = (await resumed.trainStep(trainBatch, objective, 0.9)).loss;
    expect(loss).toBe(expectedLoss);
    for (const [name, parameter] of uninterrupted.parameters) {
      expect(
        Buffer.from(resumed.parameters.get(name)!.dataSync().buffer).equals(
          Buffer.from(parameter.dataSync().buffer),
        ),
        name,
      ).toBe(true);
    }
  });

  it('a missing, truncated or other-size checkpoint is a known error that says which and why', async () => {
    const policy = await smallPolicy();
    const directory = join(scratch, 'checkpoint-errors');
    await policy.save(directory);
    const fresh = await smallPolicy();
    const missing = await fresh.load(join(scratch, 'nowhere')).catch((error: unknown) => error);
    expect(EkiplError.isInstance(missing)).toBe(true);
    expect((missing as Error).message).toMatch(
      /checkpoint .*nowhere has no state\.json: not a checkpoint directory/,
    );
    // Cut the weights file in half.
    const model = join(directory, 'model.safetensors');
    const bytes = readFileSync(model);
    writeFileSync(model, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(fresh.load(directory)).rejects.toThrow(
      /model\.safetensors cannot be read: safetensors: .* ends at byte \d+, the file has \d+ \(truncated\?\)/,
    );
    const wider = await smallPolicy({ config: { ...smallConfig, dimension: 48, heads: 2 } });
    await policy.save(directory);
    await expect(wider.load(directory)).rejects.toThrow(/checkpoint has dimension = 32, this model 48/);
  });

  it('training, scoring and supervised steps leave no tensors behind (numTensors stable across steps)', async () => {
    const policy = await smallPolicy();
    const trainBatch = await batch(policy);
    await policy.trainStep(trainBatch, objective, 0.9); // creates the optimiser state and the reference
    await policy.supervisedStep([{ prompt: trainBatch.sequences[0]!.prompt, tokens: [65, 257] }], {
      learningRate: 1e-3,
    });
    const tensors = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      await policy.trainStep(trainBatch, objective, 0.9);
      await policy.objectiveGradient(trainBatch, objective, 0.9);
      await policy.score(trainBatch.sequences, 'reference', 0.9);
      await policy.supervisedStep([{ prompt: trainBatch.sequences[0]!.prompt, tokens: [65, 257] }], {
        learningRate: 1e-3,
      });
    }
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('writes safetensors a PyTorch user can open: documented names, [in, out] shapes, F32', async () => {
    const policy = await smallPolicy();
    const directory = join(scratch, 'layout');
    await policy.save(directory);
    const { tensors, metadata } = decodeSafetensors(
      new Uint8Array(readFileSync(join(directory, 'model.safetensors'))),
    );
    expect(metadata).toEqual({ format: 'ekipl-tiny-vlm/1' });
    expect(Object.keys(tensors).sort()).toEqual(
      parameterShapes(smallConfig)
        .map(([name]) => name)
        .sort(),
    );
    expect(tensors['blocks.0.mlp.gate.weight']!.shape).toEqual([32, 85]);
    expect(tensors['embed.weight']!.shape).toEqual([260, 32]);
    const header = readFileSync(join(directory, 'model.safetensors'));
    const headerLength = Number(header.readBigUInt64LE(0));
    expect((8 + headerLength) % 8).toBe(0);
    expect(JSON.parse(header.subarray(8, 8 + headerLength).toString())['norm.weight']).toMatchObject({
      dtype: 'F32',
      shape: [32],
    });
  });
});

describe('backpropagation through the whole model', () => {
  it('the parameter gradient matches a central finite difference along a random direction (2 % relative)', async () => {
    const policy = await smallPolicy({}, 'cpu');
    const prompts = await testPrompts();
    const examples = prompts.map((prompt, i) => ({ prompt, tokens: policy.encode(`answer ${i}`) }));
    const { gradients } = await policy.supervisedGradients(examples);
    const direction = new Map<string, tf.Tensor>();
    let expected = 0;
    const random = Random.fromSeed('direction');
    for (const [name, parameter] of policy.parameters) {
      const values = Float32Array.from({ length: parameter.size }, () => random.normal());
      const u = tf.tensor(values, parameter.shape);
      direction.set(name, u);
      const gradient = gradients[parameter.name];
      if (gradient !== undefined && gradient !== null) expected += tf.sum(tf.mul(gradient, u)).dataSync()[0]!;
    }
    const shifted = async (epsilon: number) => {
      const originals = new Map([...policy.parameters].map(([name, parameter]) => [name, parameter.clone()]));
      for (const [name, parameter] of policy.parameters)
        parameter.assign(tf.add(originals.get(name)!, tf.mul(direction.get(name)!, epsilon)));
      const { loss, gradients: unused } = await policy.supervisedGradients(examples);
      tf.dispose(Object.values(unused).filter((g) => g !== null));
      for (const [name, parameter] of policy.parameters) parameter.assign(originals.get(name)!);
      tf.dispose([...originals.values()]);
      return loss;
    };
    const epsilon = 1e-3;
    const numeric = ((await shifted(epsilon)) - (await shifted(-epsilon))) / (2 * epsilon);
    expect(Math.abs(numeric - expected) / Math.abs(expected)).toBeLessThan(0.02);
  });
});
