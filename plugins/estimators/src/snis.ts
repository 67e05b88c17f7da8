import { definePlugin, estimatorDiagnostics, specificationVersion } from '@ekipl/core';
import { densityOptionsSchema } from './density-options.js';
import { logImportanceWeights, logSumExp } from './importance-weights.js';

/**
 * Self-normalised importance sampling, Appendix A.2: the exact-is weights rescaled to sum to G within
 * the group, w~_i = G w_i / sum_j w_j, computed in log space. The unknown normaliser of the
 * selection-conditioned proposal cancels. If every weight is 0 (no action could be weighted), all
 * get 1. Ablation (C) of Appendix A.7.
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
      const weights = normalised.map(Math.exp);
      return {
        weights,
        diagnostics: estimatorDiagnostics(weights, normalised, { own: fallbacksOwn, cross: fallbacksCross }),
      };
    },
  }),
});
