import type { AuxiliarySampler, Dataset, Task } from '@ekipl/core';
import { describe, expect, it } from 'vitest';
import { createFakeTask, datasetConformance, samplerConformance } from '../src/index.js';

function dataset(make: (split: string, index: number) => Task, honourLimit = true): Dataset {
  return {
    specificationVersion: 'v1',
    name: 'numbers',
    splits: ['train', 'id'],
    async *tasks(split, options = {}) {
      const count = honourLimit ? Math.min(options.limit ?? 50, 50) : 50;
      for (let i = 0; i < count; i++) yield make(split, i);
    },
  };
}
const goodTask = (split: string, index: number): Task => ({
  ...createFakeTask(`${split}-${index}`, String(index % 7)),
  split,
});

function sampler(
  answer: (request: number, k: number) => { source?: string; text: string; latencyMs?: number },
): AuxiliarySampler {
  return {
    specificationVersion: 'v1',
    name: 'expert',
    async sample(requests, n) {
      return {
        actions: requests.map((_, r) =>
          Array.from({ length: n }, (_, k) => {
            const { source, text, latencyMs } = answer(r, k);
            return { source: source ?? 'expert', text, ...(latencyMs === undefined ? {} : { latencyMs }) };
          }),
        ),
      };
    },
  };
}
const tasks = [createFakeTask('a', '1'), createFakeTask('b', '2')];

describe('datasetConformance', () => {
  it('passes a deterministic dataset', async () => {
    await datasetConformance(dataset(goodTask));
  });

  it('names each broken rule: limit ignored, repeated ids, empty answers, wrong split, tasks that change', async () => {
    await expect(datasetConformance(dataset(goodTask, false), { limit: 5 })).rejects.toThrow(
      'split train: 6 tasks for limit 5',
    );
    await expect(datasetConformance(dataset((split) => goodTask(split, 1)))).rejects.toThrow('id repeated');
    await expect(
      datasetConformance(dataset((split, i) => ({ ...goodTask(split, i), answer: '' }))),
    ).rejects.toThrow('answer is empty');
    await expect(datasetConformance(dataset((_, i) => goodTask('train', i)))).rejects.toThrow(
      'split id, task "train-0": split is "train"',
    );
    let reads = 0;
    await expect(
      datasetConformance(
        dataset((split, i) => ({ ...goodTask(split, i), question: `read ${i === 0 ? reads++ : 0}` })),
      ),
    ).rejects.toThrow('a second read gave other tasks');
  });
});

describe('samplerConformance', () => {
  it('passes a deterministic sampler', async () => {
    await samplerConformance(
      sampler((r, k) => ({ text: `<answer>${r + k}</answer>` })),
      { tasks },
    );
  });

  it('judges determinism by the answers, not by how long each took', async () => {
    let clock = 0;
    await samplerConformance(
      sampler((r, k) => ({ text: `<answer>${r + k}</answer>`, latencyMs: clock++ })),
      { tasks },
    );
  });

  it('names each broken rule: another source name, answers that change with the same seed', async () => {
    await expect(
      samplerConformance(
        sampler(() => ({ source: 'gpt', text: 'x' })),
        { tasks },
      ),
    ).rejects.toThrow('request 0: source "gpt", not "expert"');
    let calls = 0;
    await expect(
      samplerConformance(
        sampler(() => ({ text: String(calls++) })),
        { tasks },
      ),
    ).rejects.toThrow('the same seed gave other answers');
    calls = 0;
    await samplerConformance(
      sampler(() => ({ text: String(calls++) })),
      { tasks, deterministic: false },
    );
  });
});
