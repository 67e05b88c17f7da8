import { definePlugin, estimatorDiagnostics, specificationVersion } from '@ekipl/core';
import { densityOptionsSchema } from './density-options.js';
import { logImportanceWeights } from './importance-weights.js';

/**
 * w_i = pi_old(o_i) / mu(o_i) against the pool's mixture proposal. Ablation (B) of Appendix A.7.
 * Weights never exceed 1 / alpha_policy (mu >= alpha_policy pi_old when the policy's proposal density
 * is pi_old), so `maxWeight` above that changes nothing; it truncates w <= maxWeight.
 */
export const exactIs = definePlugin({
  kind: 'estimator',
  name: 'exact-is',
  description: 'w = pi_old / mixture proposal (Appendix A.5), with documented density fallbacks',
  options: densityOptionsSchema,
  create: (options, context) => ({
    specificationVersion,
    name: context.name,
    weights(group) {
      const { logWeights: raw, fallbacksOwn, fallbacksCross } = logImportanceWeights(group, options);
      const cap = options.maxWeight === undefined ? Number.POSITIVE_INFINITY : Math.log(options.maxWeight);
      const logWeights = raw.map((logWeight) => Math.min(logWeight, cap));
      const weights = logWeights.map(Math.exp);
      return {
        weights,
        diagnostics: estimatorDiagnostics(weights, logWeights, { own: fallbacksOwn, cross: fallbacksCross }),
      };
    },
  }),
});
