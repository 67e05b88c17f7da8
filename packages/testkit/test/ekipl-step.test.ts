import {
  type EkiplComponents,
  type EkiplStepSettings,
  ekiplStep,
  Random,
  reasonRftPromptTemplate,
  type Task,
} from '@ekipl/core';
import { describe, expect, it } from 'vitest';
import {
  createFakeEstimator,
  createFakePolicy,
  createFakeSampler,
  createFakeTask,
  createUnitEstimator,
  EventLog,
  exactAnswerReward,
  stableTopSelector,
} from '../src/index.js';

const settings: EkiplStepSettings = {
  groupSize: 4,
  objective: {
    clipLow: 0.2,
    clipHigh: 0.2,
    beta: 0,
    aggregation: 'sequence-mean',
    maxCompletionLength: 32,
    learningRate: 0.01,
  },
  sampling: { temperature: 0.9, topP: 1, topK: 0, maxTokens: 32 },
  advantage: { baseline: 'selected', scaleByStd: true },
  numIterations: 1,
};

const tasks: Task[] = [createFakeTask('a', '3'), createFakeTask('b', '5')];

/** Policy answers: task a -> 3 1 2 3 (rewards 1 0 0 1); task b -> 0 0 0 0 (all wrong). */
const policyScript = (prompt: { user: string }, sampleIndex: number) =>
  prompt.user.includes('scene a') ? ['3', '1', '2', '3'][sampleIndex]! : '0';

function components(
  overrides: Partial<EkiplComponents> = {},
): EkiplComponents & { policy: ReturnType<typeof createFakePolicy> } {
  const policy = createFakePolicy({ script: policyScript, seed: 5 });
  return {
    policy,
    auxiliary: [
      {
        name: 'expert',
        sampler: createFakeSampler({ name: 'expert', answer: (request) => request.task.answer }),
        samples: 2,
      },
      { name: 'novice', sampler: createFakeSampler({ name: 'novice', answer: () => 'x' }), samples: 2 },
    ],
    rewards: [{ name: 'exact', reward: exactAnswerReward, weight: 1 }],
    selector: stableTopSelector,
    estimator: createUnitEstimator(),
    renderPrompt: reasonRftPromptTemplate,
    ...overrides,
  } as EkiplComponents & { policy: ReturnType<typeof createFakePolicy> };
}

describe('ekiplStep with scripted rewards', () => {
  // Pools (policy 0-3, expert 4-5, novice 6-7):
  //   a: rewards 1 0 0 1 | 1 1 | 0 0 -> top-4 by reward, ties to the earlier index: 0 3 4 5, all reward 1
  //   b: rewards 0 0 0 0 | 1 1 | 0 0 -> 4 5 0 1, rewards 1 1 0 0
  it('selects the top-G group, computes advantages, zero-advantage fraction and source shares', async () => {
    const parts = components();
    const result = await ekiplStep(parts, settings, tasks, Random.fromSeed(1));
    const [a, b] = result.groups;
    expect(a!.selected.map((action) => action.index)).toEqual([0, 3, 4, 5]);
    expect(b!.selected.map((action) => action.index)).toEqual([4, 5, 0, 1]);
    expect(a!.selected.map((action) => action.advantage)).toEqual([0, 0, 0, 0]);
    // mean 0.5, sample std sqrt(1/3) = 0.5773502691896257: A = +-0.5 / (0.5773502691896257 + 1e-4)
    const advantagesB = b!.selected.map((action) => action.advantage);
    expect(advantagesB[0]).toBeCloseTo(0.8658754297607016, 12);
    expect(advantagesB[1]).toBeCloseTo(0.8658754297607016, 12);
    expect(advantagesB[2]).toBeCloseTo(-0.8658754297607016, 12);
    expect(advantagesB[3]).toBeCloseTo(-0.8658754297607016, 12);

    expect(result.metrics['groups/zero_advantage_fraction']).toBe(0.5);
    // Selected: a = policy, policy, expert, expert; b = expert, expert, policy, policy.
    expect(result.metrics['source/policy/selected_share']).toBe(0.5);
    expect(result.metrics['source/expert/selected_share']).toBe(0.5);
    expect(result.metrics['source/novice/selected_share']).toBe(0);
    // The policy's own reward: (1 + 0 + 0 + 1 + 0 + 0 + 0 + 0) / 8.
    expect(result.metrics['reward/mean']).toBe(0.25);
    expect(result.metrics['reward/exact']).toBe(0.25);
    expect(result.metrics['pool/reward_mean']).toBe(6 / 16);
    expect(result.metrics['selected/reward_mean']).toBe(6 / 8);
    expect(result.metrics['aux/expert/received']).toBe(4);
    expect(result.metrics['source/expert/reward_mean']).toBe(1);
  });

  it('tokenises and scores only the selected auxiliary actions, under the current weights', async () => {
    const parts = components();
    await ekiplStep(parts, settings, tasks, Random.fromSeed(1));
    const { scoreCalls } = parts.policy;
    expect(scoreCalls).toHaveLength(1); // beta = 0: no reference scoring
    expect(scoreCalls[0]!.which).toBe('current');
    // The expert's four answers were selected; the novice's "x" never is.
    expect(scoreCalls[0]!.tokens.map((tokens) => parts.policy.decode(tokens))).toEqual(['3', '3', '5', '5']);
  });

  it("beta > 0: reference log-probs (the KL term) for the policy's own samples only, by default", async () => {
    const parts = components();
    const withKl = { ...settings, objective: { ...settings.objective, beta: 0.04 } };
    const result = await ekiplStep(parts, withKl, tasks, Random.fromSeed(1));
    // Selected: a = policy, policy, expert, expert; b = expert, expert, policy, policy.
    expect(parts.policy.scoreCalls.map((call) => [call.which, call.tokens.length])).toEqual([
      ['current', 4],
      ['reference', 4],
    ]);
    const batch = parts.policy.trainBatches[0]!;
    for (const sequence of batch.sequences) {
      if (sequence.source === 'policy') expect(sequence.refLogProbs).toHaveLength(sequence.tokens.length);
      else expect(sequence.refLogProbs).toBeUndefined();
    }
    expect(result.metrics['train/kl']).toBe(0); // nothing trained yet: current = reference
  });

  it('logs the gradient norm and the norm of the change to the weights the backend reports', async () => {
    const parts = components();
    const result = await ekiplStep(parts, settings, tasks, Random.fromSeed(1));
    const gradNorm = result.metrics['train/grad_norm']!;
    expect(gradNorm).toBeGreaterThan(0);
    // The fake policy descends the plain gradient: the change is the rate times the gradient.
    expect(result.metrics['train/update_norm']).toBeCloseTo(settings.objective.learningRate * gradNorm, 12);
  });

  it("klOn: all scores every selected sequence under the reference weights (before 0.2's default)", async () => {
    const parts = components();
    const withKl = {
      ...settings,
      objective: { ...settings.objective, beta: 0.04 },
      offPolicy: { klOn: 'all', negatives: 'keep' } as const,
    };
    await ekiplStep(parts, withKl, tasks, Random.fromSeed(1));
    expect(parts.policy.scoreCalls.map((call) => [call.which, call.tokens.length])).toEqual([
      ['current', 4],
      ['reference', 8],
    ]);
    const batch = parts.policy.trainBatches[0]!;
    expect(batch.sequences.every((sequence) => sequence.refLogProbs?.length === sequence.tokens.length)).toBe(
      true,
    );
  });

  it('refuses settings that need an objective feature the policy does not declare', async () => {
    const policy = createFakePolicy({ script: policyScript });
    Object.assign(policy, { capabilities: { train: true } });
    const withKl = { ...settings, objective: { ...settings.objective, beta: 0.04 } };
    await expect(ekiplStep(components({ policy }), withKl, tasks, Random.fromSeed(1))).rejects.toThrow(
      /does not implement the objective feature\(s\) kl-per-sequence/,
    );
  });

  it('drops external texts longer than maxCompletionLength before rewards and selection (issue 10, item 1)', async () => {
    // The expert's right answer padded past 8 tokens: before, it won the selection and was trained as
    // a cut prefix with the full text's reward.
    const verbose = createFakeSampler({
      name: 'verbose',
      answer: (request) => `${request.task.answer} because I counted them all`,
    });
    const estimator = createUnitEstimator();
    const parts = components({ estimator, auxiliary: [{ name: 'verbose', sampler: verbose, samples: 2 }] });
    const short = { ...settings, objective: { ...settings.objective, maxCompletionLength: 8 } };
    const result = await ekiplStep(parts, short, tasks, Random.fromSeed(1));
    expect(result.metrics['pool/dropped_overlength']).toBe(4);
    expect(result.metrics['aux/verbose/dropped_overlength']).toBe(4);
    expect(result.metrics['aux/verbose/received']).toBe(4);
    for (const group of result.groups) {
      expect(group.candidates.every((action) => action.source === 'policy')).toBe(true);
    }
    expect(estimator.groups[0]!.mixture).toEqual({ policy: 1 });
    const trained = parts.policy.trainBatches[0]!.sequences;
    expect(trained.every((sequence) => sequence.tokens.length <= 8)).toBe(true);
  });

  it("drops external texts longer than the policy's completionRoom after the prompt", async () => {
    const policy = createFakePolicy({ script: policyScript, seed: 5 });
    Object.assign(policy, { completionRoom: () => 1 }); // only the end-of-sequence token fits
    const result = await ekiplStep(components({ policy }), settings, tasks, Random.fromSeed(1));
    // Every expert ("3", "5") and novice ("x") text is 2 tokens.
    expect(result.metrics['pool/dropped_overlength']).toBe(8);
  });

  it('scores an external text under pi_old even when its sampler returned tokens and log-probs (issue 10, item 5)', async () => {
    const confident = createFakeSampler({
      name: 'confident',
      answer: (request) => ({ text: request.task.answer, tokens: [999], oldLogProbs: [0] }),
    });
    const parts = components({ auxiliary: [{ name: 'confident', sampler: confident, samples: 2 }] });
    const result = await ekiplStep(parts, settings, tasks, Random.fromSeed(1));
    expect(parts.policy.scoreCalls[0]!.tokens.map((tokens) => parts.policy.decode(tokens))).toEqual([
      '3',
      '3',
      '5',
      '5',
    ]);
    const external = result.groups[0]!.selected.find((action) => action.source === 'confident')!;
    expect(external.tokens).toEqual(parts.policy.encode('3'));
    expect(external.oldLogProbs).toHaveLength(2);
    expect(external.oldLogProbs![0]).toBeLessThan(0);
  });

  it('negative advantages on external texts are masked by default, kept on request (issue 10, item 7)', async () => {
    // A selector that keeps the expert's right answers (reward 1) and the novice's wrong ones (0).
    const byIndex = {
      ...stableTopSelector,
      name: 'by-index',
      select: (candidates: readonly { index: number }[]) =>
        [4, 5, 6, 7].map((index) => candidates.find((candidate) => candidate.index === index)!),
    } as unknown as typeof stableTopSelector;
    const parts = components({ selector: byIndex });
    const result = await ekiplStep(parts, settings, tasks, Random.fromSeed(1)); // the default: mask
    const group = result.groups[1]!;
    expect(group.selected.map((action) => action.source)).toEqual(['expert', 'expert', 'novice', 'novice']);
    // The group's advantages are unchanged (the novice's still count in the baseline) ...
    expect(group.selected[0]!.advantage).toBeCloseTo(0.8658754297607016, 12);
    expect(group.selected[2]!.advantage).toBeCloseTo(-0.8658754297607016, 12);
    // ... but the update trains the novice's texts with advantage 0.
    const trained = parts.policy.trainBatches[0]!.sequences.map((sequence) => sequence.advantage);
    expect(trained.slice(4)).toEqual([group.selected[0]!.advantage, group.selected[1]!.advantage, 0, 0]);
    expect(result.metrics['selected/masked_negatives']).toBe(4);
    const kept = components({ selector: byIndex });
    const keep = { ...settings, offPolicy: { klOn: 'policy', negatives: 'keep' } as const };
    const keptResult = await ekiplStep(kept, keep, tasks, Random.fromSeed(1));
    expect(kept.policy.trainBatches[0]!.sequences[6]!.advantage).toBeCloseTo(-0.8658754297607016, 12);
    expect(keptResult.metrics['selected/masked_negatives']).toBe(0);
  });

  it("CHORD's mu follows its linear schedule over steps and reaches trainStep", async () => {
    const schedule = {
      ...settings,
      offPolicy: { klOn: 'policy', negatives: 'keep', supervised: { start: 0.5, end: 0.1, steps: 5 } },
    } as const;
    const weights: number[] = [];
    for (const step of [1, 3, 5, 9]) {
      const parts = components();
      const result = await ekiplStep(parts, schedule, tasks, Random.fromSeed(1), { step });
      weights.push(
        parts.policy.trainBatches.length > 0 ? result.metrics['train/supervised_weight']! : Number.NaN,
      );
    }
    // 0.5 -> 0.1 over steps 1..5: 0.5, 0.3, 0.1, then it stays at 0.1.
    expect(weights.map((weight) => Number(weight.toFixed(12)))).toEqual([0.5, 0.3, 0.1, 0.1]);
  });

  it("logs policy/entropy and gives the estimator the policy samples' sampling density", async () => {
    const estimator = createUnitEstimator();
    const policy = createFakePolicy({ script: policyScript, seed: 5 });
    const generate = policy.generate.bind(policy);
    // Pretend top-p cut half the mass at each token, and each token came from a distribution of entropy 0.5.
    Object.assign(policy, {
      generate: async (...args: Parameters<typeof generate>) =>
        (await generate(...args)).map((samples) =>
          samples.map((sample) => ({
            ...sample,
            samplingLogProbs: sample.logProbs.map((logProb) => logProb + Math.log(2)),
            entropies: sample.tokens.map(() => 0.5),
          })),
        ),
    });
    const result = await ekiplStep(components({ policy, estimator }), settings, tasks, Random.fromSeed(1));
    expect(result.metrics['policy/entropy']).toBe(0.5);
    const policyAction = estimator.groups[0]!.actions[0]!;
    expect(policyAction.source).toBe('policy');
    expect(policyAction.samplingLogProb).toBeCloseTo(
      policyAction.oldLogProb + policyAction.tokens * Math.log(2),
      12,
    );
    const external = estimator.groups[0]!.actions[2]!;
    expect(external.source).toBe('expert');
    expect(external.samplingLogProb).toBeUndefined();
  });

  it('gives the estimator each pool mixture and pi_old sequence densities', async () => {
    const estimator = createUnitEstimator();
    const parts = components({ estimator });
    const result = await ekiplStep(parts, settings, tasks, Random.fromSeed(1));
    expect(estimator.groups).toHaveLength(2);
    expect(estimator.groups[0]!.mixture).toEqual({ policy: 0.5, expert: 0.25, novice: 0.25 });
    const group = result.groups[1]!;
    const expertAction = group.selected[0]!;
    expect(estimator.groups[1]!.actions[0]).toEqual({
      source: 'expert',
      oldLogProb: expertAction.oldLogProbs!.reduce((sum, value) => sum + value, 0),
      tokens: 2, // "5" and end-of-sequence
      behaviorLogProbs: {},
    });
  });

  it('trains on the selected group with the estimator weights, mu times', async () => {
    const weights = createFakeEstimator('by-source', (group) =>
      group.actions.map((action) => (action.source === 'policy' ? 1 : 0.5)),
    );
    const parts = components({ estimator: weights });
    const result = await ekiplStep(parts, { ...settings, numIterations: 2 }, tasks, Random.fromSeed(1));
    expect(parts.policy.trainBatches).toHaveLength(2);
    const sequences = parts.policy.trainBatches[0]!.sequences;
    expect(sequences.map((sequence) => sequence.source)).toEqual([
      'policy',
      'policy',
      'expert',
      'expert',
      'expert',
      'expert',
      'policy',
      'policy',
    ]);
    expect(sequences.map((sequence) => sequence.weight)).toEqual([1, 1, 0.5, 0.5, 0.5, 0.5, 1, 1]);
    expect(sequences[4]!.advantage).toBeCloseTo(0.8658754297607016, 12);
    expect(result.train).toHaveLength(2);
    expect(result.metrics['estimator/weight_mean']).toBe(0.75);
    expect(result.metrics['estimator/ess_min']).toBe((4 * 4 * 0.75 ** 2) / (2 * 1 + 2 * 0.25));
    // One SGD step on a positive-advantage group lowers its loss: the second pass starts lower.
    expect(result.train[1]!.loss).toBeLessThan(result.train[0]!.loss);
  });
});

describe('ekiplStep sampling', () => {
  it('calls the auxiliary samplers concurrently with the policy (start/end order, not wall time)', async () => {
    const events = new EventLog();
    const policy = createFakePolicy({ script: policyScript, events, generateDelayMs: 30 });
    const slow = createFakeSampler({ name: 'slow', answer: () => '3', events, delayMs: 30 });
    await ekiplStep(
      components({ policy, auxiliary: [{ name: 'slow', sampler: slow, samples: 2 }] }),
      settings,
      tasks,
      Random.fromSeed(1),
    );
    const at = (event: string) => events.indexOf(event);
    // External calls start first, and both are running before either finishes.
    expect(at('slow.sample:start')).toBeLessThan(at('policy.generate:start'));
    expect(at('policy.generate:start')).toBeLessThan(at('slow.sample:end'));
    expect(at('slow.sample:start')).toBeLessThan(at('policy.generate:end'));
    expect(events.events).toHaveLength(4);
  });

  it('a failing sampler degrades the pool instead of failing the step', async () => {
    const broken = createFakeSampler({ name: 'broken', answer: () => '3', failWith: new Error('HTTP 503') });
    const estimator = createUnitEstimator();
    const parts = components({ estimator, auxiliary: [{ name: 'broken', sampler: broken, samples: 2 }] });
    const result = await ekiplStep(parts, settings, tasks, Random.fromSeed(1));
    expect(result.metrics['aux/broken/failed']).toBe(1);
    expect(result.metrics['aux/broken/received']).toBe(0);
    expect(result.warnings).toEqual([
      'auxiliary sampler "broken" failed, its actions are missing this step: HTTP 503',
    ]);
    expect(estimator.groups[0]!.mixture).toEqual({ policy: 1 });
    expect(result.groups[0]!.candidates).toHaveLength(4);
  });

  it('passes reported and scored densities to the estimator', async () => {
    const estimator = createUnitEstimator();
    const local = createFakeSampler({
      name: 'local',
      answer: (request) => ({ text: request.task.answer, behaviorLogProb: -2.5 }),
      score: (_, text) => -10 - text.length,
    });
    const parts = components({ estimator, auxiliary: [{ name: 'local', sampler: local, samples: 2 }] });
    await ekiplStep(parts, settings, tasks, Random.fromSeed(1));
    const actions = estimator.groups[1]!.actions;
    // Group b: local, local, policy, policy. Its own samples carry the reported density; the policy's
    // texts ("0") are scored by it: -10 - 1.
    expect(actions.map((action) => action.behaviorLogProbs)).toEqual([
      { local: -2.5 },
      { local: -2.5 },
      { local: -11 },
      { local: -11 },
    ]);
    expect(local.scoreCalls.every((text) => text === '0' || text === '3')).toBe(true);
  });

  it('the same seed reproduces the step; seeds reach samplers per step', async () => {
    const run = async (seed: number) => {
      const parts = components({ policy: createFakePolicy({ seed: 9 }) }); // unscripted: sampled tokens
      const result = await ekiplStep(parts, settings, tasks, Random.fromSeed(seed));
      return result.groups.map((group) => group.candidates.map((action) => action.text));
    };
    expect(await run(11)).toEqual(await run(11));
    expect(await run(11)).not.toEqual(await run(12));
  });

  it('rejects a selector that returns the wrong number of actions', async () => {
    const lazy = { ...stableTopSelector, name: 'lazy', select: () => [] };
    await expect(
      ekiplStep(components({ selector: lazy }), settings, tasks, Random.fromSeed(1)),
    ).rejects.toThrow(
      'selector "lazy" must return 4 distinct candidates of the 8 it was given, got 0 (0 distinct)',
    );
  });
});
