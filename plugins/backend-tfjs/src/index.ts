import { availableParallelism } from 'node:os';
import { definePlugin, z } from '@ekipl/core';
import { selectEngine } from './engine.js';
import { TfjsPolicy } from './policy.js';
import { defaultTinyVlmConfig } from './tiny-vlm.js';

export { type KernelAttentionOptions, KernelCache, kernelAttention } from './attention-kernel.js';
export { type Engine, selectEngine } from './engine.js';
export { ImagePatcher } from './images.js';
export {
  AdamW,
  defaultOptimizerSettings,
  type OptimizerSettings,
  scheduledLearningRate,
} from './optimizer.js';
export {
  sampleToken,
  TfjsPolicy,
  type TfjsPolicyOptions,
  type ThreadMemory,
} from './policy.js';
export { PolicyWorkerError } from './replicas.js';
export { decodeSafetensors, encodeSafetensors } from './safetensors.js';
export {
  type AttentionImplementation,
  defaultTinyVlmConfig,
  parameterShapes,
  TinyVlm,
  type TinyVlmConfig,
} from './tiny-vlm.js';
export { decodeTokens, encodeCompletion, encodePrompt, specialTokens, vocabularySize } from './tokenizer.js';

const positive = z.int().positive();

export const tfjs = definePlugin({
  kind: 'policy',
  name: 'tfjs',
  description: 'trainable tiny vision-language model on TensorFlow.js (wasm, cpu or native tensorflow)',
  options: z.strictObject({
    /** `wasm` (default, offline), `cpu` (pure JS), `tensorflow` (@tensorflow/tfjs-node[-gpu], installed separately). */
    engine: z.enum(['wasm', 'cpu', 'tensorflow']).default('wasm'),
    model: z.literal('tiny-vlm').default('tiny-vlm'),
    /** `auto`: the SIMD attention kernel on wasm / cpu, tfjs batched matMuls on native tensorflow. */
    attention: z.enum(['auto', 'kernel', 'tfjs']).default('auto'),
    /**
     * Threads sharing each batch (data parallel, a model copy each): `auto` = the machine's cores, at
     * most 4. Results equal one thread's up to float rounding; samples are the same.
     */
    workers: z.union([z.literal('auto'), positive.max(64)]).default('auto'),
    /** Model sizes; defaults train on two CPU cores. */
    size: z
      .strictObject({
        dimension: positive.default(defaultTinyVlmConfig.dimension),
        layers: positive.default(defaultTinyVlmConfig.layers),
        heads: positive.default(defaultTinyVlmConfig.heads),
        visionDimension: positive.default(defaultTinyVlmConfig.visionDimension),
        visionLayers: z.int().nonnegative().default(defaultTinyVlmConfig.visionLayers),
        visionHeads: positive.default(defaultTinyVlmConfig.visionHeads),
        imageSize: positive.default(defaultTinyVlmConfig.imageSize),
        patchSize: positive.default(defaultTinyVlmConfig.patchSize),
        maxImages: positive.default(defaultTinyVlmConfig.maxImages),
        maxPositions: positive.default(defaultTinyVlmConfig.maxPositions),
      })
      .refine((size) => size.imageSize % size.patchSize === 0, {
        message: 'imageSize must be a multiple of patchSize',
      })
      .refine((size) => (size.dimension / size.heads) % 2 === 0, {
        message: 'dimension / heads must be an even integer',
      })
      .refine((size) => size.visionDimension % size.visionHeads === 0, {
        message: 'visionDimension must be a multiple of visionHeads',
      })
      .prefault({}),
    /** The user text is cut to this many byte tokens (a short prompt template suits the tiny model). */
    maxPromptTokens: positive.default(64),
    /** A checkpoint directory (written by save) to start from, relative to the config. */
    checkpoint: z.string().min(1).optional(),
    /** Seed of the initial weights; defaults to one derived from the run seed. */
    seed: z.int().optional(),
    optimizer: z
      .strictObject({
        beta1: z.number().min(0).lt(1).default(0.9),
        beta2: z.number().min(0).lt(1).default(0.999),
        epsilon: z.number().positive().default(1e-8),
        weightDecay: z.number().min(0).default(0),
        maxGradNorm: z.number().min(0).default(1),
        warmupSteps: z.int().nonnegative().default(0),
        totalSteps: positive.optional(),
        minLearningRateRatio: z.number().min(0).max(1).default(0.1),
      })
      .prefault({}),
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
