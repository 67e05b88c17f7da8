/**
 * Generation on the attention kernel: the tiny VLM's decoder for one new token per sequence, with the
 * residual stream, RMSNorms, rotary positions, attention over the KV cache and SwiGLU in the kernel's
 * memory and only the dense products left to tfjs (XNNPACK's fast 2-D matMul). A step of tfjs ops was
 * ~100 tiny tensors, and each op's bookkeeping cost about what its arithmetic did; this is ~35.
 *
 * It mirrors `block` in tiny-vlm.ts (pre-norm attention, then pre-norm SwiGLU, both residual) and the
 * tests hold the two equal: same samples, log-probs within 1e-4.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelCache } from './attention-kernel.js';
import type { ModelParameters, TinyVlmConfig } from './tiny-vlm.js';

interface LayerWeights {
  /** q | k | v side by side [D, 3D]: one product, and the kernel reads the three from one row. */
  qkv: tf.Tensor2D;
  o: tf.Tensor2D;
  /** gate | up side by side [D, 2H]. */
  gateUp: tf.Tensor2D;
  down: tf.Tensor2D;
  attentionNorm: number;
  mlpNorm: number;
}

export class KernelDecoding {
  private readonly layers: LayerWeights[];
  /** The tied embedding transposed [D, V]: the output layer. */
  private readonly unembed: tf.Tensor2D;
  private readonly made: tf.Tensor[];
  private readonly embedding: number;
  private readonly finalNorm: number;
  private readonly ids: number;
  private readonly residual: number;
  private readonly normed: number;
  private readonly delta: number;
  private readonly gateUp: number;
  private readonly activated: number;
  private readonly dimension: number;
  private readonly hidden: number;

  constructor(
    readonly cache: KernelCache,
    config: TinyVlmConfig,
    p: ModelParameters,
  ) {
    const kernel = cache.kernel;
    const rows = cache.batch;
    const dimension = config.dimension;
    const hidden = p.get('blocks.0.mlp.gate.weight')!.shape[1]!;
    this.dimension = dimension;
    this.hidden = hidden;
    const weight = (name: string) => p.get(name)! as tf.Tensor2D;
    this.unembed = tf.transpose(weight('embed.weight'));
    this.made = [this.unembed];
    const norms: number[][] = [];
    const normValues: Float32Array[] = [];
    this.layers = Array.from({ length: config.layers }, (_, i) => {
      const prefix = `blocks.${i}`;
      const qkv = tf.concat(
        ['q', 'k', 'v'].map((name) => weight(`${prefix}.attn.${name}.weight`)),
        1,
      );
      const gateUp = tf.concat([weight(`${prefix}.mlp.gate.weight`), weight(`${prefix}.mlp.up.weight`)], 1);
      this.made.push(qkv, gateUp);
      normValues.push(
        weight(`${prefix}.attn_norm.weight`).dataSync() as Float32Array,
        weight(`${prefix}.mlp_norm.weight`).dataSync() as Float32Array,
      );
      const pointers = [kernel.allocate(dimension), kernel.allocate(dimension)];
      norms.push(pointers);
      return {
        qkv,
        o: weight(`${prefix}.attn.o.weight`),
        gateUp,
        down: weight(`${prefix}.mlp.down.weight`),
        attentionNorm: pointers[0]!,
        mlpNorm: pointers[1]!,
      };
    });
    const embeddingValues = weight('embed.weight').dataSync() as Float32Array;
    this.embedding = kernel.allocate(embeddingValues.length);
    this.finalNorm = kernel.allocate(dimension);
    this.ids = kernel.allocate(rows);
    this.residual = kernel.allocate(rows * dimension);
    this.normed = kernel.allocate(rows * dimension);
    this.delta = kernel.allocate(rows * dimension);
    this.gateUp = kernel.allocate(rows * 2 * hidden);
    this.activated = kernel.allocate(rows * hidden);
    // Copies after every allocation (growing the memory detaches earlier views).
    kernel.view(this.embedding, embeddingValues.length).set(embeddingValues);
    kernel.view(this.finalNorm, dimension).set(weight('norm.weight').dataSync() as Float32Array);
    norms.flat().forEach((pointer, i) => {
      kernel.view(pointer, dimension).set(normValues[i]!);
    });
  }

  /**
   * One new token for each of cache rows `rows` (tokens[i] at rotary position positions[i]): the
   * next-token logits [rows, V]. Call inside tf.tidy.
   */
  step(tokens: Int32Array, positions: Int32Array, rows: Int32Array): tf.Tensor2D {
    const { cache, dimension, hidden } = this;
    const kernel = cache.kernel;
    const run = kernel.exports;
    const count = rows.length;
    const width = count * dimension;
    /** A tensor of the kernel array (copied: the cpu backend would keep a view). */
    const tensor = (pointer: number, columns: number) =>
      tf.tensor2d(kernel.view(pointer, count * columns).slice(), [count, columns]);
    /** The kernel array at `pointer` = the tensor's values. */
    const read = (pointer: number, values: tf.Tensor) => {
      kernel.view(pointer, values.size).set(values.dataSync() as Float32Array);
    };
    cache.begin(rows, positions);
    kernel.integers(this.ids, count).set(tokens);
    run.gatherRows(this.embedding, this.ids, this.residual, count, dimension);
    this.layers.forEach((layer, i) => {
      run.rmsNorm(this.residual, layer.attentionNorm, this.normed, count, dimension);
      const mixed = cache.attend(i, tf.matMul(tensor(this.normed, dimension), layer.qkv));
      read(this.delta, tf.matMul(mixed, layer.o));
      run.addInto(this.residual, this.delta, width);
      run.rmsNorm(this.residual, layer.mlpNorm, this.normed, count, dimension);
      read(this.gateUp, tf.matMul(tensor(this.normed, dimension), layer.gateUp));
      run.swiglu(this.gateUp, this.activated, count, hidden);
      read(this.delta, tf.matMul(tensor(this.activated, hidden), layer.down));
      run.addInto(this.residual, this.delta, width);
    });
    cache.advance();
    run.rmsNorm(this.residual, this.finalNorm, this.normed, count, dimension);
    return tf.matMul(tensor(this.normed, dimension), this.unembed);
  }

  dispose(): void {
    tf.dispose(this.made);
  }
}
