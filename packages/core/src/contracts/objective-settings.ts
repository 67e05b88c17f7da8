/**
 * How per-token terms become one number (DESIGN.md "The objective"):
 * - `sequence-mean`: mean over each sequence's tokens, then over sequences (GRPO, Reason-RFT);
 * - `token-mean`: sum over all tokens / number of tokens (DAPO);
 * - `fixed-length`: sum over all tokens / (sequences x maxCompletionLength) (Dr.GRPO).
 */
export type Aggregation = 'sequence-mean' | 'token-mean' | 'fixed-length';

/** Settings of the clipped, importance-weighted GRPO objective that every trainable backend minimises. */
export interface ObjectiveSettings {
  /** eps_low: the ratio is clipped below at 1 - clipLow. */
  clipLow: number;
  /** eps_high: the ratio is clipped above at 1 + clipHigh (DAPO's clip-higher when > clipLow). */
  clipHigh: number;
  /** Weight of the k3 KL penalty to the reference policy; 0 drops the reference model entirely. */
  beta: number;
  aggregation: Aggregation;
  /** Denominator length of `fixed-length` aggregation; also the generation limit. */
  maxCompletionLength: number;
  /** Optimiser step size (the backend owns the optimiser and its schedule). */
  learningRate: number;
  /**
   * LUFFY's policy shaping (Yan et al. 2025, "Learning to Reason under Off-Policy Guidance", eq. 6):
   * on the tokens of off-policy sequences (`source` not `policy`) the clipped ratio is replaced by
   * f(pi_theta) = pi_theta / (pi_theta + gamma), unclipped, so low-probability tokens of an external
   * text keep a large gradient. Absent: every token uses the clipped ratio. Needs the backend's
   * `policy-shaping` objective feature.
   */
  offPolicyShaping?: { gamma: number };
  /**
   * CHORD's mix (Zhang et al. 2025, "On-Policy RL Meets Off-Policy Experts"): loss = (1 - mu) x the
   * policy-gradient objective (KL included) + mu x the cross-entropy of the batch's off-policy texts
   * (mean over their tokens). `weight` is mu at this step (the step computes it from its schedule).
   * Needs the backend's `supervised-term` objective feature.
   */
  offPolicySupervised?: { weight: number };
  /**
   * RL-PLUS's off-policy term (Dong et al. 2025, "RL-PLUS"), in the form issue 10 states it: on the
   * tokens of off-policy sequences the clipped ratio is replaced by the multiple-importance-sampling
   * ratio r = 2 pi_theta / (pi_old + (pi_old + 1) / 2), unclipped, and the advantage by the
   * exploration advantage A (1 - pi_theta)^exponent with pi_theta detached (exponent 0.5 there).
   * Not with `offPolicyShaping`. Needs the backend's `rl-plus-ratio` objective feature.
   */
  offPolicyMis?: { exponent: number };
}
