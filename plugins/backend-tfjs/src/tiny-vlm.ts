/**
 * The built-in tiny vision-language model, bottom-up: ops -> attention -> block -> vision encoder ->
 * decoder. A patch-embedding vision encoder (pre-norm, bidirectional) reads each image; a projector maps
 * its patches into the decoder's width; a causal decoder (RMSNorm, rotary positions, SwiGLU, embeddings
 * tied with the output) reads [image tokens][text tokens] over a byte vocabulary.
 *
 * Layout of one sequence: [image 0 patches][image 1 patches]...[pads][<bos> prompt bytes][completion].
 * Pads are masked as keys and skipped by the position ids, so where the pads sit never changes the
 * result: generation (KV cache) and teacher-forced scoring agree.
 *
 * Departures for TensorFlow.js's wasm backend, where transposed, batched and gather-gradient kernels are
 * slow or missing: every dense layer's gradient uses explicit transposes and plain 2-D matMuls
 * (`linear`), the token embedding copies rows and scatter-adds its gradient in JavaScript (gather's
 * gradient needs UnsortedSegmentSum, absent on wasm), q / k / v are separate projections instead of one
 * split tensor, and attention runs in the SIMD kernel (attention-kernel.ts) unless the engine is native.
 * Generation on the kernel runs the decoder in kernel-decoding.ts, which mirrors `block` below.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  type KernelAttentionOptions,
  KernelCache,
  kernelAttention,
  kernelSupports,
  type RotaryTables,
} from './attention-kernel.js';
// tfjs-core alone registers no gradients; the umbrella package would. We need them for training.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { initialValues, rotaryTables, type TinyVlmConfig } from '@ekipl/tiny-vlm';
import { KernelDecoding } from './kernel-decoding.js';
import { variableOf } from './variables.js';

export type { TinyVlmConfig } from '@ekipl/tiny-vlm';

// ---------------------------------------------------------------------------------------------- ops

/** x [N, in] @ w [in, out], whose gradients are plain matMuls of explicit transposes. */
export const linear = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [input, weight] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [
        tf.matMul(dy as tf.Tensor2D, tf.transpose(weight)),
        tf.matMul(tf.transpose(input), dy as tf.Tensor2D),
      ];
    },
  };
}) as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor, w: tf.Tensor) => tf.Tensor2D;

/** x [..., in] @ w [in, out] -> [..., out]. */
export function dense(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
  if (x.rank === 2 && !recordingGradients()) return tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D);
  const inner = x.shape.at(-1)!;
  const flat = tf.reshape(x, [-1, inner]);
  // The custom-gradient wrapper costs a scope per call; outside gradient recording a plain matMul does.
  const out = recordingGradients() ? linear(flat, w) : tf.matMul(flat as tf.Tensor2D, w as tf.Tensor2D);
  return tf.reshape(out, [...x.shape.slice(0, -1), w.shape[1]!]);
}

/** True inside tf.grad / variableGrads, where the custom gradient matters. */
function recordingGradients(): boolean {
  return ((tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth ?? 1) > 0;
}

export function rmsNorm(x: tf.Tensor, weight: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), 1e-6))), weight);
}

/** rotate_half(x) = concat(-x2, x1) as a matMul with a constant [hd, hd] matrix, and its transpose. */
interface RotateHalf {
  matrix: tf.Tensor2D;
  transposed: tf.Tensor2D;
}

function rotateHalf(headDimension: number): RotateHalf {
  const matrix = rotateHalfMatrix(headDimension);
  return { matrix, transposed: tf.transpose(matrix) };
}

function rotateHalfMatrix(headDimension: number): tf.Tensor2D {
  const half = headDimension / 2;
  const values = new Float32Array(headDimension * headDimension);
  for (let j = 0; j < half; j++) {
    values[(j + half) * headDimension + j] = -1; // output j takes -x[j + half]
    values[j * headDimension + j + half] = 1; // output j + half takes x[j]
  }
  return tf.tensor2d(values, [headDimension, headDimension]);
}

// ---------------------------------------------------------------------------------------- parameters

export type ModelParameters = Map<string, tf.Variable>;

/** Seeded initialisation (`initialValues`), as tfjs variables. */
export function initialParameters(config: TinyVlmConfig, seed: number): ModelParameters {
  const parameters: ModelParameters = new Map();
  for (const [name, { shape, data }] of initialValues(config, seed)) {
    // tfjs variable names are global; ours live in the map, so two models can share a process.
    parameters.set(
      name,
      variableOf(() => tf.tensor(data, shape), true),
    );
  }
  return parameters;
}

// ----------------------------------------------------------------------------------------- attention

interface AttentionInputs {
  /** Additive mask [B, 1, Lq, Lk]: 0 where a query may look at a key, -1e9 elsewhere. */
  mask?: tf.Tensor;
  /** Rotary tables for the queries' / keys' positions, [B, 1, L, hd]. */
  cos?: tf.Tensor;
  sin?: tf.Tensor;
  rotate?: RotateHalf;
  /** Keys / values of earlier positions, [B, H, Lc, hd] (KV cache). */
  past?: { k: tf.Tensor; v: tf.Tensor };
  /** Attention by the SIMD kernel instead of batched matMuls (then `mask` is unused). */
  kernel?: Omit<KernelAttentionOptions, 'scale'>;
}

function splitHeads(x: tf.Tensor, heads: number): tf.Tensor {
  const [batch, length, width] = x.shape as [number, number, number];
  // One position: [B, 1, H, hd] and [B, H, 1, hd] share a memory order.
  if (length === 1) return tf.reshape(x, [batch, heads, 1, width / heads]);
  return tf.transpose(tf.reshape(x, [batch, length, heads, width / heads]), [0, 2, 1, 3]); // [B, H, L, hd]
}

/**
 * x R for a constant R: only x's gradient, dy Rᵀ, is computed (`linear` would also form R's, a
 * [B·H·L]-long product thrown away).
 */
function timesConstant(x: tf.Tensor, matrix: tf.Tensor2D, transposed: tf.Tensor2D): tf.Tensor {
  const inner = x.shape.at(-1)!;
  const flat = tf.reshape(x, [-1, inner]) as tf.Tensor2D;
  const product = recordingGradients()
    ? tf.customGrad(((input: tf.Tensor) => ({
        value: tf.matMul(input as tf.Tensor2D, matrix),
        gradFunc: (dy: tf.Tensor) => tf.matMul(dy as tf.Tensor2D, transposed),
      })) as Parameters<typeof tf.customGrad>[0])(flat)
    : tf.matMul(flat, matrix);
  return tf.reshape(product, x.shape);
}

function rope(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor, rotate: RotateHalf): tf.Tensor {
  return tf.add(tf.mul(x, cos), tf.mul(timesConstant(x, rotate.matrix, rotate.transposed), sin));
}

/** Multi-head attention over x [B, L, D]; returns the output and this call's keys / values (after rotation). */
function attention(x: tf.Tensor, prefix: string, p: ModelParameters, heads: number, inputs: AttentionInputs) {
  const [batch, length, width] = x.shape as [number, number, number];
  let q = splitHeads(dense(x, p.get(`${prefix}.attn.q.weight`)!), heads); // [B, H, L, hd]
  let k = splitHeads(dense(x, p.get(`${prefix}.attn.k.weight`)!), heads);
  const v = splitHeads(dense(x, p.get(`${prefix}.attn.v.weight`)!), heads);
  if (inputs.cos !== undefined && inputs.sin !== undefined && inputs.rotate !== undefined) {
    q = rope(q, inputs.cos, inputs.sin, inputs.rotate);
    k = rope(k, inputs.cos, inputs.sin, inputs.rotate);
  }
  const scale = 1 / Math.sqrt(width / heads);
  const keys = inputs.past === undefined ? k : tf.concat([inputs.past.k, k], 2); // [B, H, Lk, hd]
  const values = inputs.past === undefined ? v : tf.concat([inputs.past.v, v], 2);
  let mixed: tf.Tensor; // [B, H, L, hd]
  if (inputs.kernel !== undefined) {
    mixed = kernelAttention(q, keys, values, { ...inputs.kernel, scale }, recordingGradients());
  } else {
    let scores = tf.mul(tf.matMul(q, keys, false, true), scale); // [B, H, L, Lk]
    if (inputs.mask !== undefined) scores = tf.add(scores, inputs.mask);
    mixed = tf.matMul(tf.softmax(scores), values);
  }
  const merged = tf.reshape(length === 1 ? mixed : tf.transpose(mixed, [0, 2, 1, 3]), [batch, length, width]);
  return { output: dense(merged, p.get(`${prefix}.attn.o.weight`)!), keys, values };
}

function mlp(x: tf.Tensor, prefix: string, p: ModelParameters): tf.Tensor {
  const gate = dense(x, p.get(`${prefix}.mlp.gate.weight`)!);
  const up = dense(x, p.get(`${prefix}.mlp.up.weight`)!);
  return dense(tf.mul(tf.mul(gate, tf.sigmoid(gate)), up), p.get(`${prefix}.mlp.down.weight`)!);
}

/** Pre-norm transformer block; returns the new residual stream and the block's keys / values. */
function block(x: tf.Tensor, prefix: string, p: ModelParameters, heads: number, inputs: AttentionInputs) {
  const attended = attention(rmsNorm(x, p.get(`${prefix}.attn_norm.weight`)!), prefix, p, heads, inputs);
  const afterAttention = tf.add(x, attended.output);
  const output = tf.add(
    afterAttention,
    mlp(rmsNorm(afterAttention, p.get(`${prefix}.mlp_norm.weight`)!), prefix, p),
  );
  return { output, keys: attended.keys, values: attended.values };
}

// ------------------------------------------------------------------------------------------- model

export interface DecoderInputs {
  /** Image patches, [B * images * patches, patchSize^2 * 3], or undefined for text-only sequences. */
  patches?: tf.Tensor2D;
  images: number;
  /** Text token ids [B, Lt] (pads, <bos>, prompt, completion). */
  tokens: tf.Tensor2D;
  /** Rotary position of every position (image tokens, then text) [B, L]; pads 0. */
  positions: tf.Tensor2D;
  /** 1 for real tokens, 0 for pads, [B, L]. */
  keyValid: tf.Tensor2D;
}

/** Every layer's keys and values so far [B, H, Lc, hd], and which of the Lc keys are real tokens. (A type,
 * not an interface, so tf.tidy can return it.) */
export type Cache = {
  layers: { k: tf.Tensor; v: tf.Tensor }[];
  /** [B, Lc] */
  keyValid: tf.Tensor2D;
};

/** How attention runs: the SIMD kernel (wasm and cpu engines) or tfjs batched matMuls (native engines). */
export type AttentionImplementation = 'kernel' | 'tfjs';

export class TinyVlm {
  readonly patchesPerImage: number;
  readonly attention: AttentionImplementation;
  private readonly rotate: RotateHalf;
  private readonly ropeCos: tf.Tensor2D;
  private readonly ropeSin: tf.Tensor2D;
  private readonly rotaryTables: RotaryTables;

  constructor(
    readonly config: TinyVlmConfig,
    attention?: AttentionImplementation,
  ) {
    this.patchesPerImage = (config.imageSize / config.patchSize) ** 2;
    const headDimension = config.dimension / config.heads;
    if (!Number.isInteger(headDimension) || headDimension % 2 !== 0) {
      throw new Error(`dimension ${config.dimension} / heads ${config.heads} must be an even integer`);
    }
    const kernelFits =
      kernelSupports(headDimension) && kernelSupports(config.visionDimension / config.visionHeads);
    // Native TensorFlow's batched matMuls are fast (and may run on a GPU): the kernel is for wasm / cpu.
    this.attention = attention ?? (kernelFits && tf.getBackend() !== 'tensorflow' ? 'kernel' : 'tfjs');
    if (this.attention === 'kernel' && !kernelFits) {
      throw new Error('the attention kernel needs head dimensions that are multiples of 4');
    }
    this.rotate = rotateHalf(headDimension);
    const half = headDimension / 2;
    const { cos, sin } = rotaryTables(config);
    this.ropeCos = tf.tensor2d(cos, [config.maxPositions, headDimension]);
    this.ropeSin = tf.tensor2d(sin, [config.maxPositions, headDimension]);
    // The kernel's tables hold each angle once: [positions, hd / 2].
    this.rotaryTables = {
      cos: Float32Array.from(
        { length: config.maxPositions * half },
        (_, i) => cos[Math.floor(i / half) * headDimension + (i % half)]!,
      ),
      sin: Float32Array.from(
        { length: config.maxPositions * half },
        (_, i) => sin[Math.floor(i / half) * headDimension + (i % half)]!,
      ),
    };
  }

  /** Image tokens in the decoder's width, [B, images * patches, D]. */
  encodeImages(patches: tf.Tensor2D, batch: number, images: number, p: ModelParameters): tf.Tensor {
    const { visionDimension, visionHeads, visionLayers } = this.config;
    let v = tf.reshape(dense(patches, p.get('vision.patch.weight')!), [
      batch,
      images,
      this.patchesPerImage,
      visionDimension,
    ]);
    const index = tf.reshape(tf.slice(p.get('vision.image_index')!, [0, 0], [images, visionDimension]), [
      1,
      images,
      1,
      visionDimension,
    ]);
    v = tf.add(tf.add(v, p.get('vision.position')!), index); // [B, images, patches, vd]
    v = tf.reshape(v, [batch * images, this.patchesPerImage, visionDimension]);
    // Bidirectional: no mask.
    const inputs: AttentionInputs = this.attention === 'kernel' ? { kernel: { causal: false } } : {};
    for (let i = 0; i < visionLayers; i++) v = block(v, `vision.blocks.${i}`, p, visionHeads, inputs).output;
    const projected = dense(rmsNorm(v, p.get('vision.norm.weight')!), p.get('projector.weight')!);
    return tf.reshape(projected, [batch, images * this.patchesPerImage, this.config.dimension]);
  }

  /**
   * Token embeddings [B, Lt, D]: rows of the table, copied in JavaScript. Its gradient adds each row of
   * dy into its token's row (a scatter-add): tfjs's gather gradient needs a kernel the wasm backend lacks,
   * and the one-hot matMul it replaces cost two vocabulary-wide products and a transpose per step.
   */
  embed(tokens: tf.Tensor2D, p: ModelParameters): tf.Tensor {
    const [batch, length] = tokens.shape;
    const { dimension, vocabularySize } = this.config;
    const ids = tokens.dataSync();
    const table = p.get('embed.weight')!;
    const rows = (weights: tf.Tensor) => {
      const values = weights.dataSync() as Float32Array;
      const out = new Float32Array(ids.length * dimension);
      ids.forEach((id, r) => {
        out.set(values.subarray(id * dimension, (id + 1) * dimension), r * dimension);
      });
      return tf.tensor3d(out, [batch, length, dimension]);
    };
    if (!recordingGradients()) return rows(table);
    return tf.customGrad(((weights: tf.Tensor) => ({
      value: rows(weights),
      gradFunc: (dy: tf.Tensor) => {
        const upstream = dy.dataSync() as Float32Array;
        const sums = new Float32Array(vocabularySize * dimension);
        ids.forEach((id, r) => {
          for (let c = 0; c < dimension; c++) sums[id * dimension + c]! += upstream[r * dimension + c]!;
        });
        return tf.tensor2d(sums, [vocabularySize, dimension]);
      },
    })) as Parameters<typeof tf.customGrad>[0])(table);
  }

  /** Output logits over the vocabulary for hidden states [..., D] (tied embeddings). */
  logits(hidden: tf.Tensor, p: ModelParameters): tf.Tensor {
    return dense(rmsNorm(hidden, p.get('norm.weight')!), tf.transpose(p.get('embed.weight')!));
  }

  private rotary(positions: tf.Tensor2D) {
    const cos = tf.expandDims(tf.gather(this.ropeCos, positions), 1); // [B, 1, L, hd]
    const sin = tf.expandDims(tf.gather(this.ropeSin, positions), 1);
    return { cos, sin };
  }

  /** Hidden states [B, L, D] of a whole sequence, and (optionally) every layer's keys / values. */
  forward(inputs: DecoderInputs, p: ModelParameters): { hidden: tf.Tensor; cache: Cache } {
    const batch = inputs.tokens.shape[0];
    const text = this.embed(inputs.tokens, p);
    const x0 =
      inputs.patches === undefined || inputs.images === 0
        ? text
        : tf.concat([this.encodeImages(inputs.patches, batch, inputs.images, p), text], 1);
    const { cos, sin } = this.rotary(inputs.positions);
    const attentionInputs: AttentionInputs = { cos, sin, rotate: this.rotate };
    if (this.attention === 'kernel') {
      attentionInputs.kernel = { causal: true, valid: inputs.keyValid.dataSync() as Float32Array };
    } else {
      // Causal mask and padding mask together: [B, 1, L, L], 0 where allowed, -1e9 elsewhere.
      const length = x0.shape[1]!;
      const causal = tf.linalg.bandPart(tf.ones([length, length]), -1, 0);
      const allowed = tf.mul(
        tf.reshape(causal, [1, 1, length, length]),
        tf.reshape(inputs.keyValid, [batch, 1, 1, length]),
      );
      attentionInputs.mask = tf.mul(tf.sub(1, allowed), -1e9);
    }
    let x = x0;
    const layers: Cache['layers'] = [];
    for (let i = 0; i < this.config.layers; i++) {
      const result = block(x, `blocks.${i}`, p, this.config.heads, attentionInputs);
      x = result.output;
      layers.push({ k: result.keys, v: result.values });
    }
    return { hidden: x, cache: { layers, keyValid: inputs.keyValid } };
  }

  /** One new token per sequence on top of a cache: logits [B, V] and the grown cache. */
  step(
    tokens: tf.Tensor1D,
    positions: tf.Tensor1D,
    cache: Cache,
    p: ModelParameters,
  ): { logits: tf.Tensor2D; cache: Cache } {
    const batch = tokens.shape[0];
    const keyValid = tf.concat([cache.keyValid, tf.ones([batch, 1])], 1) as tf.Tensor2D;
    const mask = tf.mul(tf.sub(1, tf.reshape(keyValid, [batch, 1, 1, -1])), -1e9);
    const { cos, sin } = this.rotary(tf.reshape(positions, [batch, 1]) as tf.Tensor2D);
    let x = this.embed(tf.reshape(tokens, [batch, 1]) as tf.Tensor2D, p);
    const layers: Cache['layers'] = [];
    for (let i = 0; i < this.config.layers; i++) {
      const result = block(x, `blocks.${i}`, p, this.config.heads, {
        mask,
        cos,
        sin,
        rotate: this.rotate,
        past: cache.layers[i]!,
      });
      x = result.output;
      layers.push({ k: result.keys, v: result.values });
    }
    return { logits: tf.reshape(this.logits(x, p), [batch, -1]) as tf.Tensor2D, cache: { layers, keyValid } };
  }

  /**
   * The kernel path's generation state after a prefix pass (`forward`'s cache): row r continues prompt
   * rows[r], with room for `capacity` positions. Dispose when done.
   */
  startKernelDecoding(
    prefix: Cache,
    rows: readonly number[],
    capacity: number,
    p: ModelParameters,
  ): KernelDecoding {
    const cache = new KernelCache(prefix.layers, prefix.keyValid, rows, capacity, this.rotaryTables);
    return new KernelDecoding(cache, this.config, p);
  }

  dispose(): void {
    tf.dispose([this.rotate.matrix, this.rotate.transposed]);
    this.ropeCos.dispose();
    this.ropeSin.dispose();
  }
}
