import { type EstimatorDiagnostics, weightStatistics } from '@ekipl/core';

/** The diagnostics of one group's final weights (log weights keep the range meaningful under underflow). */
export function groupDiagnostics(
  weights: readonly number[],
  logWeights: readonly number[],
  fallbacks: { own: number; cross: number },
): EstimatorDiagnostics {
  const statistics = weightStatistics(weights, logWeights);
  return {
    ess_mean: statistics.ess,
    ess_min: statistics.ess,
    weight_mean: statistics.mean,
    weight_p95: statistics.p95,
    weight_max: statistics.max,
    log_weight_range: statistics.logRange,
    fallbacks_own: fallbacks.own,
    fallbacks_cross: fallbacks.cross,
  };
}
