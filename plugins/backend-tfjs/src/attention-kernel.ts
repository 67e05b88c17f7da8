/**
 * The SIMD attention kernels (kernels/attention.ts, compiled by the build to wasm/attention.wasm) and
 * the TensorFlow.js ops around them: `kernelAttention` (forward and backward, for scoring and training)
 * and `KernelCache` (the generation KV cache, grown in place instead of concatenated every token).
 *
 * Why: tfjs's wasm backend serves only batch-1 matMuls with XNNPACK; attention's batched products ran at
 * ~1.3 GFLOP/s and were 7.7 s of a 10.9 s training step. Tensors cross into the kernel's memory by copy
 * (dataSync in, a new tensor out), which costs milliseconds against the hundreds the products took.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EkiplError } from '@ekipl/core';
import * as tf from '@tensorflow/tfjs-core';

export interface KernelExports {
  rmsNorm(x: number, weight: number, y: number, rows: number, width: number): void;
  addInto(x: number, delta: number, count: number): void;
  swiglu(gateUp: number, y: number, rows: number, hidden: number): void;
  gatherRows(table: number, ids: number, y: number, rows: number, width: number): void;
  forward(
    q: number,
    k: number,
    v: number,
    valid: number,
    out: number,
    probs: number,
    keepProbs: number,
    batch: number,
    heads: number,
    queries: number,
    keys: number,
    capacity: number,
    width: number,
    scale: number,
    causal: number,
  ): void;
  decode(
    qkv: number,
    rows: number,
    count: number,
    positions: number,
    cos: number,
    sin: number,
    k: number,
    v: number,
    valid: number,
    out: number,
    query: number,
    scores: number,
    heads: number,
    length: number,
    capacity: number,
    width: number,
    scale: number,
  ): void;
  backward(
    q: number,
    k: number,
    v: number,
    probs: number,
    dout: number,
    dq: number,
    dk: number,
    dv: number,
    scratch: number,
    batch: number,
    heads: number,
    queries: number,
    keys: number,
    width: number,
    scale: number,
    causal: number,
  ): void;
}

// The WebAssembly API as used here (the project's TypeScript lib has no DOM, where its types live).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const pageBytes = 65_536;
/** The module's first page holds its own static data; the host's arrays start after it. */
const firstFree = pageBytes;

let compiled: object | undefined;

function kernelModule(): object {
  if (compiled === undefined) {
    const url = new URL('../wasm/attention.wasm', import.meta.url);
    let bytes: Buffer;
    try {
      bytes = readFileSync(url);
    } catch {
      throw new EkiplError(
        `the attention kernel ${fileURLToPath(url)} is missing: run \`npm run build\` in @ekipl/backend-tfjs`,
      );
    }
    compiled = new wasm.Module(bytes);
  }
  return compiled;
}

/** One instance of the kernel module with its own memory, used as a bump arena of float32 arrays. */
export class AttentionKernel {
  private readonly memory = new wasm.Memory({ initial: 2 });
  readonly exports: KernelExports;
  private top = firstFree;

  constructor() {
    const instance = new wasm.Instance(kernelModule(), { env: { memory: this.memory } });
    this.exports = instance.exports as unknown as KernelExports;
  }

  /** The size of this instance's memory (it grows, never shrinks). */
  get bytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Frees every array. */
  reset(): void {
    this.top = firstFree;
  }

  /** Room for `count` floats (16-byte aligned); views made before an allocation may be detached by it. */
  allocate(count: number): number {
    const pointer = this.top;
    this.top += Math.ceil((count * 4) / 16) * 16;
    const missing = this.top - this.memory.buffer.byteLength;
    if (missing > 0) this.memory.grow(Math.ceil(missing / pageBytes));
    return pointer;
  }

  view(pointer: number, count: number): Float32Array {
    return new Float32Array(this.memory.buffer, pointer, count);
  }

  integers(pointer: number, count: number): Int32Array {
    return new Int32Array(this.memory.buffer, pointer, count);
  }

  /** Allocates room for `values` and copies them in. */
  place(values: Float32Array): number {
    const pointer = this.allocate(values.length);
    this.view(pointer, values.length).set(values);
    return pointer;
  }
}

/**
 * Instances for attention calls: a forward pass under gradient recording keeps its instance (its q, k,
 * v and probabilities stay in the kernel's memory, not copied out to tfjs and back) until its backward
 * pass hands it back. An instance never handed back (a forward with no backward) is garbage-collected.
 */
const idle: AttentionKernel[] = [];

function borrowKernel(): AttentionKernel {
  const kernel = idle.pop() ?? new AttentionKernel();
  kernel.reset();
  return kernel;
}

function returnKernel(kernel: AttentionKernel): void {
  idle.push(kernel);
}

/** Bytes held by the idle pool of attention instances (a memory diagnostic). */
export function pooledKernelBytes(): number {
  return idle.reduce((sum, kernel) => sum + kernel.bytes, 0);
}

/** True when the kernel can serve heads of this width (whole SIMD vectors). */
export function kernelSupports(headDimension: number): boolean {
  return headDimension % 4 === 0;
}

export interface KernelAttentionOptions {
  /** [B, Lk] 1 for real keys, 0 for pads; undefined when every key is real. */
  valid?: Float32Array;
  causal: boolean;
  scale: number;
}

function floats(tensor: tf.Tensor): Float32Array {
  return tensor.dataSync() as Float32Array;
}

/**
 * softmax(scale q kᵀ + mask) v for q [B, H, Lq, hd] and k / v [B, H, Lk, hd], differentiable in q, k
 * and v. The mask is causal (query i at position i + Lk - Lq) and/or hides pad keys; a query that sees
 * no key outputs 0.
 */
export function kernelAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  options: KernelAttentionOptions,
  keepForGradient: boolean,
): tf.Tensor {
  const [batch, heads, queries, width] = q.shape as [number, number, number, number];
  const keys = k.shape[2]!;
  const causal = options.causal ? 1 : 0;
  const kernel = borrowKernel();
  const qPointer = kernel.place(floats(q));
  const kPointer = kernel.place(floats(k));
  const vPointer = kernel.place(floats(v));
  const validPointer = options.valid === undefined ? 0 : kernel.place(options.valid);
  const outPointer = kernel.allocate(q.size);
  const probsPointer = kernel.allocate(keepForGradient ? batch * heads * queries * keys : keys);
  kernel.exports.forward(
    qPointer,
    kPointer,
    vPointer,
    validPointer,
    outPointer,
    probsPointer,
    keepForGradient ? 1 : 0,
    batch,
    heads,
    queries,
    keys,
    keys,
    width,
    options.scale,
    causal,
  );
  const out = () => tf.tensor(kernel.view(outPointer, q.size).slice(), q.shape);
  if (!keepForGradient) {
    const result = out();
    returnKernel(kernel);
    return result;
  }
  const op = tf.customGrad((() => ({
    value: out(),
    gradFunc: (dy: tf.Tensor) => {
      const doutPointer = kernel.place(floats(dy));
      const dq = kernel.allocate(q.size);
      const dk = kernel.allocate(k.size);
      const dv = kernel.allocate(v.size);
      const scratch = kernel.allocate(queries * keys);
      kernel.exports.backward(
        qPointer,
        kPointer,
        vPointer,
        probsPointer,
        doutPointer,
        dq,
        dk,
        dv,
        scratch,
        batch,
        heads,
        queries,
        keys,
        width,
        options.scale,
        causal,
      );
      const gradients = [
        tf.tensor(kernel.view(dq, q.size).slice(), q.shape),
        tf.tensor(kernel.view(dk, k.size).slice(), k.shape),
        tf.tensor(kernel.view(dv, v.size).slice(), v.shape),
      ];
      returnKernel(kernel);
      return gradients;
    },
  })) as Parameters<typeof tf.customGrad>[0]) as (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.Tensor;
  return op(q, k, v);
}

/** Rotary tables [positions, headDimension / 2]: cos and sin of position / base^(2j / headDimension). */
export interface RotaryTables {
  cos: Float32Array;
  sin: Float32Array;
}

/**
 * The KV cache of a generation batch in the kernel's memory: per layer keys and values
 * [B, H, capacity, hd], and which of the positions so far are real tokens. Each step writes one row per
 * sequence in place (nothing is copied as the cache grows), and the kernel applies the rotary positions,
 * so a layer's step is one call from its fused q | k | v projections to its attention output.
 */
export class KernelCache {
  /** The instance whose memory holds the cache; a decoder allocates its step buffers here too. */
  readonly kernel = new AttentionKernel();
  private readonly layers: { k: number; v: number }[] = [];
  private readonly valid: number;
  private readonly positions: number;
  private readonly rows: number;
  /** How many rows the current step advances. */
  private stepping = 0;
  private readonly cos: number;
  private readonly sin: number;
  private readonly qkv: number;
  private readonly query: number;
  private readonly out: number;
  private readonly scores: number;
  private readonly heads: number;
  private readonly width: number;
  readonly batch: number;
  /** Positions filled so far. */
  length: number;

  /**
   * From a prefix pass: `prefix[i]` holds layer i's keys / values [P, H, L, hd] (rotated) for P prompts
   * and `prefixValid` [P, L]; cache row r is a copy of prompt `rows[r]` (a prompt's samples share its
   * prefix).
   */
  constructor(
    prefix: { k: tf.Tensor; v: tf.Tensor }[],
    prefixValid: tf.Tensor,
    rows: readonly number[],
    readonly capacity: number,
    rotary: RotaryTables,
  ) {
    const [, heads, length, width] = prefix[0]!.k.shape as [number, number, number, number];
    this.heads = heads;
    this.width = width;
    this.batch = rows.length;
    this.length = length;
    const kernel = this.kernel;
    const cacheSize = this.batch * heads * capacity * width;
    for (let i = 0; i < prefix.length; i++) {
      this.layers.push({ k: kernel.allocate(cacheSize), v: kernel.allocate(cacheSize) });
    }
    this.valid = kernel.allocate(this.batch * capacity);
    this.positions = kernel.allocate(this.batch);
    this.rows = kernel.allocate(this.batch);
    this.cos = kernel.allocate(rotary.cos.length);
    this.sin = kernel.allocate(rotary.sin.length);
    this.qkv = kernel.allocate(this.batch * 3 * heads * width);
    this.query = kernel.allocate(width);
    this.out = kernel.allocate(this.batch * heads * width);
    this.scores = kernel.allocate(capacity);
    // Copies after every allocation (growing the memory detaches earlier views).
    kernel.view(this.cos, rotary.cos.length).set(rotary.cos);
    kernel.view(this.sin, rotary.sin.length).set(rotary.sin);
    const span = length * width;
    prefix.forEach((layer, i) => {
      for (const [source, pointer] of [
        [floats(layer.k), this.layers[i]!.k],
        [floats(layer.v), this.layers[i]!.v],
      ] as const) {
        const target = kernel.view(pointer, cacheSize);
        rows.forEach((prompt, r) => {
          for (let h = 0; h < heads; h++) {
            const from = (prompt * heads + h) * span;
            target.set(source.subarray(from, from + span), (r * heads + h) * capacity * width);
          }
        });
      }
    });
    const validSource = floats(prefixValid);
    const valid = kernel.view(this.valid, this.batch * capacity);
    rows.forEach((prompt, r) => {
      valid.set(validSource.subarray(prompt * length, (prompt + 1) * length), r * capacity);
    });
  }

  /**
   * Starts a step that advances cache rows `rows` (the others, finished, are left as they are): row
   * rows[i]'s new token sits at rotary position positions[i] and is real.
   */
  begin(rows: Int32Array, positions: Int32Array): void {
    if (this.length >= this.capacity) throw new Error(`KV cache full (${this.capacity} positions)`);
    this.stepping = rows.length;
    this.kernel.integers(this.rows, rows.length).set(rows);
    this.kernel.integers(this.positions, rows.length).set(positions);
    const valid = this.kernel.view(this.valid, this.batch * this.capacity);
    for (const row of rows) valid[row * this.capacity + this.length] = 1;
  }

  /**
   * Layer `layer`'s attention for the step's rows from their projections qkv [rows, 3D] (q | k | v,
   * before rotation): caches k and v and returns the attention output [rows, D] (heads side by side).
   */
  attend(layer: number, qkv: tf.Tensor): tf.Tensor2D {
    const { kernel, stepping, heads, width } = this;
    const { k, v } = this.layers[layer]!;
    kernel.view(this.qkv, stepping * 3 * heads * width).set(floats(qkv));
    kernel.exports.decode(
      this.qkv,
      this.rows,
      stepping,
      this.positions,
      this.cos,
      this.sin,
      k,
      v,
      this.valid,
      this.out,
      this.query,
      this.scores,
      heads,
      this.length,
      this.capacity,
      width,
      1 / Math.sqrt(width),
    );
    return tf.tensor2d(kernel.view(this.out, stepping * heads * width).slice(), [stepping, heads * width]);
  }

  /** After every layer attended: the step's position is part of the cache. */
  advance(): void {
    this.length++;
  }
}
