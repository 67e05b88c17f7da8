import { describe, expect, it } from 'vitest';
import type { PolicyBackend, PolicySnapshot, ScoreWeights, TrainStepResult } from '../src/index.js';
import { delegatingPolicy, specificationVersion } from '../src/index.js';

/** A backend whose "weights" are one number: scores are that number; it records what it was asked. */
function backend(name: string, weights: { current: number; reference?: number }) {
  const calls: string[] = [];
  const policy: PolicyBackend & { calls: string[]; weights: typeof weights } = {
    specificationVersion,
    name,
    capabilities: { train: true },
    calls,
    weights,
    async generate(prompts, n) {
      calls.push('generate');
      return prompts.map(() =>
        Array.from({ length: n }, () => ({
          tokens: [weights.current],
          text: `${weights.current}`,
          logProbs: [0],
        })),
      );
    },
    async score(requests, which: ScoreWeights) {
      calls.push(`score ${which}`);
      const value = which === 'current' ? weights.current : (weights.reference ?? weights.current);
      return requests.map(() => [value]);
    },
    encode: () => [],
    decode: () => '',
    snapshot(which: ScoreWeights = 'current'): PolicySnapshot {
      weights.reference ??= weights.current; // kept from the first time it is needed
      return {
        format: 'number/1',
        settings: {},
        tensors: new Map([
          [
            'w',
            { data: Float32Array.of(which === 'current' ? weights.current : weights.reference), shape: [1] },
          ],
        ]),
      };
    },
    async restore(snapshot) {
      calls.push('restore');
      weights.current = snapshot.tensors.get('w')!.data[0]!;
    },
    async trainStep() {
      weights.current += 1;
      return {} as TrainStepResult; // what a step reports does not matter here
    },
    async load() {
      weights.current = 10;
      weights.reference = 7; // what the checkpoint stored
    },
    async resetOptimizer() {
      calls.push('resetOptimizer');
    },
  };
  return policy;
}

const request = [{ prompt: { system: '', user: 'q', images: [] }, tokens: [1] }];
const sampling = { temperature: 1, topP: 1, topK: 0, maxTokens: 4, seed: 1 };

describe('delegatingPolicy', () => {
  it('the rollout samples with the trainer weights, synced once per update, and scores them until the next', async () => {
    const trainer = backend('trainer', { current: 1 });
    const rollout = backend('rollout', { current: 0 });
    const policy = delegatingPolicy(trainer, { rollout });
    // Before any sync the trainer scores (the rollout holds other weights).
    expect(await policy.score(request, 'current', 1)).toEqual([[1]]);
    expect((await policy.generate([request[0]!.prompt], 1, sampling))[0]![0]!.text).toBe('1');
    await policy.generate([request[0]!.prompt], 1, sampling);
    expect(rollout.calls.filter((call) => call === 'restore')).toHaveLength(1); // one sync, not two
    expect(await policy.score(request, 'current', 1)).toEqual([[1]]);
    expect(rollout.calls).toContain('score current');
    await policy.trainStep!({ sequences: [] } as never, {} as never, 1);
    // Stale after the update: the trainer scores its new weights until the next sync.
    const before = rollout.calls.length;
    expect(await policy.score(request, 'current', 1)).toEqual([[2]]);
    expect(rollout.calls).toHaveLength(before);
    expect((await policy.generate([request[0]!.prompt], 1, sampling))[0]![0]!.text).toBe('2');
    expect(policy.takeSyncSeconds()).toBeGreaterThan(0);
  });

  it('the reference backend takes the starting weights at the first reference scoring, and again after load', async () => {
    const trainer = backend('trainer', { current: 3 });
    const reference = backend('reference', { current: 0 });
    const policy = delegatingPolicy(trainer, { reference });
    expect(await policy.score(request, 'reference', 1)).toEqual([[3]]);
    await policy.trainStep!({ sequences: [] } as never, {} as never, 1);
    expect(await policy.score(request, 'reference', 1)).toEqual([[3]]); // still the anchor
    expect(await policy.score(request, 'current', 1)).toEqual([[4]]);
    await policy.load!('checkpoint');
    expect(await policy.score(request, 'reference', 1)).toEqual([[7]]); // the checkpoint's anchor
  });

  it("forgets the trainer's optimiser state when asked (a run's RL phase begins)", async () => {
    const trainer = backend('trainer', { current: 1 });
    const policy = delegatingPolicy(trainer, { rollout: backend('rollout', { current: 0 }) });
    await policy.resetOptimizer!();
    expect(trainer.calls).toEqual(['resetOptimizer']);
  });

  it('refuses a role whose backend cannot take over a model', () => {
    const trainer = backend('trainer', { current: 1 });
    const { restore: _, ...fixed } = backend('fixed', { current: 1 });
    expect(() => delegatingPolicy(trainer, { reference: fixed as PolicyBackend })).toThrow(
      'reference: "fixed" cannot take over a model (no restore)',
    );
  });
});
