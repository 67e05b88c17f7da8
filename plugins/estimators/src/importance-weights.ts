/**
 * Appendix A.5 of the paper, in log space. With alpha_k the share of the pool drawn from source k
 * (k = policy included, q_policy = pi_old), the proposal is the mixture mu = sum_k alpha_k q_k and
 *
 *   log w_i = L_old(i) - log mu(o_i),   log mu(o_i) = logsumexp_k (log alpha_k + L_k(o_i)).
 *
 * Defined results for the edge cases (never NaN or Infinity):
 * - a source with alpha 0 (or absent from the mixture) is not part of mu;
 * - a density of -Infinity (or NaN) is "this source cannot produce the text";
 * - an action no source in the mixture could have produced (log mu = -Infinity: only possible when the
 *   mixture omits its own source) gets weight 0, as does an action with L_old = -Infinity;
 * - weights that underflow are 0; their log weights stay finite for the diagnostics and for snis.
 *
 * The policy's own term uses its *sampling* density (`samplingLogProb`, after top-k / top-p), the
 * density its samples were really drawn with; the target in the numerator stays pi_old (untruncated).
 *
 * The top-G selection makes the true proposal the pool conditioned on selection, whose normaliser is
 * intractable (Appendix A.5) and depends on each text's reward rank: exact-is ignores it and is biased
 * by it; snis removes only its part that is constant within a group, so it is biased too.
 *
 * `maxWeight` is not applied here: exact-is caps its weights, snis caps after normalising.
 */
import type { EstimatorGroup } from '@ekipl/core';
import type { DensityOptions } from './density-options.js';

export interface LogWeights {
  logWeights: number[];
  fallbacksOwn: number;
  fallbacksCross: number;
}

export function logImportanceWeights(group: EstimatorGroup, options: DensityOptions): LogWeights {
  const sources = Object.entries(group.mixture).filter(([, alpha]) => alpha > 0 && Number.isFinite(alpha));
  let fallbacksOwn = 0;
  let fallbacksCross = 0;
  const logWeights = group.actions.map((action) => {
    const oldLogProb = finiteOrMinusInfinity(action.oldLogProb);
    const terms = sources.map(([source, alpha]) => {
      let density: number;
      if (source === 'policy') {
        density = finiteOrMinusInfinity(action.samplingLogProb ?? action.oldLogProb);
      } else if (action.behaviorLogProbs?.[source] !== undefined) {
        density = finiteOrMinusInfinity(action.behaviorLogProbs[source]);
      } else if (source === action.source) {
        fallbacksOwn++;
        density = options.ownDensity === 'policy' ? oldLogProb : options.ownLogProbPerToken * action.tokens;
      } else {
        fallbacksCross++;
        density =
          options.crossDensity === 'policy'
            ? oldLogProb
            : options.crossDensity === 'constant'
              ? options.crossLogProbPerToken * action.tokens
              : Number.NEGATIVE_INFINITY;
      }
      return Math.log(alpha) + density;
    });
    const logMixture = logSumExp(terms);
    if (oldLogProb === Number.NEGATIVE_INFINITY || logMixture === Number.NEGATIVE_INFINITY) {
      return Number.NEGATIVE_INFINITY;
    }
    return oldLogProb - logMixture;
  });
  return { logWeights, fallbacksOwn, fallbacksCross };
}

/** log(sum exp(values)), exact for huge or tiny values; -Infinity for an empty list or all -Infinity. */
export function logSumExp(values: readonly number[]): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const value of values) if (value > max) max = value;
  if (max === Number.NEGATIVE_INFINITY) return max;
  let sum = 0;
  for (const value of values) sum += Math.exp(value - max);
  return max + Math.log(sum);
}

function finiteOrMinusInfinity(value: number | undefined): number {
  return value === undefined || Number.isNaN(value) || value === Number.NEGATIVE_INFINITY
    ? Number.NEGATIVE_INFINITY
    : Math.min(value, Number.MAX_VALUE);
}
