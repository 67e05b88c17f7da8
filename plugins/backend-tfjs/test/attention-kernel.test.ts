import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Random } from '@ekipl/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { kernelAttention, selectEngine, specialTokens } from '../src/index.js';
import { smallPolicy, testPrompts } from './helpers.js';

/** The attention kernel is checked against plain tfjs ops, which the tensorflow engine still uses. */
function referenceAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  valid: Float32Array,
  causal: boolean,
  scale: number,
): tf.Tensor {
  const [batch, , queries] = q.shape as number[];
  const keys = k.shape[2]!;
  const allowed = tf.buffer([batch!, 1, queries!, keys], 'float32');
  for (let b = 0; b < batch!; b++)
    for (let i = 0; i < queries!; i++)
      for (let j = 0; j < keys; j++) {
        const visible = valid[b * keys + j] === 1 && (!causal || j <= i + keys - queries!);
        allowed.set(visible ? 0 : -1e9, b, 0, i, j);
      }
  const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), scale), allowed.toTensor());
  return tf.matMul(tf.softmax(scores), v);
}

function randomTensor(shape: number[], random: Random): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: size }, () => random.normal()),
    shape,
  );
}

function maxDifference(a: tf.Tensor, b: tf.Tensor): number {
  return tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;
}

describe('SIMD attention kernel', () => {
  // Width 32 (the default heads) runs the kernel's register-blocked loops; 8 the generic ones.
  for (const [causal, width] of [
    [true, 8],
    [false, 8],
    [true, 32],
    [false, 32],
  ] as const) {
    it(`${causal ? 'causal' : 'bidirectional'}, head width ${width}, pad keys hidden: output and q / k / v gradients equal tfjs's (1e-5)`, async () => {
      await selectEngine('cpu');
      const random = Random.fromSeed(`attention-${causal}-${width}`);
      // 2 sequences x 3 heads, 5 queries over 7 keys (queries at positions 2..6).
      const q = randomTensor([2, 3, 5, width], random);
      const k = randomTensor([2, 3, 7, width], random);
      const v = randomTensor([2, 3, 7, width], random);
      const upstream = randomTensor([2, 3, 5, width], random);
      // Sequence 0 has pads at keys 0 and 3; sequence 1 has none.
      const valid = Float32Array.from([0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
      const options = { valid, causal, scale: 0.35 };
      const kernelOut = kernelAttention(q, k, v, options, false);
      const referenceOut = referenceAttention(q, k, v, valid, causal, 0.35);
      expect(maxDifference(kernelOut, referenceOut)).toBeLessThan(1e-5);
      const kernelGradients = tf.grads((a, b, c) =>
        tf.sum(tf.mul(kernelAttention(a, b, c, options, true), upstream)),
      )([q, k, v]);
      const referenceGradients = tf.grads((a, b, c) =>
        tf.sum(tf.mul(referenceAttention(a, b, c, valid, causal, 0.35), upstream)),
      )([q, k, v]);
      for (let i = 0; i < 3; i++) {
        expect(maxDifference(kernelGradients[i]!, referenceGradients[i]!)).toBeLessThan(1e-5);
        // Not vacuous: every gradient has mass.
        expect(tf.max(tf.abs(kernelGradients[i]!)).dataSync()[0]).toBeGreaterThan(0.01);
      }
      // A pad key gets no gradient and contributes nothing.
      const dk = kernelGradients[1]!.arraySync() as number[][][][];
      expect(dk[0]!.every((head) => head[0]!.every((value) => value === 0))).toBe(true);
    });
  }

  it('a query that sees no key outputs 0, not NaN', async () => {
    await selectEngine('cpu');
    const random = Random.fromSeed('no-keys');
    const q = randomTensor([1, 1, 2, 4], random);
    const k = randomTensor([1, 1, 2, 4], random);
    const v = randomTensor([1, 1, 2, 4], random);
    // Key 0 is a pad: causal query 0 sees nothing, query 1 sees key 1 alone and copies its value.
    const out = kernelAttention(q, k, v, { valid: Float32Array.from([0, 1]), causal: true, scale: 1 }, false);
    const values = out.arraySync() as number[][][][];
    expect(values[0]![0]![0]).toEqual([0, 0, 0, 0]);
    const second = (v.arraySync() as number[][][][])[0]![0]![1]!;
    values[0]![0]![1]!.forEach((value, c) => {
      expect(value).toBeCloseTo(second[c]!, 6);
    });
  });

  it('the whole model agrees with attention by tfjs ops: scores (1e-5), gradients (1e-4), samples and their log-probs', async () => {
    const prompts = await testPrompts(); // 1, 2 and 0 images: sequences of different lengths, with pads
    const kernel = await smallPolicy({ attention: 'kernel' });
    const plain = await smallPolicy({ attention: 'tfjs' });
    const sampling = { temperature: 0.9, topP: 1, topK: 0, maxTokens: 12, seed: 4 };
    const kernelSamples = await kernel.generate(prompts, 3, sampling);
    const plainSamples = await plain.generate(prompts, 3, sampling);
    expect(kernelSamples.map((group) => group.map((sample) => sample.tokens))).toEqual(
      plainSamples.map((group) => group.map((sample) => sample.tokens)),
    );
    kernelSamples.flat().forEach((sample, i) => {
      sample.logProbs.forEach((value, t) => {
        expect(Math.abs(value - plainSamples.flat()[i]!.logProbs[t]!)).toBeLessThan(1e-4);
      });
    });
    const requests = kernelSamples.flatMap((group, p) =>
      group.map((sample) => ({ prompt: prompts[p]!, tokens: sample.tokens })),
    );
    const kernelScores = await kernel.score(requests, 'current', 0.9);
    const plainScores = await plain.score(requests, 'current', 0.9);
    kernelScores.flat().forEach((value, i) => {
      expect(Math.abs(value - plainScores.flat()[i]!)).toBeLessThan(1e-5);
    });
    const examples = prompts.map((prompt, i) => ({ prompt, tokens: kernel.encode(`answer ${i}`) }));
    // variableGrads keys gradients by tfjs's global variable names: line them up by parameter.
    const kernelGradients = (await kernel.supervisedGradients(examples)).gradients;
    const plainGradients = (await plain.supervisedGradients(examples)).gradients;
    const plainParameters = [...plain.parameters.values()];
    let compared = 0;
    [...kernel.parameters.values()].forEach((parameter, i) => {
      const gradient = kernelGradients[parameter.name] ?? null;
      const other = plainGradients[plainParameters[i]!.name] ?? null;
      expect(gradient === null).toBe(other === null);
      if (gradient === null || other === null) return;
      compared++;
      const scale = tf.max(tf.abs(other)).dataSync()[0]!;
      expect(scale).toBeGreaterThan(0);
      expect(maxDifference(gradient, other) / scale).toBeLessThan(1e-4);
    });
    expect(compared).toBe(kernel.parameters.size);
    await kernel.dispose();
    await plain.dispose();
  });

  it('rows that finish early leave the kernel batch without changing the others (same samples as tfjs)', async () => {
    const prompts = await testPrompts();
    const kernel = await smallPolicy({ attention: 'kernel', seed: 5 });
    // Teach answers of different lengths, so samples stop (<eos>) at different steps.
    const answers = ['7', 'a longer answer here', 'mid one'];
    for (let step = 0; step < 60; step++) {
      await kernel.supervisedStep(
        prompts.map((prompt, i) => ({ prompt, tokens: kernel.encode(answers[i]!) })),
        { learningRate: 3e-3 },
      );
    }
    const directory = await mkdtemp(join(tmpdir(), 'ekipl-kernel-'));
    await kernel.save(directory);
    const plain = await smallPolicy({ attention: 'tfjs', seed: 5 });
    await plain.load(directory);
    await rm(directory, { recursive: true });
    const sampling = { temperature: 1, topP: 1, topK: 0, maxTokens: 24, seed: 2 };
    const kernelSamples = (await kernel.generate(prompts, 3, sampling)).flat();
    const plainSamples = (await plain.generate(prompts, 3, sampling)).flat();
    expect(kernelSamples.map((sample) => sample.tokens)).toEqual(plainSamples.map((sample) => sample.tokens));
    kernelSamples.forEach((sample, i) => {
      sample.logProbs.forEach((value, t) => {
        expect(Math.abs(value - plainSamples[i]!.logProbs[t]!)).toBeLessThan(1e-4);
      });
    });
    // Not vacuous: rows stopped at several different steps while others went on.
    const stopped = kernelSamples.filter((sample) => sample.tokens.at(-1) === specialTokens.eos);
    expect(new Set(stopped.map((sample) => sample.tokens.length)).size).toBeGreaterThanOrEqual(2);
    expect(Math.max(...kernelSamples.map((sample) => sample.tokens.length))).toBeGreaterThan(
      Math.min(...stopped.map((sample) => sample.tokens.length)),
    );
    await kernel.dispose();
    await plain.dispose();
  });
});
