import { type Dataset, specificationVersion, type Task, type TaskSplit } from '@ekipl/core';

/** A dataset over fixed tasks, split by each task's `split`. */
export function createFakeDataset(tasks: readonly Task[], name = 'fake-dataset'): Dataset {
  const splits = [...new Set(tasks.map((task) => task.split))];
  return {
    specificationVersion,
    name,
    splits,
    async *tasks(split: TaskSplit, options: { limit?: number } = {}) {
      let yielded = 0;
      for (const task of tasks) {
        if (task.split !== split) continue;
        if (options.limit !== undefined && yielded >= options.limit) return;
        yielded++;
        yield task;
      }
    },
  };
}
