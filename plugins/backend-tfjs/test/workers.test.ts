import type { ObjectiveSettings, TrainBatch } from '@ekipl/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import type { TfjsPolicy } from '../src/index.js';
import { smallPolicy, testPrompts } from './helpers.js';

const opened: TfjsPolicy[] = [];
afterAll(async () => {
  await Promise.all(opened.map((policy) => policy.dispose()));
});

/** Two policies with the same start: one thread, and the main thread plus a worker. */
async function pair() {
  const single = await smallPolicy({ seed: 11 });
  const parallel = await smallPolicy({ seed: 11, workers: 2 });
  opened.push(single, parallel);
  return { single, parallel };
}

function maxRelativeDifference(a: TfjsPolicy, b: TfjsPolicy): number {
  let worst = 0;
  const others = [...b.parameters.values()];
  [...a.parameters.values()].forEach((parameter, i) => {
    const scale = tf.max(tf.abs(parameter)).dataSync()[0]!;
    const difference = tf.max(tf.abs(tf.sub(parameter, others[i]!))).dataSync()[0]!;
    worst = Math.max(worst, difference / scale);
  });
  return worst;
}

describe('data parallelism (workers: 2 = the main thread and one worker thread)', () => {
  it('generates the same samples and scores as one thread, with prompts shared out', async () => {
    const { single, parallel } = await pair();
    // Six prompts (1, 2 and 0 images, twice): three for each thread, both image groups on both.
    const prompts = [...(await testPrompts()), ...(await testPrompts())];
    const sampling = { temperature: 1, topP: 1, topK: 0, maxTokens: 10, seed: 9 };
    const one = await single.generate(prompts, 2, sampling);
    const two = await parallel.generate(prompts, 2, sampling);
    expect(two.map((group) => group.map((sample) => sample.tokens))).toEqual(
      one.map((group) => group.map((sample) => sample.tokens)),
    );
    const requests = one.flatMap((group, p) =>
      group.map((sample) => ({ prompt: prompts[p]!, tokens: sample.tokens })),
    );
    for (const which of ['current', 'reference'] as const) {
      const expected = (await single.score(requests, which, 1)).flat();
      const scored = (await parallel.score(requests, which, 1)).flat();
      expect(scored).toHaveLength(expected.length);
      scored.forEach((value, i) => {
        expect(Math.abs(value - expected[i]!)).toBeLessThan(1e-5);
      });
    }
  });

  it('trainStep and supervisedStep sum the shares gradients: the same losses and weights as one thread (1e-5)', async () => {
    const { single, parallel } = await pair();
    const prompts = [...(await testPrompts()), ...(await testPrompts())];
    const examples = prompts.map((prompt, i) => ({
      prompt,
      tokens: single.encode(`answer ${i}${'!'.repeat(i)}`),
    }));
    let tensors = 0;
    for (let step = 0; step < 3; step++) {
      const one = await single.supervisedStep(examples, { learningRate: 3e-3 });
      const two = await parallel.supervisedStep(examples, { learningRate: 3e-3 });
      // Received gradients are summed and disposed: no tensors left behind on the main thread.
      if (step === 1) tensors = tf.memory().numTensors;
      if (step === 2) expect(tf.memory().numTensors).toBe(tensors);
      expect(Math.abs(two.loss - one.loss) / one.loss).toBeLessThan(1e-5);
      expect(two.tokens).toBe(one.tokens);
      expect(Math.abs(two.gradNorm! - one.gradNorm!) / one.gradNorm!).toBeLessThan(1e-4);
    }
    expect(maxRelativeDifference(single, parallel)).toBeLessThan(1e-4);
    // The objective, token-mean (its normaliser spans the whole batch) with the KL term.
    const samples = await single.generate(prompts, 1, {
      temperature: 1,
      topP: 1,
      topK: 0,
      maxTokens: 6,
      seed: 3,
    });
    const sequences = samples.map((group, p) => ({
      prompt: prompts[p]!,
      tokens: group[0]!.tokens,
      oldLogProbs: group[0]!.logProbs.map((value) => value - 0.05),
      refLogProbs: group[0]!.logProbs.map((value) => value + 0.1),
      advantage: p % 2 === 0 ? 1 : -0.5,
      weight: 1 + p / 10,
      source: 'policy',
    }));
    const objective = {
      clipLow: 0.2,
      clipHigh: 0.28,
      beta: 0.04,
      aggregation: 'token-mean',
      maxCompletionLength: 6,
      learningRate: 1e-3,
    } satisfies ObjectiveSettings;
    const batch: TrainBatch = { sequences };
    const one = await single.trainStep(batch, objective, 1);
    const two = await parallel.trainStep(batch, objective, 1);
    expect(Math.abs(two.loss - one.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(one.loss)));
    expect(Math.abs(two.kl - one.kl)).toBeLessThan(1e-6);
    expect(two.clipFraction).toBeCloseTo(one.clipFraction, 10);
    expect(maxRelativeDifference(single, parallel)).toBeLessThan(1e-4);
    // Not vacuous: the steps moved the weights.
    const fresh = await smallPolicy({ seed: 11 });
    opened.push(fresh);
    expect(maxRelativeDifference(single, fresh)).toBeGreaterThan(1e-2);
  });

  it("a worker's error reaches the caller with its message, and the policy goes on working", async () => {
    const { single, parallel } = await pair();
    const prompts = await testPrompts();
    const fine = prompts.map((prompt) => ({ prompt, tokens: single.encode('ok') }));
    // The last request (the worker's share) is longer than the model's 256 positions.
    const requests = [...fine, { prompt: prompts[2]!, tokens: Array.from({ length: 300 }, () => 97) }];
    await expect(parallel.score(requests, 'current', 1)).rejects.toThrow(
      /policy worker 1 of 1: .*exceeds the model's 256 positions/,
    );
    const expected = (await single.score(fine, 'current', 1)).flat();
    (await parallel.score([...fine, ...fine], 'current', 1)).flat().forEach((value, i) => {
      expect(Math.abs(value - expected[i % expected.length]!)).toBeLessThan(1e-5);
    });
  });
});
