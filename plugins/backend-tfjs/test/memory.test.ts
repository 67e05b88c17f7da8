import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { ObjectiveSettings, Prompt } from '@ekipl/core';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultTinyVlmConfig, type TfjsPolicy, type ThreadMemory } from '../src/index.js';
import { smallPolicy, solidPng } from './helpers.js';

// Issue 14: every weight sync left a copy of the model alive on each worker (~4 MB a step at the
// default size) until a worker's wasm heap aborted. Steps at the default size, where a leak of that
// kind shows in the process's memory too; the batch is tiny so a step takes a fraction of a second.
// Measured after a full collection, so that garbage awaiting the collector is not mistaken for a leak:
// workers started from here on get `gc`, and this thread takes it from a fresh context.
v8.setFlagsFromString('--expose-gc');
(globalThis as { gc?: () => void }).gc ??= runInNewContext('gc') as () => void;

const opened: TfjsPolicy[] = [];
afterAll(async () => {
  await Promise.all(opened.map((policy) => policy.dispose()));
});

async function defaultSizePolicy(): Promise<TfjsPolicy> {
  const policy = await smallPolicy({ config: defaultTinyVlmConfig, maxPromptTokens: 32, workers: 2 });
  opened.push(policy);
  return policy;
}

async function prompts(): Promise<Prompt[]> {
  return Promise.all(
    ['#ff0000', '#00ff00', '#0000ff', '#ffffff'].map(async (color, i) => ({
      system: '',
      user: `How many shapes? ${i}`,
      images: [{ data: await solidPng(color, 64), mediaType: 'image/png' }],
    })),
  );
}

/** The process's resident memory, MiB (both threads). */
const megabytes = () => process.memoryUsage().rss / 2 ** 20;

/**
 * Runs `step` `warmup` times, snapshots, runs it `steps` more times (noting the process's memory after
 * each), and returns both snapshots and the per-step growth of the process's memory.
 */
async function measure(
  policy: TfjsPolicy,
  step: (index: number) => Promise<unknown>,
  warmup: number,
  steps: number,
) {
  for (let index = 0; index < warmup; index++) await step(index);
  const before = { threads: await policy.memory({ collectGarbage: true }), rss: megabytes() };
  const growth: number[] = [];
  let last = before.rss;
  for (let index = warmup; index < warmup + steps; index++) {
    await step(index);
    // Every thread collected first: a step's garbage (generated samples, request arrays) grows V8's
    // heaps for a few steps before a collection would come, which read as steady growth (a median of
    // 1.8 MB once, with every thread's live memory exactly flat).
    await policy.memory({ collectGarbage: true });
    const now = megabytes();
    growth.push(now - last);
    last = now;
  }
  const after = { threads: await policy.memory({ collectGarbage: true }) };
  return { before, after, growth };
}

/**
 * A leak grows the process a little at every step (4-9 MB at the default size); allocators and V8's
 * heaps grow it in a few jumps, by tens of MB on a busy machine. So the typical step's growth after a
 * collection, not the total, tells them apart: a 4 MB-a-step leak planted in a step gave a median of
 * 4 MB, these steps 0 MB. (A bound of 80 MB on the total failed once at 96 MB on a busy machine with no
 * leak.)
 */
function expectNoSteadyGrowth(growth: number[]): void {
  const sorted = [...growth].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  expect(median).toBeLessThan(1);
}

function expectFlat(before: ThreadMemory[], after: ThreadMemory[]): void {
  expect(before.map((thread) => thread.thread)).toEqual(['main', 'worker 1']);
  // Every thread: the same live tensors, bytes and wasm heap after the steps as before them.
  expect(after).toEqual(before);
}

describe('memory stays flat over steps on the worker path (workers: 2, default model size)', () => {
  it('supervised steps', async () => {
    const policy = await defaultSizePolicy();
    const examples = (await prompts()).map((prompt, i) => ({
      prompt,
      tokens: policy.encode(`<answer>${i}</answer>`),
    }));
    const { before, after, growth } = await measure(
      policy,
      () => policy.supervisedStep(examples, { learningRate: 1e-4 }),
      5,
      40,
    );
    expectFlat(before.threads, after.threads);
    expectNoSteadyGrowth(growth);
  });

  it('RL steps: generate, reference scoring and trainStep', async () => {
    const policy = await defaultSizePolicy();
    const inputs = await prompts();
    const objective = {
      clipLow: 0.2,
      clipHigh: 0.28,
      beta: 0.04,
      aggregation: 'token-mean',
      maxCompletionLength: 8,
      learningRate: 1e-4,
    } satisfies ObjectiveSettings;
    const step = async (index: number) => {
      const samples = await policy.generate(inputs, 2, {
        temperature: 1,
        topP: 1,
        topK: 0,
        maxTokens: 8,
        seed: index,
      });
      const requests = samples.flatMap((group, p) =>
        group.map((sample) => ({ prompt: inputs[p]!, tokens: sample.tokens })),
      );
      const reference = await policy.score(requests, 'reference', 1);
      const sequences = requests.map((request, j) => ({
        ...request,
        oldLogProbs: samples[Math.floor(j / 2)]![j % 2]!.logProbs,
        refLogProbs: reference[j]!,
        advantage: j % 2 === 0 ? 1 : -1,
        weight: 1,
        source: 'policy',
      }));
      await policy.trainStep({ sequences }, objective, 1);
    };
    const { before, after, growth } = await measure(policy, step, 5, 30);
    expectFlat(before.threads, after.threads);
    expectNoSteadyGrowth(growth);
  });
});
