import { z } from 'zod';

/**
 * The config file's shape. Every section but `dataset`'s and `policy`'s options has a default, so a
 * file may be as short as `run: { steps: 50 }`; the resolved config (`ekipl validate`) shows them all.
 * Defaults follow Reason-RFT / TRL 0.15 where the paper is silent.
 */
const pluginFields = {
  use: z
    .string()
    .min(1)
    .describe('Built-in name, npm package (optionally `pkg#export`) or relative path to a .js/.mjs file.'),
  options: z
    .record(z.string(), z.unknown())
    .optional()
    .describe("Validated against the plugin's own schema."),
};

export const pluginReferenceSchema = z.strictObject(pluginFields);

export const auxiliaryReferenceSchema = z.strictObject({
  ...pluginFields,
  name: z
    .string()
    .min(1)
    .optional()
    .describe("Source name of its actions (metrics `source/<name>/...`); defaults to the plugin's name."),
  samples: z
    .int()
    .positive()
    .optional()
    .describe('G_k: actions per prompt from this source; defaults to run.groupSize.'),
});

export const rewardReferenceSchema = z.strictObject({
  ...pluginFields,
  name: z.string().min(1).optional().describe("Logged name; defaults to the plugin's name."),
  weight: z.number().default(1).describe("Weight in the run's total reward."),
});

export const runSchema = z.strictObject({
  name: z.string().min(1).default('ekipl').describe('Run name: the prefix of its run directory.'),
  seed: z.int().default(1).describe('One seed reproduces the run: every random stream is split from it.'),
  steps: z
    .int()
    .nonnegative()
    .default(200)
    .describe('RL steps; 0 runs the warm start (and its evaluation) alone.'),
  batchSize: z.int().positive().default(4).describe('Prompts per step.'),
  groupSize: z
    .int()
    .default(8)
    .describe("G: selected actions per prompt, and the policy's samples per prompt."),
  evalEvery: z
    .int()
    .nonnegative()
    .default(25)
    .describe('Evaluate on the test splits every this many steps; 0 never.'),
  evalLimit: z.int().positive().default(50).describe('Tasks per test split in each evaluation.'),
  checkpointEvery: z
    .int()
    .nonnegative()
    .default(50)
    .describe(
      'Write a checkpoint every this many steps under `<run>/checkpoints/` (0: only the final one); a warm start writes one as often, which a killed warm start goes on from.',
    ),
  keepCheckpoints: z
    .int()
    .positive()
    .default(2)
    .describe('How many of those periodic checkpoints to keep (the newest).'),
  reuseWarmStart: z
    .boolean()
    .default(true)
    .describe(
      'Reuse a finished warm start with the same settings (`<outputDir>/warm-starts/<key>/`) instead of redoing it, so the arms of a comparison start from byte-identical weights.',
    ),
  outputDir: z
    .string()
    .min(1)
    .default('runs')
    .describe('Run directories are created under this folder (relative to the config file).'),
});

export const objectiveSchema = z.strictObject({
  clip: z.number().min(0).lt(1).default(0.2).describe('eps_low (and eps_high unless clipHigh is set).'),
  clipHigh: z.number().min(0).optional().describe("eps_high, for DAPO's clip-higher; defaults to clip."),
  beta: z.number().min(0).default(0.04).describe('k3 KL weight; 0 keeps no reference model.'),
  aggregation: z
    .enum(['sequence-mean', 'token-mean', 'fixed-length'])
    .default('sequence-mean')
    .describe(
      'How token terms become the loss: mean per sequence then over sequences (GRPO), mean over all tokens (DAPO), or sum over tokens / maxCompletionLength (Dr.GRPO).',
    ),
  learningRate: z
    .number()
    .positive()
    .default(1e-6)
    .describe(
      "The policy optimiser's learning rate for RL steps (1e-6 suits a pretrained policy; a tiny model from scratch wants more).",
    ),
  temperature: z
    .number()
    .positive()
    .default(0.9)
    .describe('Sampling temperature T; every log-prob in the run is of softmax(logits / T).'),
  topP: z
    .number()
    .gt(0)
    .max(1)
    .default(0.9)
    .describe(
      'Nucleus sampling of the policy: keep the smallest set of tokens with this much probability (after top-k).',
    ),
  topK: z.int().nonnegative().default(50).describe('Sample among the k most likely tokens; 0 keeps all.'),
  maxCompletionLength: z
    .int()
    .positive()
    .default(512)
    .describe(
      'Longest completion in tokens: the policy stops there, and longer external answers are dropped from the pool (never trained on cut).',
    ),
  numIterations: z.int().positive().default(1).describe('mu: optimiser steps per batch.'),
  freshOptimizer: z
    .boolean()
    .default(true)
    .describe(
      "RL starts with a fresh optimiser (the policy's `resetOptimizer`), not the moments of the warm start or of `policy.options.checkpoint`; a resumed run keeps its own. Those moments were measured on supervised gradients about 10x smaller than RL's, so Adam made the first RL updates several times larger than the rate says (false: carry them over, as runs did before).",
    ),
  baseline: z
    .enum(['selected', 'pool'])
    .default('selected')
    .describe('Advantage baseline over the selected group (the paper) or the whole candidate pool.'),
  scaleByStd: z
    .boolean()
    .default(true)
    .describe("Divide advantages by the group's std (GRPO); false is Dr.GRPO."),
  klOn: z
    .enum(['policy', 'all'])
    .default('policy')
    .describe(
      "Where the k3 KL term applies: `policy` (default), the policy's own samples only (k3 estimates KL(pi_theta || pi_ref) from samples of pi_theta); `all`, every selected text (before 0.2).",
    ),
  offPolicyNegatives: z
    .enum(['keep', 'mask'])
    .default('mask')
    .describe(
      'Negative advantages on external texts: `mask` gives them advantage 0 (default: `keep`, which trains them down, collapsed the policy in 2 of 3 seeds of the off-policy comparison).',
    ),
  offPolicyShaping: z
    .strictObject({ gamma: z.number().positive().default(0.1).describe('gamma in pi / (pi + gamma).') })
    .optional()
    .describe(
      "LUFFY's policy shaping: off-policy tokens use pi / (pi + gamma) in place of the clipped ratio (Yan et al. 2025; gamma 0.1 there). Absent: the clipped ratio for every token.",
    ),
  offPolicyMis: z
    .strictObject({
      exponent: z.number().min(0).default(0.5).describe('Exponent of (1 - pi) in the exploration advantage.'),
    })
    .optional()
    .describe(
      "RL-PLUS's off-policy term: the ratio 2 pi / (pi_old + (pi_old + 1) / 2), unclipped, with the exploration advantage A (1 - pi)^exponent (pi detached). Not with offPolicyShaping.",
    ),
  offPolicySupervised: z
    .strictObject({
      weight: z.number().min(0).max(1).default(0.5).describe('mu at the first RL step.'),
      decayTo: z.number().min(0).max(1).default(0.05).describe('mu after decaySteps.'),
      decaySteps: z.int().positive().optional().describe('Steps of the linear decay; defaults to run.steps.'),
    })
    .optional()
    .describe(
      "CHORD's mix: loss = (1 - mu) x the objective + mu x the cross-entropy of the selected external texts (Zhang et al. 2025), mu going linearly from `weight` to `decayTo`. Absent: no supervised term.",
    ),
});

export const promptSchema = z.strictObject({
  system: z
    .string()
    .min(1)
    .optional()
    .describe(
      'System text for every family (default: a Reason-RFT-style format instruction; spatial adds its function list).',
    ),
  templates: z
    .record(
      z.string(),
      z.string().refine((template) => template.includes('{question}'), {
        message: 'a template must contain {question}',
      }),
    )
    .default({})
    .describe(
      "User templates by family, or `default` for every family not named, with `{question}` (required) and `{choices}` (the options as `A. ...` lines, or nothing). Precedence: the family's template, then `default`, then the built-in.",
    ),
});

/**
 * Supervised warm start before RL (the paper's policy starts pretrained; a tiny model from scratch
 * needs a weak-but-nonzero start for RL to find any reward): `steps` supervised steps on the answers
 * of the `teacher`: one of the auxiliary samplers by name, or a sampler entry of its own, so the
 * starting point stays the same when an ablation removes the experts (`auxiliary=none`, plain GRPO).
 */
export const warmStartSchema = z.strictObject({
  steps: z.int().nonnegative().default(0).describe('Supervised steps before RL; 0: no warm start.'),
  learningRate: z.number().positive().default(3e-3).describe('Learning rate of the warm start.'),
  warmupSteps: z
    .int()
    .nonnegative()
    .default(0)
    .describe('Linear learning-rate warm-up over the first this many steps.'),
  decay: z
    .enum(['none', 'cosine'])
    .default('none')
    .describe(
      '`cosine`: after the warm-up, the rate falls along a cosine to minLearningRateRatio x learningRate at the last step; `none`: constant.',
    ),
  minLearningRateRatio: z
    .number()
    .min(0)
    .max(1)
    .default(0.05)
    .describe('Where the cosine decay ends, as a share of learningRate.'),
  teacher: z
    .union([
      z.string().min(1),
      z.strictObject({
        ...pluginFields,
        name: z.string().min(1).optional().describe("Its name in logs; defaults to the plugin's name."),
      }),
    ])
    .optional()
    .describe(
      'Whose answers are imitated: an auxiliary sampler by name, or a sampler entry of its own ({ use, options, name }: the warm start then does not depend on the RL experts). Defaults to the first auxiliary sampler.',
    ),
  batchSize: z
    .int()
    .positive()
    .optional()
    .describe('Tasks per supervised step; defaults to run.batchSize x run.groupSize.'),
});

export const configSchema = z
  .strictObject({
    run: runSchema
      .prefault({})
      .describe('Length, batch, group size, seed, evaluation and checkpoints of the run.'),
    dataset: pluginReferenceSchema
      .prefault({ use: 'synthetic-counting' })
      .describe('Where tasks come from: training prompts and the `id` / `ood` test splits.'),
    policy: pluginReferenceSchema.prefault({ use: 'tfjs' }).describe('The trainable policy backend.'),
    rollout: pluginReferenceSchema
      .optional()
      .describe(
        "A policy backend that generates the policy's samples (and its evaluations) with the trainer's weights, handed over after every update (time/sync_s), and scores under them until the next update: `{ use: onnx }`. Absent: the trainer generates.",
      ),
    reference: pluginReferenceSchema
      .optional()
      .describe(
        'A policy backend that scores the frozen starting weights for the KL term (objective.beta > 0), taking them over from the trainer before the first update and again on --resume: `{ use: onnx }`. Absent: the trainer keeps and scores its own copy.',
      ),
    auxiliary: z
      .array(auxiliaryReferenceSchema)
      .default([])
      .describe(
        "External samplers (experts) whose answers join each prompt's candidate pool; an empty list is plain GRPO, so the baseline and the method run from one file.",
      ),
    reward: z
      .array(rewardReferenceSchema)
      .min(1)
      .prefault([{ use: 'format' }, { use: 'accuracy' }])
      .describe('Reward functions; the total reward is their weighted sum.'),
    selector: pluginReferenceSchema
      .prefault({ use: 'top-k' })
      .describe('Keeps G of the candidate pool per prompt.'),
    estimator: pluginReferenceSchema
      .prefault({ use: 'uncorrected' })
      .describe(
        "Importance weight of each selected action: `uncorrected` is the paper's main method; exact-is / snis are its appendix's ablation.",
      ),
    objective: objectiveSchema
      .prefault({})
      .describe('The clipped GRPO objective, sampling, and the off-policy variants (LUFFY, RL-PLUS, CHORD).'),
    prompt: promptSchema
      .prefault({})
      .describe("How tasks become prompts; defaults to Reason-RFT's wording per family."),
    warmStart: warmStartSchema
      .prefault({})
      .describe(
        "Supervised steps on a teacher's answers before RL (a tiny model from scratch needs a start).",
      ),
  })
  .superRefine((config, context) => {
    if (config.run.groupSize < 2) {
      context.addIssue({
        code: 'custom',
        path: ['run', 'groupSize'],
        message: `must be >= 2, got ${config.run.groupSize}: a group of one has no relative advantage`,
      });
    }
    const teacher = config.warmStart.teacher;
    if (config.warmStart.steps > 0 && config.auxiliary.length === 0 && typeof teacher !== 'object') {
      context.addIssue({
        code: 'custom',
        path: ['warmStart', 'steps'],
        message: `a warm start of ${config.warmStart.steps} steps needs a teacher: add an auxiliary sampler (an oracle, replay or an API model), or give warmStart.teacher a sampler of its own ({ use: oracle, options: {...} })`,
      });
    }
    if (
      typeof teacher === 'string' &&
      !config.auxiliary.some((entry) => (entry.name ?? entry.use) === teacher)
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
