import type { SpecificationVersion } from './specification-version.js';
import type { Task, TaskSplit } from './task.js';

/** A source of tasks. The same options and seed yield the same tasks, byte for byte. */
export interface Dataset {
  readonly specificationVersion: SpecificationVersion;
  readonly name: string;
  /** The splits it offers, e.g. `['train', 'id', 'ood']`. */
  readonly splits: readonly TaskSplit[];
  tasks(split: TaskSplit, options?: { limit?: number }): AsyncIterable<Task>;
}
