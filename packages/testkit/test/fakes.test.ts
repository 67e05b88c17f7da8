import { describe, expect, it } from 'vitest';
import { createFakeDataset, createFakeTask } from '../src/index.js';

describe('createFakeDataset', () => {
  it('yields the tasks of a split, up to the limit', async () => {
    const tasks = [
      createFakeTask('a', '1'),
      createFakeTask('b', '2'),
      { ...createFakeTask('c', '3'), split: 'ood' },
    ];
    const dataset = createFakeDataset(tasks);
    expect(dataset.splits).toEqual(['train', 'ood']);
    const ids = async (split: string, limit?: number) => {
      const found: string[] = [];
      for await (const task of dataset.tasks(split, limit === undefined ? {} : { limit }))
        found.push(task.id);
      return found;
    };
    expect(await ids('train')).toEqual(['a', 'b']);
    expect(await ids('train', 1)).toEqual(['a']);
    expect(await ids('ood')).toEqual(['c']);
  });
});
