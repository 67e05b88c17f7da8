import { definePlugin, estimatorDiagnostics, specificationVersion } from '@ekipl/core';
import { densityOptionsSchema } from './density-options.js';
import { logImportanceWeights, logSumExp } from './importance-weights.js';

/**
 * Self-normalised importance sampling, Appendix A.2: the exact-is weights rescaled to sum to G within
 * the group, w~_i = G w_i / sum_j w_j, computed in log space. Only the part of the selection-conditioned
 * proposal's normaliser that is constant within a group cancels. If every weight is 0 (no action could
 * be weighted), all get 1. `maxWeight` truncates after normalising, and the rest are renormalised so the
 * group still sums to G (`capWeights`). Ablation (C) of Appendix A.7.
 */
export const snis = definePlugin({
  kind: 'estimator',
  name: 'snis',
  description: 'exact-is weights self-normalised to sum to G within each group',
  options: densityOptionsSchema,
  create: (options, context) => ({
    specificationVersion,
    name: context.name,
    weights(group) {
      const { logWeights, fallbacksOwn, fallbacksCross } = logImportanceWeights(group, options);
      const size = group.actions.length;
      const logTotal = logSumExp(logWeights);
      const normalised =
        logTotal === Number.NEGATIVE_INFINITY
          ? logWeights.map(() => 0)
          : logWeights.map((logWeight) => Math.log(size) + logWeight - logTotal);
      const weights =
        options.maxWeight === undefined
          ? normalised.map(Math.exp)
          : capWeights(normalised.map(Math.exp), options.maxWeight);
      return {
        weights,
        // Log weights stay finite where a weight underflowed to 0 (the diagnostics' log-weight range).
        diagnostics: estimatorDiagnostics(
          weights,
          weights.map((weight, i) => (weight > 0 ? Math.log(weight) : normalised[i]!)),
          {
            own: fallbacksOwn,
            cross: fallbacksCross,
          },
        ),
      };
    },
  }),
});

/**
 * Weights truncated at `cap` with their total kept: capped weights hold the cap, the others share what
 * is left in proportion, repeated until none exceeds the cap (water-filling). With cap < 1 the total
 * cannot be kept (G weights of at most cap sum to less than G): every positive weight gets the cap.
 */
export function capWeights(weights: readonly number[], cap: number): number[] {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const result = weights.slice();
  const capped = new Set<number>();
  for (;;) {
    const free = result.map((_, i) => i).filter((i) => !capped.has(i));
    const freeMass = free.reduce((sum, i) => sum + weights[i]!, 0);
    const left = total - capped.size * cap;
    if (freeMass <= 0 || left <= 0) {
      return result.map((weight, i) => (capped.has(i) || (left <= 0 && weight > 0) ? cap : weight));
    }
    let changed = false;
    for (const i of free) {
      result[i] = (weights[i]! * left) / freeMass;
      if (result[i]! > cap) {
        capped.add(i);
        changed = true;
      }
    }
    if (!changed) return result.map((weight, i) => (capped.has(i) ? cap : weight));
  }
}
