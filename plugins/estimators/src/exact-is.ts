import { definePlugin, estimatorDiagnostics, specificationVersion } from '@ekipl/core';
import { densityOptionsSchema } from './density-options.js';
import { logImportanceWeights } from './importance-weights.js';

/** w_i = pi_old(o_i) / mu(o_i) against the pool's mixture proposal. Ablation (B) of Appendix A.7. */
export const exactIs = definePlugin({
  kind: 'estimator',
  name: 'exact-is',
  description: 'w = pi_old / mixture proposal (Appendix A.5), with documented density fallbacks',
  options: densityOptionsSchema,
  create: (options, context) => ({
    specificationVersion,
    name: context.name,
    weights(group) {
      const { logWeights, fallbacksOwn, fallbacksCross } = logImportanceWeights(group, options);
      const weights = logWeights.map(Math.exp);
      return {
        weights,
        diagnostics: estimatorDiagnostics(weights, logWeights, { own: fallbacksOwn, cross: fallbacksCross }),
      };
    },
  }),
});
