/**
 * A policy worker thread (see replicas.ts): a TfjsPolicy copy that answers the main thread's requests
 * one at a time, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type {
  ObjectiveSettings,
  Prompt,
  SamplingSettings,
  ScoreRequest,
  SupervisedExample,
  TrainBatch,
} from '@ekipl/core';
import { selectEngine } from './engine.js';
import { TfjsPolicy } from './policy.js';
import {
  isFatalEngineError,
  type ReplicaAnswer,
  type ReplicaRequest,
  type ReplicaSetup,
} from './replicas.js';

const setup = workerData as ReplicaSetup;
const ready = selectEngine(setup.engine as 'wasm' | 'cpu' | 'tensorflow').then(
  () => new TfjsPolicy({ ...setup.options, workers: 1 }),
);

async function answer(request: ReplicaRequest): Promise<unknown> {
  const policy = await ready;
  switch (request.type) {
    case 'weights':
      policy.setWeights(request.weights);
      return null;
    case 'reference':
      policy.setReference(request.weights);
      return null;
    case 'generate':
      return policy.generateLocal(
        request.prompts as Prompt[],
        request.promptIndices,
        request.n,
        request.sampling as SamplingSettings,
      );
    case 'score':
      return policy.scoreLocal(request.requests as ScoreRequest[], request.which, request.temperature);
    case 'objective':
      return policy.objectiveShard(
        request.sequences as TrainBatch['sequences'],
        request.coefficients,
        request.objective as ObjectiveSettings,
        request.temperature,
      );
    case 'supervised':
      return policy.supervisedShard(request.examples as SupervisedExample[], request.totalTokens);
    case 'memory':
      return policy.localMemory('worker', request.collectGarbage);
  }
}

let queue: Promise<unknown> = Promise.resolve();
parentPort!.on('message', ({ id, request }: { id: number; request: ReplicaRequest }) => {
  queue = queue.then(async () => {
    try {
      const result = await answer(request);
      const transfer = shardTransfers(result);
      parentPort!.postMessage({ id, result } satisfies ReplicaAnswer, transfer);
    } catch (error) {
      parentPort!.postMessage({
        id,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        fatal: isFatalEngineError(error),
      } satisfies ReplicaAnswer);
    }
  });
});

/** Gradient arrays move to the main thread instead of being copied. */
function shardTransfers(result: unknown): ArrayBuffer[] {
  if (typeof result !== 'object' || result === null || !('gradients' in result)) return [];
  return (result.gradients as (Float32Array | null)[])
    .filter((gradient): gradient is Float32Array => gradient !== null)
    .map((gradient) => gradient.buffer as ArrayBuffer);
}
