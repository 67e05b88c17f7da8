import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { definePlugin, EkiplError, z } from '@ekipl/core';
import {
  defaultTinyVlmConfig,
  initialValues,
  readSafetensors,
  storedTinyVlmConfig,
  type TinyVlmConfig,
  tinyVlmSizeSchema,
} from '@ekipl/tiny-vlm';
import { OnnxPolicy } from './policy.js';

/**
 * The built-in tiny VLM on ONNX Runtime: generation and scoring only (`capabilities.train` false), with
 * backend-tfjs's semantics, from a checkpoint that backend wrote (or seeded initial weights).
 */
export const onnx = definePlugin({
  kind: 'policy',
  name: 'onnx',
  description:
    'the tiny VLM on ONNX Runtime (inference: rollouts, reference scoring, local experts), CPU or CUDA',
  options: z.strictObject({
    // A union, not .optional(): the size schema's prefault would fill an absent size with the defaults.
    size: z
      .union([z.undefined(), tinyVlmSizeSchema])
      .describe(
        "Model sizes. Absent: the checkpoint's own (its state.json), or the defaults without a checkpoint; given with a checkpoint, they must match it.",
      ),
    maxPromptTokens: z
      .int()
      .positive()
      .default(64)
      .describe('The user text is cut to this many byte tokens, as the tfjs backend does.'),
    checkpoint: z
      .string()
      .min(1)
      .optional()
      .describe(
        'A checkpoint directory written by the tfjs backend (its model.safetensors), relative to the config.',
      ),
    model: z
      .string()
      .min(1)
      .optional()
      .describe(
        'A folder with vision.onnx, decoder.onnx and optionally scorer.onnx: a model of the built-in architecture exported elsewhere (writeOnnxModel writes one), weights inside; `size` must describe it. Instead of checkpoint.',
      ),
    seed: z
      .int()
      .optional()
      .describe(
        'Seed of the initial weights without a checkpoint; defaults to one derived from the run seed.',
      ),
    executionProvider: z
      .enum(['cpu', 'cuda'])
      .default('cpu')
      .describe(
        "`cuda` needs ONNX Runtime's CUDA files: install with ONNXRUNTIME_NODE_INSTALL=cuda12 (see troubleshooting).",
      ),
    threads: z
      .int()
      .positive()
      .default(1)
      .describe(
        'Intra-op threads on the CPU. One is fastest for the tiny VLM (its matrix products are too small to split: measured in the README); more suit larger models.',
      ),
    workers: z
      .union([z.literal('auto'), z.int().positive()])
      .default('auto')
      .describe(
        'Threads that generate and score, each with a share of the prompts: the main one and worker threads. auto: the cores, at most 4.',
      ),
    weights: z
      .enum(['auto', 'inputs', 'initializers'])
      .default('auto')
      .describe(
        'Weights fed as graph inputs on every run (a sync costs nothing), stored in the graph (runs are faster; a sync rebuilds it), or auto: stored until the first sync from a trainer, then inputs.',
      ),
  }),
  async create(options, context) {
    let config: TinyVlmConfig = { ...defaultTinyVlmConfig, ...options.size };
    let weights: Map<string, { data: Float32Array; shape: number[] }>;
    let graphs: { vision: Uint8Array; decoder: Uint8Array; scorer?: Uint8Array } | undefined;
    if (options.model !== undefined) {
      if (options.checkpoint !== undefined) {
        throw new EkiplError('give model (ONNX files) or checkpoint (safetensors), not both');
      }
      const directory = isAbsolute(options.model)
        ? options.model
        : resolve(context.configDirectory, options.model);
      const read = (file: string) =>
        readFile(join(directory, file)).catch((error: NodeJS.ErrnoException) => {
          throw new EkiplError(
            `model ${join(directory, file)}: ${error.code === 'ENOENT' ? 'missing' : error.message} (a folder with vision.onnx and decoder.onnx)`,
          );
        });
      const vision = await read('vision.onnx');
      const decoder = await read('decoder.onnx');
      // Optional: without it (files written before it existed) scoring reads the decoder's logits.
      const scorer = await readFile(join(directory, 'scorer.onnx')).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw new EkiplError(`model ${join(directory, 'scorer.onnx')}: ${error.message}`);
      });
      graphs = {
        vision: new Uint8Array(vision),
        decoder: new Uint8Array(decoder),
        ...(scorer === undefined ? {} : { scorer: new Uint8Array(scorer) }),
      };
      weights = new Map();
    } else if (options.checkpoint !== undefined) {
      const directory = isAbsolute(options.checkpoint)
        ? options.checkpoint
        : resolve(context.configDirectory, options.checkpoint);
      config = await checkpointConfig(directory, options.size);
      const { tensors } = await readSafetensors(join(directory, 'model.safetensors')).catch(
        (error: unknown) => {
          throw new EkiplError(
            `checkpoint ${directory}: ${error instanceof Error ? error.message : String(error)} (a checkpoint/ folder of a run)`,
          );
        },
      );
      weights = new Map(
        Object.entries(tensors).map(([name, tensor]) => [name, { data: tensor.data, shape: tensor.shape }]),
      );
    } else {
      weights = initialValues(config, options.seed ?? context.random.uint32());
    }
    return OnnxPolicy.create({
      name: context.name,
      config,
      maxPromptTokens: options.maxPromptTokens,
      weights,
      executionProvider: options.executionProvider,
      placement: options.weights,
      ...(graphs === undefined ? {} : { graphs }),
      threads: options.threads,
      workers: options.workers === 'auto' ? Math.min(4, availableParallelism()) : options.workers,
    });
  },
});

/**
 * The architecture a checkpoint was trained with (its state.json; before `imageNormalisation` existed,
 * `none`); sizes given in the options must agree with it. Without a state.json, the options' sizes.
 */
async function checkpointConfig(
  directory: string,
  size: Partial<TinyVlmConfig> | undefined,
): Promise<TinyVlmConfig> {
  const text = await readFile(join(directory, 'state.json'), 'utf8').catch(() => undefined);
  if (text === undefined) return { ...defaultTinyVlmConfig, ...size };
  const stored = (JSON.parse(text) as { config?: Partial<TinyVlmConfig> }).config ?? {};
  const config = storedTinyVlmConfig(stored);
  for (const [key, value] of Object.entries(size ?? {}) as [keyof TinyVlmConfig, unknown][]) {
    if (config[key] !== value) {
      throw new EkiplError(
        `checkpoint ${directory} has ${key} = ${config[key]}, options.size says ${value}: leave size out to use the checkpoint's`,
      );
    }
  }
  return config;
}
