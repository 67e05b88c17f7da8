import { ConfigError, type Dataset, type Task } from '@ekipl/core';

/** Tasks of a split in batches, starting over when the split runs out. */
export function batchesOf(dataset: Dataset, split: string, size: number) {
  let iterator = dataset.tasks(split)[Symbol.asyncIterator]();
  return {
    async next(): Promise<Task[]> {
      const batch: Task[] = [];
      let restarts = 0;
      while (batch.length < size) {
        const item = await iterator.next();
        if (item.done === true) {
          if (++restarts > 1)
            throw new ConfigError([{ path: 'dataset', message: `split "${split}" yields no tasks` }]);
          iterator = dataset.tasks(split)[Symbol.asyncIterator]();
          continue;
        }
        batch.push(item.value);
      }
      return batch;
    },
  };
}
