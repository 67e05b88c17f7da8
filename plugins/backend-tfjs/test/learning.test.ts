import { createPromptTemplate, ekiplStep, Random, type Task } from '@ekipl/core';
import { createFakeReward, createUnitEstimator, stableTopSelector } from '@ekipl/testkit';
import { describe, expect, it } from 'vitest';
import { squaresTask } from './counting-fixture.js';
import { smallPolicy } from './helpers.js';

describe('learning (small fixed budgets, loose bounds a broken gradient cannot pass)', () => {
  it('SFT on oracle-written counting answers lifts held-out accuracy from chance (1/3) to >= 0.7 in 200 steps', async () => {
    const policy = await smallPolicy({ seed: 7 });
    const random = Random.fromSeed('sft');
    const heldOut = await Promise.all(
      Array.from({ length: 60 }, (_, i) => squaresTask(Random.fromSeed('held-out').split(i))),
    );
    const accuracy = async () => {
      const samples = await policy.generate(
        heldOut.map((task) => task.prompt),
        1,
        { temperature: 1, topP: 1, topK: 1, maxTokens: 4, seed: 1 },
      );
      return (
        samples.filter((group, i) => group[0]!.text === String(heldOut[i]!.count)).length / heldOut.length
      );
    };
    const before = await accuracy();
    for (let step = 1; step <= 200; step++) {
      const tasks = await Promise.all(
        Array.from({ length: 16 }, (_, i) => squaresTask(random.split(step, i))),
      );
      // The oracle sees the squares and writes the count.
      await policy.supervisedStep(
        tasks.map((task) => ({ prompt: task.prompt, tokens: policy.encode(String(task.count)) })),
        { learningRate: 3e-3 },
      );
    }
    const after = await accuracy();
    expect(before).toBeLessThan(0.45);
    expect(after).toBeGreaterThanOrEqual(0.7);
  }, 120_000);

  it('pure RL (plain GRPO through ekiplStep) on "answer 7" raises the mean reward over 30 steps', async () => {
    const policy = await smallPolicy({ seed: 11 });
    // Dense and trivially learnable: the share of the answer's characters that are "7".
    const sevens = createFakeReward('sevens', (action) => {
      const characters = [...action.text];
      return characters.length === 0
        ? 0
        : characters.filter((character) => character === '7').length / characters.length;
    });
    const tasks: Task[] = ['a', 'b', 'c', 'd'].map((id) => ({
      id,
      family: 'counting',
      images: [],
      question: 'Say a number.',
      answer: '7',
      split: 'train',
    }));
    const components = {
      policy,
      auxiliary: [],
      rewards: [{ name: 'sevens', reward: sevens, weight: 1 }],
      selector: stableTopSelector,
      estimator: createUnitEstimator(),
      renderPrompt: createPromptTemplate({ templates: { default: '{question}' } }),
    };
    const settings = {
      groupSize: 8,
      objective: {
        clipLow: 0.2,
        clipHigh: 0.2,
        beta: 0,
        aggregation: 'token-mean' as const,
        maxCompletionLength: 6,
        learningRate: 2e-2,
      },
      sampling: { temperature: 1, topP: 1, topK: 0, maxTokens: 6 },
      advantage: { baseline: 'selected' as const, scaleByStd: true },
      numIterations: 1,
    };
    const rewards: number[] = [];
    for (let step = 0; step < 30; step++) {
      const result = await ekiplStep(components, settings, tasks, Random.fromSeed(3).split('step', step));
      rewards.push(result.metrics['reward/mean']!);
    }
    const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
    const first = mean(rewards.slice(0, 5));
    const last = mean(rewards.slice(-5));
    expect(last).toBeGreaterThan(0.1);
    expect(last).toBeGreaterThan(3 * first);
  }, 120_000);
});
