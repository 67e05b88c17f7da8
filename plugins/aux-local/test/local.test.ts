import { ConfigError, definePlugin, z } from '@ekipl/core';
import { createFakePolicy, createFakeTask, instantiatePlugin, samplerConformance } from '@ekipl/testkit';
import { describe, expect, it } from 'vitest';
import { local } from '../src/index.js';

// A policy plugin whose instance is testkit's fake (per-position logits over bytes, exact log-probs).
const created: ReturnType<typeof createFakePolicy>[] = [];
const fake = definePlugin({
  kind: 'policy',
  name: 'fake',
  options: z.strictObject({ seed: z.int().default(3) }),
  create: (options) => {
    // Scripted ASCII answers, so a text decodes and encodes back to the tokens that were drawn.
    const policy = createFakePolicy({
      seed: options.seed,
      positions: 4,
      initialScale: 2,
      script: (prompt, sample) => `${prompt.user.length % 3}${sample}`,
    });
    created.push(policy);
    return policy;
  },
});
const tasks = [createFakeTask('a', '1'), createFakeTask('b', '2')];
const requests = tasks.map((task) => ({ task, prompt: { system: '', user: task.question, images: [] } }));

describe('local (aux-local)', () => {
  it('answers with the model and reports the exact density of each answer, equal to its score', async () => {
    const { instance, warnings } = await instantiatePlugin(
      local,
      { policy: { use: 'fake', options: { seed: 5 } }, temperature: 0.7, maxTokens: 6 },
      { name: 'local-expert', plugins: [fake] },
    );
    expect(warnings).toEqual([]);
    const { actions } = await instance.sample(requests, 3, { seed: 11 });
    expect(actions.map((row) => row.length)).toEqual([3, 3]);
    const model = created.at(-1)!;
    for (const [r, row] of actions.entries()) {
      for (const action of row) {
        expect(action.source).toBe('local-expert');
        // The density it sampled with (no truncation): the model's own tempered log-probs, summed...
        const tokens = model.encode(action.text);
        const [logProbs] = await model.score([{ prompt: requests[r]!.prompt, tokens }], 'current', 0.7);
        const expected = logProbs!.reduce((a, b) => a + b, 0);
        expect(action.behaviorLogProb).toBeCloseTo(expected, 10);
        expect(action.behaviorLogProb!).toBeLessThan(0);
        // ...and score() of the same text gives it again, so a cross density is as exact as its own.
        if (tokens.at(-1) === 256)
          expect(await instance.score!(requests[r]!.prompt, action.text)).toBeCloseTo(expected, 10);
      }
    }
    // A text longer than it may write has density 0 under it.
    expect(await instance.score!(requests[0]!.prompt, 'far too long for six tokens')).toBe(
      Number.NEGATIVE_INFINITY,
    );
    await samplerConformance(instance, { tasks, n: 2 });
  });

  it('warns that truncated sampling makes the scores of other texts approximate', async () => {
    const { warnings } = await instantiatePlugin(
      local,
      { policy: { use: 'fake' }, topK: 5 },
      { plugins: [fake] },
    );
    expect(warnings).toEqual([
      'topP 1 / topK 5 truncate its sampling: its own answers keep their exact density, other texts are scored by the tempered density (an approximation)',
    ]);
  });

  it('reports a model it cannot create under its own option, and a host without createPlugin', async () => {
    const error = await instantiatePlugin(local, { policy: { use: 'nope' } }, { plugins: [fake] }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(
      'options.policy.use: no policy plugin "nope" among the test\'s plugins',
    );
    await expect(instantiatePlugin(local, { policy: { use: 'fake' } })).rejects.toThrow(
      /cannot create the expert model \(PluginContext.createPlugin is missing\)/,
    );
  });
});
