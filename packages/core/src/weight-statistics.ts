import type { EstimatorDiagnostics } from './contracts/estimator.js';

/** Summary of importance weights (Appendix A.3 of the paper): ESS and the tail of the weights. */
export interface WeightStatistics {
  /** Effective sample size (sum w)^2 / sum w^2: n for equal weights, 1 when one weight dominates, 0 when all are 0. */
  ess: number;
  mean: number;
  /** 95th percentile, linear interpolation between order statistics. */
  p95: number;
  max: number;
  /** max log w - min log w over the weights (from `logWeights` when given, which survive underflow). */
  logRange: number;
}

export function weightStatistics(
  weights: readonly number[],
  logWeights?: readonly number[],
): WeightStatistics {
  if (weights.length === 0) return { ess: 0, mean: 0, p95: 0, max: 0, logRange: 0 };
  let sum = 0;
  let sumSquares = 0;
  let max = 0;
  for (const weight of weights) {
    sum += weight;
    sumSquares += weight * weight;
    if (weight > max) max = weight;
  }
  const logs = (logWeights ?? weights.map(Math.log)).filter(Number.isFinite);
  const logRange = logs.length === 0 ? 0 : Math.max(...logs) - Math.min(...logs);
  return {
    ess: sumSquares === 0 ? 0 : (sum * sum) / sumSquares,
    mean: sum / weights.length,
    p95: quantile(weights, 0.95),
    max,
    logRange,
  };
}

/** Quantile q in [0, 1] with linear interpolation (numpy's default). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = values.slice().sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const fraction = position - lower;
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * fraction;
}

/** An estimator's diagnostics for one group, from its final weights (and log weights, which survive underflow). */
export function estimatorDiagnostics(
  weights: readonly number[],
  logWeights: readonly number[] | undefined,
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
