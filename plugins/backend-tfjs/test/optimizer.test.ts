import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectEngine } from '../src/index.js';
import { AdamW, defaultOptimizerSettings } from '../src/optimizer.js';

beforeAll(async () => {
  await selectEngine('cpu');
});

function parameters(values: number[]): Map<string, tf.Variable> {
  return new Map([['w', tf.variable(tf.tensor1d(values), true, 'adamw-test-w')]]);
}

describe('AdamW', () => {
  it('reports the norm of the change it made: a full step of the rate per element, whatever the gradient size', () => {
    const learningRate = 0.01;
    const settings = { ...defaultOptimizerSettings, maxGradNorm: 0 };
    const weights = parameters([1, 1, 1]);
    const optimizer = new AdamW(settings);
    // First step: m_hat = g and v_hat = g^2, so each element moves by the rate times sign(g) (0 for g = 0):
    // a gradient of norm 2.2e-3 moves the weights as far as one of norm 2.2 would.
    const first = optimizer.apply(weights, { w: tf.tensor1d([1e-3, -2e-3, 0]) }, learningRate);
    expect(first.gradNorm).toBeCloseTo(Math.sqrt(5) * 1e-3, 8);
    expect(first.updateNorm).toBeCloseTo(learningRate * Math.sqrt(2), 6);
    expect(Array.from(weights.get('w')!.dataSync())).toEqual([
      expect.closeTo(0.99, 6),
      expect.closeTo(1.01, 6),
      expect.closeTo(1, 6),
    ]);
    // A zero gradient still moves them: m_hat = 0.09 g / 0.19, v_hat = 0.000999 g^2 / 0.001999, so each
    // element moves by the rate times 0.4737 / 0.7069 = 0.6701 (hand-worked).
    const second = optimizer.apply(weights, { w: tf.tensor1d([0, 0, 0]) }, learningRate);
    expect(second.gradNorm).toBe(0);
    const ratio = 0.09 / 0.19 / Math.sqrt(0.000999 / 0.001999);
    expect(ratio).toBeCloseTo(0.6701, 4);
    expect(second.updateNorm).toBeCloseTo(learningRate * ratio * Math.sqrt(2), 6);
    optimizer.dispose();
    for (const weight of weights.values()) weight.dispose();
  });

  it('counts decoupled weight decay in the change (matrices only) and leaves no tensors behind', () => {
    const settings = { ...defaultOptimizerSettings, maxGradNorm: 0, weightDecay: 0.5 };
    const matrix = new Map([['m', tf.variable(tf.tensor2d([[2, 0]]), true, 'adamw-test-m')]]);
    const optimizer = new AdamW(settings);
    const before = tf.memory().numTensors;
    // g = [0, 0]: the Adam part is 0, the decay is rate * 0.5 * [2, 0] = rate * [1, 0].
    const result = optimizer.apply(matrix, { m: tf.tensor2d([[0, 0]]) }, 0.1);
    expect(result.updateNorm).toBeCloseTo(0.1, 6);
    // The optimiser keeps its two moments; the gradient given is the caller's to dispose.
    expect(tf.memory().numTensors).toBe(before + 3);
    optimizer.dispose();
    for (const weight of matrix.values()) weight.dispose();
  });
});
