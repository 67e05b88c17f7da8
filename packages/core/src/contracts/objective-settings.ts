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
}
