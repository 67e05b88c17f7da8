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
import { EkiplError } from '@ekipl/core';
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
      coefficients: { policyGradient: number; supervised: number }[];
      objective: unknown;
      temperature: number;
    }
  | { type: 'supervised'; examples: unknown[]; totalTokens: number }
  | { type: 'memory'; collectGarbage: boolean };

/** Loss terms of one share of a batch (sums: k3 and its token count, clipped tokens). */
export interface ShardTerms {
  loss: number;
  kl: number;
  klTokens: number;
  clipped: number;
}

/** Loss terms and gradients of one share of a batch; gradients in parameter order, null where untouched. */
export interface ShardGradients extends ShardTerms {
  gradients: (Float32Array | null)[];
}

export interface ReplicaSetup {
  options: Omit<TfjsPolicyOptions, 'workers'>;
  engine: string;
}

/** What a worker answers: a result, or an error and whether it left the worker unusable. */
export interface ReplicaAnswer {
  id: number;
  result?: unknown;
  error?: string;
  /** A wasm trap (abort, out of bounds) or an allocation failure: the worker's engine is gone. */
  fatal?: boolean;
}

/** True for errors after which a thread's wasm engine cannot be trusted (it aborted or ran out of memory). */
export function isFatalEngineError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.name === 'RuntimeError' ||
    /out of memory|allocation failed|could not allocate|Maximum call stack/i.test(error.message)
  );
}

/**
 * A worker thread that died (its wasm engine aborted, it ran out of memory, or it exited): the run
 * cannot go on with that model copy. The message names the worker, what it was computing and the model,
 * so a user can tell a model too big for the engine's heap from a bug.
 */
export class PolicyWorkerError extends EkiplError {
  constructor(
    readonly worker: string,
    readonly operation: string,
    readonly model: string,
    readonly reason: string,
  ) {
    super(
      `policy ${worker} died during ${operation} (${reason}); model ${model}. ` +
        'If memory ran out, use a smaller model or batch, or fewer workers (policy.options.workers); ' +
        'the main thread holds the weights, so the run can be resumed from its last checkpoint',
    );
    this.name = 'PolicyWorkerError';
  }
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
  /** The request each pending call made, to name it when the worker dies. */
  private readonly operations = new Map<number, string>();
  /** Versions of the main thread's weights / reference this replica holds (-1: none yet). */
  weightsVersion = -1;
  referenceVersion = -1;

  /**
   * `name` identifies it in errors (`worker 1 of 1`); `model` describes the model copy it holds;
   * `script` is the worker's module, by default the built worker (dist/worker.js: the same path from
   * src/ in tests and from dist/).
   */
  constructor(
    setup: ReplicaSetup,
    private readonly name: string,
    private readonly model: string,
    script: URL = new URL('../dist/worker.js', import.meta.url),
  ) {
    this.worker = new Worker(script, { workerData: setup });
    this.worker.unref(); // an idle replica does not keep the process alive
    this.worker.on('message', (message: ReplicaAnswer) => {
      const call = this.pending.get(message.id);
      if (call === undefined) return;
      const operation = this.operations.get(message.id) ?? 'a call';
      this.pending.delete(message.id);
      this.operations.delete(message.id);
      if (this.pending.size === 0) this.worker.unref();
      if (message.error === undefined) call.resolve(message.result);
      else if (message.fatal === true) {
        const error = this.died(operation, message.error);
        call.reject(error);
        this.fail(error);
        void this.worker.terminate();
      } else call.reject(new Error(`policy ${this.name}: ${message.error}`));
    });
    this.worker.on('error', (error) =>
      this.fail(this.died(this.pendingOperation(), `${error.name}: ${error.message}`)),
    );
    this.worker.on('exit', (code) =>
      this.fail(this.died(this.pendingOperation(), `exited with code ${code}`)),
    );
  }

  call<T>(request: ReplicaRequest): Promise<T> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.nextId++;
    this.worker.ref(); // a pending call keeps the process alive until it answers
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.operations.set(id, request.type);
      this.worker.postMessage({ id, request });
    });
  }

  private died(operation: string, reason: string): PolicyWorkerError {
    return new PolicyWorkerError(this.name, operation, this.model, reason);
  }

  private pendingOperation(): string {
    const [first] = this.operations.values();
    return first ?? 'no call (idle)';
  }

  /** Rejects every pending call, and every later one, with the first failure. */
  private fail(error: Error): void {
    this.failure ??= error;
    for (const call of this.pending.values()) call.reject(this.failure);
    this.pending.clear();
    this.operations.clear();
  }

  async terminate(): Promise<void> {
    this.failure ??= new Error(`policy ${this.name} terminated`);
    await this.worker.terminate();
  }
}
