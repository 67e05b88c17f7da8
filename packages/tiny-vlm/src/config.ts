import { Random, z } from '@ekipl/core';
import type { ImageNormalisation } from './images.js';

export interface TinyVlmConfig {
  /** Decoder width. */
  dimension: number;
  layers: number;
  heads: number;
  visionDimension: number;
  visionLayers: number;
  visionHeads: number;
  /** Images are resized to imageSize x imageSize and cut into patchSize x patchSize patches. */
  imageSize: number;
  patchSize: number;
  /**
   * Pixels of surrounding context each patch token also reads, on every side (0: plain patches). A
   * token then sees a (patchSize + 2 x patchContext)-pixel window: an object cut by a patch border is
   * whole in the windows around it.
   */
  patchContext: number;
  /** Images a prompt may carry (the learned image-index embedding has one row each). */
  maxImages: number;
  /** Longest sequence (image tokens + prompt + completion) the rotary table covers. */
  maxPositions: number;
  vocabularySize: number;
  ropeBase: number;
  /** How pixels are scaled before the patch embedding (checkpoints without the field: `none`). */
  imageNormalisation: ImageNormalisation;
}

export const defaultTinyVlmConfig: TinyVlmConfig = {
  dimension: 128,
  layers: 4,
  heads: 4,
  visionDimension: 96,
  visionLayers: 2,
  visionHeads: 3,
  imageSize: 64,
  patchSize: 8,
  patchContext: 0,
  maxImages: 4,
  maxPositions: 1024,
  vocabularySize: 260,
  ropeBase: 10_000,
  imageNormalisation: 'background',
};

/**
 * The architecture a checkpoint's state.json records. Checkpoints from before a config field existed
 * were trained with its old behaviour: `imageNormalisation` absent means `none`, `patchContext` absent 0.
 */
export function storedTinyVlmConfig(stored: Partial<TinyVlmConfig>): TinyVlmConfig {
  return {
    ...defaultTinyVlmConfig,
    ...stored,
    patchContext: stored.patchContext ?? 0,
    imageNormalisation: stored.imageNormalisation ?? 'none',
  };
}

/** Values one patch token reads: its window's pixels, three channels each. */
export const patchDimension = (config: Pick<TinyVlmConfig, 'patchSize' | 'patchContext'>) =>
  (config.patchSize + 2 * config.patchContext) ** 2 * 3;

export const hiddenSize = (dimension: number) => Math.floor((8 * dimension) / 3);

/** Parameter names (as stored in safetensors) and shapes; dense weights are [in, out]. */
export function parameterShapes(config: TinyVlmConfig): [string, number[]][] {
  const shapes: [string, number[]][] = [];
  const block = (prefix: string, width: number) => {
    const hidden = hiddenSize(width);
    shapes.push(
      [`${prefix}.attn_norm.weight`, [width]],
      [`${prefix}.attn.q.weight`, [width, width]],
      [`${prefix}.attn.k.weight`, [width, width]],
      [`${prefix}.attn.v.weight`, [width, width]],
      [`${prefix}.attn.o.weight`, [width, width]],
      [`${prefix}.mlp_norm.weight`, [width]],
      [`${prefix}.mlp.gate.weight`, [width, hidden]],
      [`${prefix}.mlp.up.weight`, [width, hidden]],
      [`${prefix}.mlp.down.weight`, [hidden, width]],
    );
  };
  const patches = (config.imageSize / config.patchSize) ** 2;
  shapes.push(
    ['vision.patch.weight', [patchDimension(config), config.visionDimension]],
    ['vision.position', [patches, config.visionDimension]],
    ['vision.image_index', [config.maxImages, config.visionDimension]],
  );
  for (let i = 0; i < config.visionLayers; i++) block(`vision.blocks.${i}`, config.visionDimension);
  shapes.push(
    ['vision.norm.weight', [config.visionDimension]],
    ['projector.weight', [config.visionDimension, config.dimension]],
  );
  shapes.push(['embed.weight', [config.vocabularySize, config.dimension]]);
  for (let i = 0; i < config.layers; i++) block(`blocks.${i}`, config.dimension);
  shapes.push(['norm.weight', [config.dimension]]);
  return shapes;
}

/**
 * Seeded initial values: normal(0, 0.02), output projections scaled by 1/sqrt(2 layers), norms 1. The
 * same seed gives the same weights in every backend.
 */
export function initialValues(
  config: TinyVlmConfig,
  seed: number,
): Map<string, { shape: number[]; data: Float32Array }> {
  const random = Random.fromSeed(seed).split('tiny-vlm', 'init');
  const values = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, shape] of parameterShapes(config)) {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    if (name.endsWith('norm.weight')) data.fill(1);
    else {
      const layers = name.startsWith('vision.') ? config.visionLayers : config.layers;
      const scale =
        name.endsWith('.o.weight') || name.endsWith('.down.weight') ? 0.02 / Math.sqrt(2 * layers) : 0.02;
      for (let i = 0; i < size; i++) data[i] = scale * random.normal();
    }
    values.set(name, { shape, data });
  }
  return values;
}

/**
 * Rotary tables [maxPositions, hd], row-major: position p's angle for pair j is p / base^(2j / hd),
 * written in columns j and j + hd / 2 (the rotate-half layout). Every backend rotates with these.
 */
export function rotaryTables(config: TinyVlmConfig): { cos: Float32Array; sin: Float32Array } {
  const headDimension = config.dimension / config.heads;
  const half = headDimension / 2;
  const cos = new Float32Array(config.maxPositions * headDimension);
  const sin = new Float32Array(config.maxPositions * headDimension);
  for (let position = 0; position < config.maxPositions; position++) {
    for (let j = 0; j < half; j++) {
      const angle = position / config.ropeBase ** ((2 * j) / headDimension);
      for (const column of [j, j + half]) {
        cos[position * headDimension + column] = Math.cos(angle);
        sin[position * headDimension + column] = Math.sin(angle);
      }
    }
  }
  return { cos, sin };
}

const positive = z.int().positive();

/**
 * The `size` options of a backend running this model (all but the vocabulary and the rotary base,
 * which are fixed): what a config may set, with the defaults and the checks a model needs.
 */
export const tinyVlmSizeSchema = z
  .strictObject({
    dimension: positive
      .default(defaultTinyVlmConfig.dimension)
      .describe('Width of the language model (token embeddings).'),
    layers: positive
      .default(defaultTinyVlmConfig.layers)
      .describe('Transformer layers of the language model.'),
    heads: positive.default(defaultTinyVlmConfig.heads).describe('Attention heads of the language model.'),
    visionDimension: positive
      .default(defaultTinyVlmConfig.visionDimension)
      .describe('Width of the vision encoder.'),
    visionLayers: z
      .int()
      .nonnegative()
      .default(defaultTinyVlmConfig.visionLayers)
      .describe(
        'Transformer layers of the vision encoder (0: patches projected straight into the language model).',
      ),
    visionHeads: positive
      .default(defaultTinyVlmConfig.visionHeads)
      .describe('Attention heads of the vision encoder.'),
    imageSize: positive
      .default(defaultTinyVlmConfig.imageSize)
      .describe('Images are resized to this square side, in pixels.'),
    patchSize: positive
      .default(defaultTinyVlmConfig.patchSize)
      .describe('Side of the square image patches (one token each).'),
    patchContext: z
      .int()
      .nonnegative()
      .default(defaultTinyVlmConfig.patchContext)
      .describe(
        'Pixels around each patch that its token also reads, on every side (overlapping windows; 0: plain patches). Outside the image counts as background.',
      ),
    maxImages: positive.default(defaultTinyVlmConfig.maxImages).describe('Most images per prompt.'),
    maxPositions: positive
      .default(defaultTinyVlmConfig.maxPositions)
      .describe('Longest sequence (prompt, image tokens and completion).'),
    imageNormalisation: z
      .enum(['none', 'background'])
      .default(defaultTinyVlmConfig.imageNormalisation)
      .describe(
        "How pixels are scaled: `background` subtracts each channel's median (the background) and scales by 4, so objects stand out; `none` keeps [0, 1] (checkpoints from before this option).",
      ),
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
  .prefault({})
  .describe('Model sizes; defaults train on two CPU cores.');
