// A helper thread of a policy with `workers` > 1 (helpers.ts): its own ONNX policy, answering calls.
import { parentPort, workerData } from 'node:worker_threads';
import type { HelperAnswer, HelperRequest } from './helpers.js';
import { OnnxPolicy, type OnnxPolicyOptions } from './policy.js';

const policy = OnnxPolicy.create(workerData as OnnxPolicyOptions);
parentPort!.on('message', async ({ id, method, args }: HelperRequest) => {
  let answer: HelperAnswer;
  try {
    const target = (await policy) as unknown as Record<string, (...values: unknown[]) => Promise<unknown>>;
    answer = { id, result: await target[method]!(...args) };
  } catch (error) {
    answer = { id, error: error instanceof Error ? error.message : String(error) };
  }
  parentPort!.postMessage(answer);
});
