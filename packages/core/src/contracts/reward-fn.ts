import type { Action } from './action.js';
import type { SpecificationVersion } from './specification-version.js';
import type { Task } from './task.js';

/** A reward with named sub-parts (all logged); `value` is what enters the weighted sum. */
export interface RewardBreakdown {
  value: number;
  parts: Record<string, number>;
}

export type RewardValue = number | RewardBreakdown;

/**
 * A verifiable reward. Must be total: no input makes it throw, hang or backtrack catastrophically;
 * a malformed answer scores 0 (or the documented floor of its range).
 */
export interface RewardFn {
  readonly specificationVersion: SpecificationVersion;
  /** Name under which the reward and its parts are logged (`reward/accuracy`). */
  readonly name: string;
  score(action: Action, task: Task): RewardValue | Promise<RewardValue>;
}
