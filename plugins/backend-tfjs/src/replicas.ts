/**
 * Data parallelism over CPU cores: worker threads, each with its own TensorFlow.js and a copy of the
 * model, compute their share of a batch (samples, scores, or the loss and gradients of some of its
 * sequences) while the main thread computes its own share. tfjs's wasm backend is single-threaded in
 * Node, so this is how a policy uses a second core.
 *
 * The main thread owns the weights and the optimiser; a replica receives the weights before its first
 * call after each change (1 M parameters: a few MB, milliseconds) and returns gradients as arrays.
 */
import { Worker } from 'node:worker_threads';
import type { TfjsPolicyOptions } from './policy.js';

/** What a replica computes; answers are plain data (structured clone). */
export type ReplicaRequest =
  | { type: 'weights'; weights: Float32Array[] }
  | { type: 'reference'; weights: Float32Array[] }
  | { type: 'generate'; prompts: unknown[]; promptIndices: number[]; n: number; sampling: unknown }
  | { type: 'score'; requests: unknown[]; which: 'current' | 'reference'; temperature: number }
  | {
      type: 'objective';
      sequences: unknown[];
      coefficients: number[];
      objective: unknown;
      temperature: number;
    }
  | { type: 'supervised'; examples: unknown[]; totalTokens: number };

/** Loss terms and gradients of one share of a batch; gradients in parameter order, null where untouched. */
export interface ShardGradients {
  loss: number;
  kl: number;
  clipped: number;
  gradients: (Float32Array | null)[];
}

export interface ReplicaSetup {
  options: Omit<TfjsPolicyOptions, 'workers'>;
  engine: string;
}

/** One worker thread holding a model copy. Calls run one at a time, in order. */
export class Replica {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  private nextId = 0;
  private failure: Error | undefined;
  /** Versions of the main thread's weights / reference this replica holds (-1: none yet). */
  weightsVersion = -1;
  referenceVersion = -1;

  constructor(setup: ReplicaSetup) {
    // The built worker (dist/worker.js): the same path from src/ (tests) and from dist/.
    this.worker = new Worker(new URL('../dist/worker.js', import.meta.url), { workerData: setup });
    this.worker.unref(); // an idle replica does not keep the process alive
    this.worker.on('message', (message: { id: number; result?: unknown; error?: string }) => {
      const call = this.pending.get(message.id);
      if (call === undefined) return;
      this.pending.delete(message.id);
      if (this.pending.size === 0) this.worker.unref();
      if (message.error !== undefined) call.reject(new Error(`policy worker: ${message.error}`));
      else call.resolve(message.result);
    });
    const fail = (error: Error) => {
      this.failure = error;
      for (const call of this.pending.values()) call.reject(error);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`policy worker exited (code ${code})`)));
  }

  call<T>(request: ReplicaRequest): Promise<T> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.nextId++;
    this.worker.ref(); // a pending call keeps the process alive until it answers
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ id, request });
    });
  }

  async terminate(): Promise<void> {
    this.failure ??= new Error('policy worker terminated');
    await this.worker.terminate();
  }
}

/** Splits `count` items into at most `parts` contiguous ranges of near-equal size (none empty). */
export function splitRanges(count: number, parts: number): [number, number][] {
  const used = Math.max(1, Math.min(parts, count));
  const ranges: [number, number][] = [];
  for (let part = 0; part < used; part++) {
    ranges.push([Math.floor((part * count) / used), Math.floor(((part + 1) * count) / used)]);
  }
  return ranges;
}
