/**
 * More cores for generation and scoring: ONNX Runtime runs a call on the thread that makes it, and the
 * tiny VLM's operations are too small for its intra-op threads to help, so a policy with `workers` > 1
 * keeps `workers - 1` worker threads, each with its own sessions and a copy of the weights, and gives
 * each a contiguous share of the prompts while the main thread computes its own.
 */
import { Worker } from 'node:worker_threads';
import { EkiplError } from '@ekipl/core';

/** A call a helper makes on its policy: the method and its (structured-clone) arguments. */
export interface HelperRequest {
  id: number;
  method: 'generateAt' | 'score' | 'setWeights' | 'restore';
  args: unknown[];
}

export interface HelperAnswer {
  id: number;
  result?: unknown;
  error?: string;
}

/** One worker thread with its own ONNX policy; calls are answered in order. */
export class Helper {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  private nextId = 0;
  private failure: Error | undefined;

  /** `setup` is what the worker creates its policy from (OnnxPolicyOptions without `workers`). */
  constructor(
    setup: unknown,
    private readonly name: string,
    script: URL = new URL('../dist/worker.js', import.meta.url),
  ) {
    this.worker = new Worker(script, { workerData: setup });
    this.worker.unref(); // an idle helper does not keep the process alive
    this.worker.on('message', (answer: HelperAnswer) => {
      const call = this.pending.get(answer.id);
      if (call === undefined) return;
      this.pending.delete(answer.id);
      if (this.pending.size === 0) this.worker.unref();
      if (answer.error === undefined) call.resolve(answer.result);
      else call.reject(new EkiplError(`${this.name}: ${answer.error}`));
    });
    this.worker.on('error', (error) => this.fail(`${error.name}: ${error.message}`));
    this.worker.on('exit', (code) => this.fail(`exited with code ${code}`));
  }

  call<T>(method: HelperRequest['method'], ...args: unknown[]): Promise<T> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.nextId++;
    this.worker.ref();
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ id, method, args } satisfies HelperRequest);
    });
  }

  async terminate(): Promise<void> {
    this.failure ??= new EkiplError(`${this.name} was disposed`);
    await this.worker.terminate();
  }

  private fail(reason: string): void {
    this.failure ??= new EkiplError(`${this.name} died (${reason})`);
    for (const call of this.pending.values()) call.reject(this.failure);
    this.pending.clear();
  }
}
