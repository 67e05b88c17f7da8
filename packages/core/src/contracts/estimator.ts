import type { ActionSource } from './action.js';
import type { SpecificationVersion } from './specification-version.js';

/** One selected action as an estimator sees it. All densities are tempered sequence log-densities. */
export interface EstimatorAction {
  source: ActionSource;
  /** L_old = sum over completion tokens of log pi_old (the policy's density of this text before the update). */
  oldLogProb: number;
  /** Number of completion tokens (for per-token fallbacks: a constant c per token gives c * tokens). */
  tokens: number;
  /**
   * The policy's *sampling* density of this text (after top-k / top-p renormalisation), for its own
   * samples; the policy's proposal density in the mixture. Absent (external texts): `oldLogProb`,
   * exact when sampling cuts nothing (top-p 1, top-k 0).
   */
  samplingLogProb?: number;
  /**
   * log q_k(text) for every auxiliary source k that reported one: its own sample's density
   * (`behaviorLogProb`) or, for samplers that can score text, another source's text. The policy's
   * density is `oldLogProb`, never listed here.
   */
  behaviorLogProbs?: Record<string, number>;
}

/** One task's selected group and the mixture its candidate pool was drawn from. */
export interface EstimatorGroup {
  actions: EstimatorAction[];
  /**
   * alpha_k: share of the candidate pool drawn from each source, `policy` included; sums to 1. A
   * source whose requests all failed has alpha 0 (or is absent).
   */
  mixture: Record<string, number>;
}

/** Statistics of one group's weights (see `weightStatistics`) plus how often densities were filled in. */
export interface EstimatorDiagnostics {
  /** Effective sample size (sum w)^2 / sum w^2; with one group, mean and min are that group's ESS. */
  ess_mean: number;
  ess_min: number;
  weight_mean: number;
  weight_p95: number;
  weight_max: number;
  /** max log w - min log w within the group. */
  log_weight_range: number;
  /** Actions whose own source did not report its density, so a fallback stood in for it. */
  fallbacks_own: number;
  /** (action, source) pairs where another source could not score the text, so a fallback stood in. */
  fallbacks_cross: number;
}

export interface EstimatorResult {
  /** One finite, non-negative importance weight per action, in order. */
  weights: number[];
  diagnostics: EstimatorDiagnostics;
}

/**
 * Turns densities into one importance weight w_i per selected action (Appendix A of the paper); the
 * objective multiplies each action's clipped surrogate by its w_i. Never returns NaN or Infinity.
 */
export interface Estimator {
  readonly specificationVersion: SpecificationVersion;
  readonly name: string;
  weights(group: EstimatorGroup): EstimatorResult;
}
