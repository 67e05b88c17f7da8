import { availableParallelism } from 'node:os';
import { definePlugin, z } from '@ekipl/core';
import { defaultTinyVlmConfig, tinyVlmSizeSchema } from '@ekipl/tiny-vlm';
import { selectEngine } from './engine.js';
import { TfjsPolicy } from './policy.js';

// The model's definition lives in @ekipl/tiny-vlm (shared with other backends); re-exported for users of this one.
export {
  decodeSafetensors,
  decodeTokens,
  defaultTinyVlmConfig,
  encodeCompletion,
  encodePrompt,
  encodeSafetensors,
  type ImageNormalisation,
  ImagePatcher,
  parameterShapes,
  sampleToken,
  specialTokens,
  type TinyVlmConfig,
  vocabularySize,
} from '@ekipl/tiny-vlm';
export { type KernelAttentionOptions, KernelCache, kernelAttention } from './attention-kernel.js';
export { type Engine, selectEngine } from './engine.js';
export {
  AdamW,
  defaultOptimizerSettings,
  type OptimizerSettings,
  scheduledLearningRate,
} from './optimizer.js';
export {
  TfjsPolicy,
  type TfjsPolicyOptions,
  type ThreadMemory,
} from './policy.js';
export { PolicyWorkerError } from './replicas.js';
export { type AttentionImplementation, TinyVlm } from './tiny-vlm.js';

const positive = z.int().positive();

export const tfjs = definePlugin({
  kind: 'policy',
  name: 'tfjs',
  description: 'trainable tiny vision-language model on TensorFlow.js (wasm, cpu or native tensorflow)',
  options: z.strictObject({
    engine: z
      .enum(['wasm', 'cpu', 'tensorflow'])
      .default('wasm')
      .describe(
        '`wasm` (default, offline), `cpu` (pure JS), `tensorflow` (@tensorflow/tfjs-node[-gpu], installed separately).',
      ),
    model: z
      .literal('tiny-vlm')
      .default('tiny-vlm')
      .describe('The architecture; the built-in tiny VLM is the only one.'),
    attention: z
      .enum(['auto', 'kernel', 'tfjs'])
      .default('auto')
      .describe(
        '`auto`: the SIMD attention kernel on wasm / cpu, tfjs batched matMuls on native tensorflow.',
      ),
    workers: z
      .union([z.literal('auto'), positive.max(64)])
      .default('auto')
      .describe(
        "Threads sharing each batch (data parallel, a model copy each): `auto` = the machine's cores, at most 4. Results equal one thread's up to float rounding; samples are the same.",
      ),
    size: tinyVlmSizeSchema,
    maxPromptTokens: positive
      .default(64)
      .describe(
        'The user text is cut to this many byte tokens (a short prompt template suits the tiny model).',
      ),
    checkpoint: z
      .string()
      .min(1)
      .optional()
      .describe('A checkpoint directory (written by save) to start from, relative to the config.'),
    seed: z
      .int()
      .optional()
      .describe('Seed of the initial weights; defaults to one derived from the run seed.'),
    optimizer: z
      .strictObject({
        beta1: z.number().min(0).lt(1).default(0.9).describe("Adam's first-moment decay."),
        beta2: z.number().min(0).lt(1).default(0.999).describe("Adam's second-moment decay."),
        epsilon: z.number().positive().default(1e-8).describe("Adam's epsilon."),
        weightDecay: z.number().min(0).default(0).describe('Decoupled weight decay (AdamW).'),
        maxGradNorm: z
          .number()
          .min(0)
          .default(1)
          .describe('Clip the global gradient norm to this; 0: no clipping.'),
        warmupSteps: z
          .int()
          .nonnegative()
          .default(0)
          .describe(
            "Linear learning-rate warm-up over the optimiser's first this-many updates: RL's first ones when RL starts a fresh optimiser (objective.freshOptimizer), and an in-run warm start's too (on top of warmStart's own schedule).",
          ),
        totalSteps: positive
          .optional()
          .describe(
            'Cosine decay to minLearningRateRatio over this many updates; absent: constant after warm-up.',
          ),
        minLearningRateRatio: z
          .number()
          .min(0)
          .max(1)
          .default(0.1)
          .describe('Floor of the cosine decay, as a share of the learning rate.'),
      })
      .prefault({})
      .describe('AdamW settings shared by the warm start and RL.'),
  }),
  async create(options, context) {
    await selectEngine(options.engine);
    const { resolve, isAbsolute } = await import('node:path');
    const policy = new TfjsPolicy({
      name: context.name,
      config: { ...defaultTinyVlmConfig, ...options.size },
      maxPromptTokens: options.maxPromptTokens,
      optimizer: options.optimizer,
      seed: options.seed ?? context.random.uint32(),
      ...(options.attention === 'auto' ? {} : { attention: options.attention }),
      workers: options.workers === 'auto' ? Math.min(4, availableParallelism()) : options.workers,
    });
    if (options.checkpoint !== undefined) {
      await policy.load(
        isAbsolute(options.checkpoint)
          ? options.checkpoint
          : resolve(context.configDirectory, options.checkpoint),
      );
    }
    return policy;
  },
});

export default tfjs;
