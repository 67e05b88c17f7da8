/** Where an action came from: the policy, or an auxiliary sampler by its configured name. */
export type ActionSource = 'policy' | (string & {});

/** Money and time spent producing one action. */
export interface ActionCost {
  /** US dollars charged for this action (its share of the request). */
  usd: number;
  inputTokens?: number;
  outputTokens?: number;
}

/** One candidate answer to a task. */
export interface Action {
  source: ActionSource;
  /** The answer as text (model output: untrusted, escape it before showing it anywhere). */
  text: string;
  /**
   * Completion token ids in the policy's vocabulary. Set by the policy for its own samples, and by the
   * step (the policy's `encode`) when an external action enters the pool; a sampler's own ids are replaced.
   */
  tokens?: number[];
  /**
   * Per-token log-probs of `tokens` under pi_old (tempered). From generation for the policy's own
   * samples, from `score(..., 'current')` for selected external actions (never the sampler's own).
   */
  oldLogProbs?: number[];
  /** log q(text) under the model that produced it, when that model reports it (sum of token log-probs). */
  behaviorLogProb?: number;
  /**
   * The policy's own samples only: the sum of `PolicySample.samplingLogProbs`, its density under the
   * truncated sampling distribution (the policy's proposal density for the estimators).
   */
  samplingLogProb?: number;
  cost?: ActionCost;
  /** Wall time of the request that produced this action. */
  latencyMs?: number;
  /** Sampler-specific facts (finish reason, cache hit, model version). */
  metadata?: Record<string, unknown>;
}

/** An action with its reward: the weighted sum of the run's reward functions and every part. */
export interface ScoredAction extends Action {
  /** Position in the candidate pool of its task (policy samples first, then each sampler in config order). */
  index: number;
  reward: number;
  /** Each reward function's value (before weighting), by reward name, plus any named sub-parts (`name/part`). */
  rewardParts: Record<string, number>;
}

/** A selected action with its group-relative advantage, ready for the update. */
export interface SelectedAction extends ScoredAction {
  advantage: number;
}
