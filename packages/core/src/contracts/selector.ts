import type { Random } from '../random.js';
import type { ScoredAction } from './action.js';
import type { SpecificationVersion } from './specification-version.js';

/**
 * Chooses the group that the update learns from among one task's scored candidates (the policy's
 * samples and every auxiliary sampler's). Must return exactly `groupSize` distinct candidates (the
 * same objects it was given), and use only `random` for randomness, so runs reproduce.
 */
export interface Selector {
  readonly specificationVersion: SpecificationVersion;
  readonly name: string;
  select(candidates: readonly ScoredAction[], groupSize: number, random: Random): ScoredAction[];
}
