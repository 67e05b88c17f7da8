import { join } from 'node:path';
import {
  type AnyPluginDefinition,
  createComponents,
  ekiplStep,
  loadConfig,
  Random,
  reasonRftPromptTemplate,
  stepSettings,
} from '@ekipl/core';
import { createFakePolicy, createFakeSampler, createFakeTask } from '@ekipl/testkit';
import { describe, expect, it } from 'vitest';
import { builtinPlugins } from '../src/index.js';

const fixtures = join(import.meta.dirname, 'fixtures');

async function instance(name: string, options: Record<string, unknown> = {}) {
  const entry = builtinPlugins.find((plugin) => plugin.name === name)!;
  const plugin: AnyPluginDefinition = await entry.load();
  return plugin.create(plugin.options.parse(options), {
    name,
    random: Random.fromSeed(1).split(name),
    configDirectory: fixtures,
    warn: () => {},
  });
}

describe('one EKIPL step with the built-in selector, estimator and rewards', () => {
  it('top-k + snis + format/accuracy: an expert fills the group, weights sum to G, own-density fallbacks counted', async () => {
    const formatted = (answer: string) => `<think>Counting the objects.</think><answer>${answer}</answer>`;
    // The policy answers 2 (wrong, but well formatted) or rambles; the expert is always right and formatted.
    const policy = createFakePolicy({
      script: (_, i) => (i % 2 === 0 ? formatted('2') : 'I think 2'),
      seed: 3,
    });
    const expert = createFakeSampler({ name: 'expert', answer: (request) => formatted(request.task.answer) });
    const tasks = [createFakeTask('a', '3'), createFakeTask('b', '4')];
    const components = {
      policy,
      auxiliary: [{ name: 'expert', sampler: expert, samples: 2 }],
      rewards: [
        { name: 'format', reward: (await instance('format')) as never, weight: 1 },
        { name: 'accuracy', reward: (await instance('accuracy')) as never, weight: 1 },
      ],
      selector: (await instance('top-k', { ties: 'policy-first' })) as never,
      estimator: (await instance('snis')) as never,
      renderPrompt: reasonRftPromptTemplate,
    };
    const settings = {
      groupSize: 4,
      objective: {
        clipLow: 0.2,
        clipHigh: 0.2,
        beta: 0,
        aggregation: 'sequence-mean' as const,
        maxCompletionLength: 128,
        learningRate: 0.01,
      },
      sampling: { temperature: 0.9, topP: 1, topK: 0, maxTokens: 128 },
      advantage: { baseline: 'selected' as const, scaleByStd: true },
      numIterations: 1,
    };
    const result = await ekiplStep(components, settings, tasks, Random.fromSeed(7));
    // Pool per task: policy rewards 1 0 1 0 (format only), expert 2 2 -> top-4 = expert, expert, policy 0, policy 2.
    for (const group of result.groups) {
      expect(group.selected.map((action) => [action.source, action.reward])).toEqual([
        ['expert', 2],
        ['expert', 2],
        ['policy', 1],
        ['policy', 1],
      ]);
      expect(group.weights.reduce((sum, weight) => sum + weight, 0)).toBeCloseTo(4, 10);
    }
    expect(result.metrics['source/expert/selected_share']).toBe(0.5);
    expect(result.metrics['reward/accuracy']).toBe(0);
    expect(result.metrics['reward/format']).toBe(0.5);
    // The expert reports no density for its own texts: one own fallback per selected expert action.
    expect(result.metrics['estimator/fallbacks_own']).toBe(4);
    // ...and cannot score the policy's texts: one cross fallback per selected policy action.
    expect(result.metrics['estimator/fallbacks_cross']).toBe(4);
    expect(result.metrics['groups/zero_advantage_fraction']).toBe(0);
  });

  it('a config naming built-ins resolves, and createComponents builds every instance', async () => {
    const resolved = await loadConfig(join(fixtures, 'builtins.yaml'), { builtins: builtinPlugins });
    expect(resolved.plugins.estimator.options).toEqual({
      ownDensity: 'constant',
      ownLogProbPerToken: 0,
      crossDensity: 'policy',
      crossLogProbPerToken: 0,
    });
    expect(stepSettings(resolved.config).objective.clipHigh).toBe(0.28);
    const components = await createComponents(resolved, Random.fromSeed(1));
    expect(components.selector.name).toBe('replace-worst');
    expect(components.estimator.name).toBe('exact-is');
    expect(components.rewards.map(({ name }) => name)).toEqual(['format', 'accuracy']);
  });
});
