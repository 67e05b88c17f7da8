import { type Estimator, type EstimatorGroup, Random } from '@ekipl/core';
import { ConformanceError } from './conformance-error.js';

/**
 * Invariants every estimator keeps, on random groups and on the edge cases the contract names
 * (log-probs of -300 and -3000, a group of one, a source with alpha 0, densities nobody reported):
 * one finite, non-negative weight per action; finite diagnostics with 0 <= ESS <= group size; the same
 * input gives the same output; the input is not modified. Throws a ConformanceError listing failures.
 */
export async function estimatorConformance(
  estimator: Estimator,
  options: { seed?: number; trials?: number } = {},
) {
  const random = Random.fromSeed(options.seed ?? 1).split('estimator-conformance');
  const groups: { name: string; group: EstimatorGroup }[] = [
    ...edgeCases(),
    ...Array.from({ length: options.trials ?? 50 }, (_, i) => ({
      name: `random group ${i}`,
      group: randomGroup(random),
    })),
  ];
  const failures: string[] = [];
  for (const { name, group } of groups) {
    const before = JSON.stringify(group);
    let result: ReturnType<Estimator['weights']>;
    try {
      result = estimator.weights(group);
    } catch (error) {
      failures.push(`${name}: threw ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    const { weights, diagnostics } = result;
    if (weights.length !== group.actions.length) {
      failures.push(`${name}: ${weights.length} weights for ${group.actions.length} actions`);
    }
    if (weights.some((weight) => !Number.isFinite(weight) || weight < 0)) {
      failures.push(`${name}: weights must be finite and >= 0, got [${weights.join(', ')}]`);
    }
    for (const [key, value] of Object.entries(diagnostics)) {
      if (typeof value !== 'number' || !Number.isFinite(value))
        failures.push(`${name}: diagnostics.${key} = ${value}`);
    }
    if (diagnostics.ess_mean < 0 || diagnostics.ess_mean > group.actions.length + 1e-9) {
      failures.push(`${name}: ESS ${diagnostics.ess_mean} outside [0, ${group.actions.length}]`);
    }
    if (JSON.stringify(group) !== before) failures.push(`${name}: modified its input`);
    if (JSON.stringify(estimator.weights(group)) !== JSON.stringify(result)) {
      failures.push(`${name}: a second call on the same group gave another result`);
    }
  }
  if (failures.length > 0) {
    throw new ConformanceError(
      `estimator "${estimator.name}" broke its contract:\n  ${failures.join('\n  ')}`,
    );
  }
}

function edgeCases(): { name: string; group: EstimatorGroup }[] {
  return [
    {
      name: 'log-probs of -3000 and -300',
      group: {
        mixture: { policy: 0.5, aux: 0.5 },
        actions: [
          { source: 'policy', oldLogProb: -3000, tokens: 400, behaviorLogProbs: { aux: -300 } },
          { source: 'aux', oldLogProb: -300, tokens: 400, behaviorLogProbs: { aux: -3000 } },
        ],
      },
    },
    {
      name: 'a group of one',
      group: {
        mixture: { policy: 0.75, aux: 0.25 },
        actions: [{ source: 'aux', oldLogProb: -12, tokens: 6 }],
      },
    },
    {
      name: 'a source with alpha 0',
      group: {
        mixture: { policy: 1, aux: 0 },
        actions: [
          { source: 'policy', oldLogProb: -5, tokens: 3 },
          { source: 'policy', oldLogProb: -9, tokens: 5, behaviorLogProbs: { aux: -1 } },
        ],
      },
    },
    {
      name: 'no densities reported at all',
      group: {
        mixture: { policy: 0.4, a: 0.3, b: 0.3 },
        actions: [
          { source: 'a', oldLogProb: -40, tokens: 20 },
          { source: 'b', oldLogProb: -60, tokens: 30 },
          { source: 'policy', oldLogProb: -10, tokens: 8 },
        ],
      },
    },
    {
      name: 'every weight underflows',
      group: {
        mixture: { policy: 0.5, aux: 0.5 },
        actions: [
          { source: 'aux', oldLogProb: -2000, tokens: 300, behaviorLogProbs: { aux: -1 } },
          { source: 'aux', oldLogProb: -2500, tokens: 300, behaviorLogProbs: { aux: -2 } },
        ],
      },
    },
    { name: 'an empty group', group: { mixture: { policy: 1 }, actions: [] } },
  ];
}

function randomGroup(random: Random): EstimatorGroup {
  const sources = ['policy', 'a', 'b'];
  const share = random.float();
  const size = 1 + random.int(10);
  return {
    mixture: { policy: 0.2 + 0.6 * share, a: (0.8 - 0.6 * share) / 2, b: (0.8 - 0.6 * share) / 2 },
    actions: Array.from({ length: size }, () => {
      const source = random.pick(sources);
      const behaviorLogProbs: Record<string, number> = {};
      for (const other of ['a', 'b'])
        if (random.float() < 0.5) behaviorLogProbs[other] = -400 * random.float();
      return { source, oldLogProb: -400 * random.float(), tokens: 1 + random.int(200), behaviorLogProbs };
    }),
  };
}
