import type { ActionSource } from './action.js';
import type { ObjectiveSettings } from './objective-settings.js';
import type { Prompt, SamplingSettings } from './prompt.js';
import type { SpecificationVersion } from './specification-version.js';

/** One sample from the policy: text, its token ids, and per-token log-probs under the weights that sampled it. */
export interface PolicySample {
  text: string;
  /** Completion token ids, end-of-sequence included when the sample stopped on it. */
  tokens: number[];
  /** log pi_old(token_t | prefix) of the tempered distribution, one per token. */
  logProbs: number[];
  /**
   * log of the probability the token was actually drawn with: the tempered distribution after top-k /
   * top-p truncation and renormalisation (equal to `logProbs` when nothing is cut). The estimators use
   * it as the policy's proposal density; the PPO ratio uses `logProbs`. Absent: same as `logProbs`.
   */
  samplingLogProbs?: number[];
  /** Entropy (nats) of the tempered distribution each token was drawn from (logged as `policy/entropy`). */
  entropies?: number[];
}

/** Teacher-forced scoring request: the completion `tokens` after `prompt`. */
export interface ScoreRequest {
  prompt: Prompt;
  tokens: number[];
}

/** `current`: the weights being trained; `reference`: the frozen starting weights (KL anchor). */
export type ScoreWeights = 'current' | 'reference';

/** One selected action as the update sees it. */
export interface TrainSequence {
  prompt: Prompt;
  tokens: number[];
  /** Per-token log pi_old, same length as `tokens`. */
  oldLogProbs: number[];
  /**
   * Per-token log pi_ref: the k3 KL term applies to this sequence exactly when they are present (by
   * default the step attaches them to the policy's own samples only, when beta > 0).
   */
  refLogProbs?: number[];
  advantage: number;
  /** The estimator's sequence weight w_i, multiplying the clipped surrogate. */
  weight: number;
  source: ActionSource;
}

export interface TrainBatch {
  sequences: TrainSequence[];
}

/** What one optimiser step reports; every field is logged under `train/`. */
export interface TrainStepResult {
  /** The objective's loss (minus the aggregate) at the weights before this step. */
  loss: number;
  /** Mean k3 KL estimate over tokens (0 when beta = 0 and no reference is kept). */
  kl: number;
  /** Share of tokens whose gradient the clip removed. */
  clipFraction: number;
  /** Global gradient norm before clipping. */
  gradNorm?: number;
  /**
   * Global norm of the change this step made to the weights (learning rate included). Beside
   * `gradNorm` it shows how far an adaptive optimiser moves the policy on a tiny or sparse gradient.
   */
  updateNorm?: number;
  /** Learning rate used for this step (after warmup / schedule). */
  learningRate?: number;
  /** Completion tokens in the batch. */
  tokens: number;
}

/** d loss / d l_theta per token, as the backend's own tensor code computes it (for conformance tests). */
export interface ObjectiveGradient {
  loss: number;
  /** One row per sequence, one entry per token. */
  logProbGradients: number[][];
}

/** A supervised example for warm starts: the completion the policy should learn to write after `prompt`. */
export interface SupervisedExample {
  prompt: Prompt;
  /** Completion token ids (from `encode`), end-of-sequence included. */
  tokens: number[];
}

export interface SupervisedStepResult {
  /** Mean cross-entropy per completion token, before the step. */
  loss: number;
  tokens: number;
  gradNorm?: number;
  /** Global norm of the change this step made to the weights, as in `TrainStepResult`. */
  updateNorm?: number;
  learningRate?: number;
}

export interface PolicyCapabilities {
  /** `trainStep` is implemented (an inference-only backend such as ONNX has `false`). */
  train: boolean;
  /**
   * Optional parts of the objective this backend's `trainStep` implements (see `ObjectiveFeature`); the
   * step refuses settings that need one the backend lacks, rather than training on something else.
   */
  objective?: readonly ObjectiveFeature[];
}

/**
 * Optional parts of the objective (contract v1 additions, each covered by `objectiveConformance`):
 * - `kl-per-sequence`: the KL term only on sequences that carry `refLogProbs` (the default `klOn: policy`);
 * - `policy-shaping`: `ObjectiveSettings.offPolicyShaping` (LUFFY's f(pi) = pi / (pi + gamma) on
 *   off-policy tokens);
 * - `supervised-term`: `ObjectiveSettings.offPolicySupervised` (CHORD's cross-entropy on off-policy
 *   texts, mixed with weight mu);
 * - `rl-plus-ratio`: `ObjectiveSettings.offPolicyMis` (RL-PLUS's ratio and exploration advantage).
 */
export const objectiveFeatures = [
  'kl-per-sequence',
  'policy-shaping',
  'supervised-term',
  'rl-plus-ratio',
] as const;
export type ObjectiveFeature = (typeof objectiveFeatures)[number];

/**
 * The policy being trained (or evaluated). All log-probs, in `generate`, `score` and `trainStep`
 * alike, are of the tempered distribution softmax(logits / T) with the run's sampling temperature.
 */
export interface PolicyBackend {
  readonly specificationVersion: SpecificationVersion;
  readonly name: string;
  readonly capabilities: PolicyCapabilities;
  /** Facts about this instance worth recording with a run (engine, resolved thread count, size). */
  readonly info?: Readonly<Record<string, string | number | boolean>>;

  /** `n` samples per prompt, result[p][j] for prompt p. */
  generate(prompts: readonly Prompt[], n: number, sampling: SamplingSettings): Promise<PolicySample[][]>;

  /** Teacher-forced per-token log-probs of each request's tokens, at `temperature`. */
  score(requests: readonly ScoreRequest[], which: ScoreWeights, temperature: number): Promise<number[][]>;

  /** Completion token ids for `text`, as the policy would have generated it (end-of-sequence included). */
  encode(text: string): number[];
  decode(tokens: readonly number[]): string;
  /**
   * How many completion tokens fit after `prompt` in the model's positions (optional; absent: no limit
   * besides `maxCompletionLength`). The step drops external texts longer than this before rewarding them.
   */
  completionRoom?(prompt: Prompt): number | Promise<number>;

  /**
   * One optimiser step on the objective; `objective` carries clip, beta, aggregation and learning rate.
   * Required when `capabilities.train`.
   */
  trainStep?(batch: TrainBatch, objective: ObjectiveSettings, temperature: number): Promise<TrainStepResult>;

  /**
   * The objective's value and its gradient with respect to the current per-token log-probs, computed
   * by the same code `trainStep` uses, without changing any weight. testkit's `objectiveConformance`
   * compares it to core's reference implementation.
   */
  objectiveGradient?(
    batch: TrainBatch,
    objective: ObjectiveSettings,
    temperature: number,
  ): Promise<ObjectiveGradient>;

  /**
   * One optimiser step of supervised fine-tuning (cross-entropy on the completion tokens, untempered):
   * the warm start that gives RL a weak-but-nonzero policy, as the paper's pretrained base is.
   */
  supervisedStep?(
    examples: readonly SupervisedExample[],
    settings: { learningRate: number },
  ): Promise<SupervisedStepResult>;

  /** Write weights, optimiser state and config into `directory` (atomically). */
  save?(directory: string): Promise<void>;
  /** Restore what `save` wrote; training continues exactly. */
  load?(directory: string): Promise<void>;
  /**
   * Forget the optimiser's state (moments and step count), keeping the weights: the runner calls it
   * when RL begins after a warm start or from a loaded checkpoint (`objective.freshOptimizer`), since
   * moments accumulated on another objective's gradients mis-scale the first updates. Optional.
   */
  resetOptimizer?(): Promise<void>;
  dispose?(): Promise<void>;

  /**
   * The model's state for inference (format, settings, weights), to hand to another backend running
   * the same model: what a `rollout:` backend is synced with after every update. With `'reference'`,
   * the frozen starting weights (the KL anchor) instead, kept from then on as
   * `score(..., 'reference')` keeps them: what a `reference:` backend takes over. Optional.
   */
  snapshot?(weights?: ScoreWeights): PolicySnapshot | Promise<PolicySnapshot>;
  /**
   * Take over a snapshot: the model becomes the one it describes (architecture and weights). Throws for
   * a format this backend does not run. Optional: backends that can serve as `rollout:` implement it.
   */
  restore?(snapshot: PolicySnapshot): Promise<void>;
}

/** A model's state for inference, as one backend hands it to another. */
export interface PolicySnapshot {
  /** Which model (`ekipl-tiny-vlm/1`); a backend refuses formats it does not run. */
  format: string;
  /** The model's settings as its format defines them (architecture, prompt limit). */
  settings: Record<string, unknown>;
  /** Every weight by name, float32, row-major. */
  tensors: ReadonlyMap<string, { data: Float32Array; shape: number[] }>;
}
