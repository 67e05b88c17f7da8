import { z } from 'zod';

/**
 * The config file's shape. Every section but `dataset`'s and `policy`'s options has a default, so a
 * file may be as short as `run: { steps: 50 }`; the resolved config (`ekipl validate`) shows them all.
 * Defaults follow Reason-RFT / TRL 0.15 where the paper is silent.
 */
const pluginFields = {
  /** Built-in name, npm package (optionally `pkg#export`) or relative path to a .js/.mjs file. */
  use: z.string().min(1),
  /** Validated against the plugin's own schema. */
  options: z.record(z.string(), z.unknown()).optional(),
};

export const pluginReferenceSchema = z.strictObject(pluginFields);

export const auxiliaryReferenceSchema = z.strictObject({
  ...pluginFields,
  /** Source name of its actions (metrics `source/<name>/...`); defaults to the plugin's name. */
  name: z.string().min(1).optional(),
  /** G_k: actions per prompt from this source; defaults to run.groupSize. */
  samples: z.int().positive().optional(),
});

export const rewardReferenceSchema = z.strictObject({
  ...pluginFields,
  /** Logged name; defaults to the plugin's name. */
  name: z.string().min(1).optional(),
  /** Weight in the run's total reward. */
  weight: z.number().default(1),
});

export const runSchema = z.strictObject({
  name: z.string().min(1).default('ekipl'),
  /** One seed reproduces the run: every random stream is split from it. */
  seed: z.int().default(1),
  /** RL steps; 0 runs the warm start (and its evaluation) alone. */
  steps: z.int().nonnegative().default(200),
  /** Prompts per step. */
  batchSize: z.int().positive().default(4),
  /** G: selected actions per prompt, and the policy's samples per prompt. */
  groupSize: z.int().default(8),
  /** Evaluate on the test splits every this many steps; 0 never. */
  evalEvery: z.int().nonnegative().default(25),
  /** Tasks per test split in each evaluation. */
  evalLimit: z.int().positive().default(50),
  /** Write a checkpoint every this many steps under `<run>/checkpoints/` (0: only the final one). */
  checkpointEvery: z.int().nonnegative().default(50),
  /** How many of those periodic checkpoints to keep (the newest). */
  keepCheckpoints: z.int().positive().default(2),
  /**
   * Reuse a finished warm start with the same settings (`<outputDir>/warm-starts/<key>/`) instead of
   * redoing it, so the arms of a comparison start from byte-identical weights.
   */
  reuseWarmStart: z.boolean().default(true),
  /** Run directories are created under this folder (relative to the config file). */
  outputDir: z.string().min(1).default('runs'),
});

export const objectiveSchema = z.strictObject({
  /** eps_low (and eps_high unless clipHigh is set). */
  clip: z.number().min(0).lt(1).default(0.2),
  /** eps_high, for DAPO's clip-higher; defaults to clip. */
  clipHigh: z.number().min(0).optional(),
  /** k3 KL weight; 0 keeps no reference model. */
  beta: z.number().min(0).default(0.04),
  aggregation: z.enum(['sequence-mean', 'token-mean', 'fixed-length']).default('sequence-mean'),
  learningRate: z.number().positive().default(1e-6),
  /** Sampling temperature T; every log-prob in the run is of softmax(logits / T). */
  temperature: z.number().positive().default(0.9),
  topP: z.number().gt(0).max(1).default(0.9),
  topK: z.int().nonnegative().default(50),
  maxCompletionLength: z.int().positive().default(512),
  /** mu: optimiser steps per batch. */
  numIterations: z.int().positive().default(1),
  /** Advantage baseline over the selected group (the paper) or the whole candidate pool. */
  baseline: z.enum(['selected', 'pool']).default('selected'),
  /** Divide advantages by the group's std (GRPO); false is Dr.GRPO. */
  scaleByStd: z.boolean().default(true),
  /**
   * Where the k3 KL term applies: `policy` (default), the policy's own samples only (k3 estimates
   * KL(pi_theta || pi_ref) from samples of pi_theta); `all`, every selected text (before 0.2).
   */
  klOn: z.enum(['policy', 'all']).default('policy'),
  /**
   * Negative advantages on external texts: `mask` gives them advantage 0 (default: `keep`, which trains
   * them down, collapsed the policy in 2 of 3 seeds of the off-policy comparison).
   */
  offPolicyNegatives: z.enum(['keep', 'mask']).default('mask'),
  /**
   * LUFFY's policy shaping: off-policy tokens use pi / (pi + gamma) in place of the clipped ratio
   * (Yan et al. 2025; gamma 0.1 there). Absent: the clipped ratio for every token.
   */
  offPolicyShaping: z.strictObject({ gamma: z.number().positive().default(0.1) }).optional(),
  /**
   * CHORD's mix: loss = (1 - mu) x the objective + mu x the cross-entropy of the selected external
   * texts (Zhang et al. 2025), mu going linearly from `weight` to `decayTo` over `decaySteps` (default
   * run.steps). Absent: no supervised term.
   */
  /**
   * RL-PLUS's off-policy term: the ratio 2 pi / (pi_old + (pi_old + 1) / 2), unclipped, with the
   * exploration advantage A (1 - pi)^exponent (pi detached). Not with offPolicyShaping.
   */
  offPolicyMis: z.strictObject({ exponent: z.number().min(0).default(0.5) }).optional(),
  offPolicySupervised: z
    .strictObject({
      weight: z.number().min(0).max(1).default(0.5),
      decayTo: z.number().min(0).max(1).default(0.05),
      decaySteps: z.int().positive().optional(),
    })
    .optional(),
});

export const promptSchema = z.strictObject({
  /** System text for every family (default: a Reason-RFT-style format instruction; spatial adds its function list). */
  system: z.string().min(1).optional(),
  /** User templates by family, or `default`, with {question} and {choices}. */
  templates: z
    .record(
      z.string(),
      z.string().refine((template) => template.includes('{question}'), {
        message: 'a template must contain {question}',
      }),
    )
    .default({}),
});

/**
 * Supervised warm start before RL (the paper's policy starts pretrained; a tiny model from scratch
 * needs a weak-but-nonzero start for RL to find any reward): `steps` supervised steps on the answers
 * of the `teacher` auxiliary sampler.
 */
export const warmStartSchema = z.strictObject({
  steps: z.int().nonnegative().default(0),
  learningRate: z.number().positive().default(3e-3),
  /** The auxiliary sampler (by name) whose answers are imitated; defaults to the first one. */
  teacher: z.string().min(1).optional(),
  /** Tasks per supervised step; defaults to run.batchSize x run.groupSize. */
  batchSize: z.int().positive().optional(),
});

export const configSchema = z
  .strictObject({
    run: runSchema.prefault({}),
    dataset: pluginReferenceSchema.prefault({ use: 'synthetic-counting' }),
    policy: pluginReferenceSchema.prefault({ use: 'tfjs' }),
    /** An empty list is plain GRPO: the baseline and the method run from the same file. */
    auxiliary: z.array(auxiliaryReferenceSchema).default([]),
    reward: z
      .array(rewardReferenceSchema)
      .min(1)
      .prefault([{ use: 'format' }, { use: 'accuracy' }]),
    selector: pluginReferenceSchema.prefault({ use: 'top-k' }),
    // The paper's main method: the GRPO ratio for every selected action (exact-is / snis are its ablation).
    estimator: pluginReferenceSchema.prefault({ use: 'uncorrected' }),
    objective: objectiveSchema.prefault({}),
    /** How tasks become prompts; defaults to Reason-RFT's wording per family. */
    prompt: promptSchema.prefault({}),
    warmStart: warmStartSchema.prefault({}),
  })
  .superRefine((config, context) => {
    if (config.run.groupSize < 2) {
      context.addIssue({
        code: 'custom',
        path: ['run', 'groupSize'],
        message: `must be >= 2, got ${config.run.groupSize}: a group of one has no relative advantage`,
      });
    }
    if (config.warmStart.steps > 0 && config.auxiliary.length === 0) {
      context.addIssue({
        code: 'custom',
        path: ['warmStart', 'steps'],
        message: `a warm start of ${config.warmStart.steps} steps needs a teacher: add an auxiliary sampler (an oracle, replay or an API model)`,
      });
    }
    if (
      config.warmStart.teacher !== undefined &&
      !config.auxiliary.some((entry) => (entry.name ?? entry.use) === config.warmStart.teacher)
    ) {
      context.addIssue({
        code: 'custom',
        path: ['warmStart', 'teacher'],
        message: `no auxiliary sampler is named "${config.warmStart.teacher}" (names: ${config.auxiliary.map((entry) => entry.name ?? entry.use).join(', ') || 'none'})`,
      });
    }
    const clipHigh = config.objective.clipHigh;
    if (clipHigh !== undefined && clipHigh < config.objective.clip) {
      context.addIssue({
        code: 'custom',
        path: ['objective', 'clipHigh'],
        message: `clipHigh (${clipHigh}) is below clip (${config.objective.clip}); clip-higher needs clipHigh >= clip, or leave it out`,
      });
    }
    if (config.objective.offPolicyShaping !== undefined && config.objective.offPolicyMis !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['objective', 'offPolicyMis'],
        message: 'offPolicyShaping and offPolicyMis both replace the ratio of off-policy tokens: choose one',
      });
    }
  });

/** A config after structural validation (plugin options not yet checked against their plugins). */
export type ValidatedConfig = z.output<typeof configSchema>;
