import { definePlugin, type EstimatorGroup, estimatorDiagnostics, z } from '@ekipl/core';

/**
 * Truncated importance sampling (Ionides, "Truncated importance sampling", Journal of Computational
 * and Graphical Statistics 17(2), 2008) over the mixture proposal of an EKIPL group:
 *
 *   w_i = pi_old(o_i) / mu(o_i),   mu = sum_k alpha_k q_k,
 *   w'_i = min(w_i, mean(w) x G^exponent)          (Ionides: exponent 1/2),
 *
 * then, by default, rescaled to sum to G like snis. Truncating at a multiple of the group's own mean
 * bounds the variance a single action's weight can bring while keeping the bias O(G^-1/2); the cap
 * adapts to the group instead of being a fixed number.
 */
export default definePlugin({
  kind: 'estimator',
  name: 'tis',
  description: 'truncated importance sampling (Ionides 2008): weights capped at mean x G^exponent',
  options: z.strictObject({
    exponent: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe('The cap is mean(w) x G^exponent; 1/2 is the rate Ionides proves optimal.'),
    selfNormalise: z
      .boolean()
      .default(true)
      .describe('Rescale the truncated weights to sum to the group size.'),
    missingOwnLogProbPerToken: z
      .number()
      .max(0)
      .default(0)
      .describe(
        "log q per token for a source that did not report its own sample's density (API models); 0 is probability 1, as LUFFY assumes.",
      ),
  }),
  create: (options, context) => ({
    specificationVersion: 'v1',
    name: context.name,
    weights(group: EstimatorGroup) {
      let fallbacksOwn = 0;
      let fallbacksCross = 0;
      const sources = Object.entries(group.mixture).filter(([, alpha]) => alpha > 0);
      const logWeights = group.actions.map((action) => {
        const terms = sources.map(([source, alpha]) => {
          let logDensity: number;
          if (source === 'policy') logDensity = action.samplingLogProb ?? action.oldLogProb;
          else if (action.behaviorLogProbs?.[source] !== undefined)
            logDensity = action.behaviorLogProbs[source];
          else if (source === action.source) {
            fallbacksOwn++;
            logDensity = options.missingOwnLogProbPerToken * action.tokens;
          } else {
            // Another model that cannot score this text is taken never to produce it.
            fallbacksCross++;
            logDensity = Number.NEGATIVE_INFINITY;
          }
          return Math.log(alpha) + (Number.isNaN(logDensity) ? Number.NEGATIVE_INFINITY : logDensity);
        });
        const logMixture = logSumExp(terms);
        return logMixture === Number.NEGATIVE_INFINITY || !Number.isFinite(action.oldLogProb)
          ? Number.NEGATIVE_INFINITY
          : action.oldLogProb - logMixture;
      });

      const size = logWeights.length;
      const logTotal = logSumExp(logWeights);
      if (size === 0 || logTotal === Number.NEGATIVE_INFINITY) {
        // Nothing could be weighted: every action counts once.
        const ones = logWeights.map(() => 1);
        return {
          weights: ones,
          diagnostics: estimatorDiagnostics(ones, undefined, { own: fallbacksOwn, cross: fallbacksCross }),
        };
      }
      const logCap = logTotal - Math.log(size) + options.exponent * Math.log(size);
      const truncated = logWeights.map((logWeight) => Math.min(logWeight, logCap));
      const logScale = options.selfNormalise ? Math.log(size) - logSumExp(truncated) : 0;
      const finalLogWeights = truncated.map((logWeight) => logWeight + logScale);
      const weights = finalLogWeights.map((logWeight) => Math.min(Math.exp(logWeight), Number.MAX_VALUE));
      return {
        weights,
        diagnostics: estimatorDiagnostics(
          weights,
          // Keep the diagnostics' log range finite where an action could not be weighted.
          finalLogWeights.map((logWeight) =>
            Number.isFinite(logWeight) ? logWeight : logCap + logScale - 745,
          ),
          { own: fallbacksOwn, cross: fallbacksCross },
        ),
      };
    },
  }),
});

/** log(sum exp(values)); -Infinity for no values or all -Infinity. */
function logSumExp(values: readonly number[]): number {
  const max = Math.max(...values);
  if (max === Number.NEGATIVE_INFINITY || values.length === 0) return Number.NEGATIVE_INFINITY;
  return max + Math.log(values.reduce((sum, value) => sum + Math.exp(value - max), 0));
}
