import type { Dataset, Task } from '@ekipl/core';
import { ConformanceError } from './conformance-error.js';

/**
 * Invariants every dataset keeps, on each split it declares: `limit` is honoured; every task has a
 * non-empty id (unique in its split), family, question and answer, its split's name, and images of
 * encoded bytes with a media type; reading a split twice gives the same tasks, byte for byte (runs
 * and ablations train on the same data). Throws a ConformanceError listing failures.
 */
export async function datasetConformance(dataset: Dataset, options: { limit?: number } = {}) {
  const limit = options.limit ?? 20;
  const failures: string[] = [];
  if (dataset.splits.length === 0) failures.push('declares no splits');
  for (const split of dataset.splits) {
    let first: Task[];
    let second: Task[];
    try {
      first = await collect(dataset, split, limit);
      second = await collect(dataset, split, limit);
    } catch (error) {
      failures.push(`split ${split}: threw ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    if (first.length > limit) failures.push(`split ${split}: ${first.length} tasks for limit ${limit}`);
    if (first.length === 0) failures.push(`split ${split}: no tasks`);
    const ids = new Set<string>();
    for (const task of first) {
      const where = `split ${split}, task ${JSON.stringify(task.id)}`;
      for (const field of ['id', 'family', 'question', 'answer'] as const) {
        if (typeof task[field] !== 'string' || task[field] === '')
          failures.push(`${where}: ${field} is empty`);
      }
      if (task.split !== split) failures.push(`${where}: split is ${JSON.stringify(task.split)}`);
      if (ids.has(task.id)) failures.push(`${where}: id repeated`);
      ids.add(task.id);
      if (!Array.isArray(task.images)) failures.push(`${where}: images is not a list`);
      for (const [i, image] of (task.images ?? []).entries()) {
        if (!(image.data instanceof Uint8Array) || image.data.length === 0)
          failures.push(`${where}: image ${i} has no bytes`);
        if (typeof image.mediaType !== 'string' || !image.mediaType.includes('/'))
          failures.push(`${where}: image ${i} has no media type`);
      }
    }
    if (fingerprint(first) !== fingerprint(second)) {
      failures.push(`split ${split}: a second read gave other tasks`);
    }
  }
  if (failures.length > 0) {
    throw new ConformanceError(
      `dataset "${dataset.name}" broke its contract:\n  ${failures.slice(0, 20).join('\n  ')}`,
    );
  }
}

async function collect(dataset: Dataset, split: string, limit: number): Promise<Task[]> {
  const tasks: Task[] = [];
  for await (const task of dataset.tasks(split, { limit })) {
    tasks.push(task);
    if (tasks.length > limit) break;
  }
  return tasks;
}

function fingerprint(tasks: readonly Task[]): string {
  return JSON.stringify(tasks, (_, value) => (value instanceof Uint8Array ? Array.from(value) : value));
}
