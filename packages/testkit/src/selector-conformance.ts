import { Random, type ScoredAction, type Selector } from '@ekipl/core';
import { ConformanceError } from './conformance-error.js';

/**
 * Invariants every selector keeps on random pools full of reward ties: exactly G distinct candidates,
 * each one of the objects it was given; the whole pool when it has exactly G; the same random seed
 * gives the same selection; the candidate list is not modified. Throws a ConformanceError listing failures.
 */
export async function selectorConformance(
  selector: Selector,
  options: { seed?: number; trials?: number } = {},
) {
  const random = Random.fromSeed(options.seed ?? 1).split('selector-conformance');
  const failures: string[] = [];
  for (let trial = 0; trial < (options.trials ?? 100); trial++) {
    const groupSize = 1 + random.int(8);
    const auxiliaryCount = trial % 10 === 0 ? 0 : random.int(3 * groupSize);
    const pool = scoredPool(random, groupSize, auxiliaryCount);
    const name = `trial ${trial} (G = ${groupSize}, pool ${pool.length})`;
    const snapshot = pool.slice();
    let chosen: ScoredAction[];
    let again: ScoredAction[];
    try {
      chosen = selector.select(pool, groupSize, Random.fromSeed(trial).split('select'));
      again = selector.select(pool, groupSize, Random.fromSeed(trial).split('select'));
    } catch (error) {
      failures.push(`${name}: threw ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    const known = new Set(pool);
    if (chosen.length !== groupSize || new Set(chosen).size !== groupSize) {
      failures.push(`${name}: returned ${chosen.length} actions (${new Set(chosen).size} distinct)`);
    }
    if (chosen.some((action) => !known.has(action)))
      failures.push(`${name}: returned an action it was not given`);
    if (pool.length === groupSize && new Set(chosen).size !== groupSize)
      failures.push(`${name}: pool of exactly G not kept whole`);
    if (chosen.map((action) => action.index).join() !== again.map((action) => action.index).join()) {
      failures.push(`${name}: the same seed gave another selection`);
    }
    if (pool.some((action, i) => action !== snapshot[i]))
      failures.push(`${name}: modified the candidate list`);
  }
  if (failures.length > 0) {
    throw new ConformanceError(
      `selector "${selector.name}" broke its contract:\n  ${failures.slice(0, 20).join('\n  ')}`,
    );
  }
}

/** G policy samples then `auxiliaryCount` auxiliary ones, rewards from a small set so ties abound. */
export function scoredPool(random: Random, groupSize: number, auxiliaryCount: number): ScoredAction[] {
  const rewards = [0, 0.5, 1, 2];
  return Array.from({ length: groupSize + auxiliaryCount }, (_, index) => {
    const source = index < groupSize ? 'policy' : random.pick(['gpt', 'gemini']);
    const reward = random.pick(rewards);
    return { source, text: `${source} answer ${index}`, index, reward, rewardParts: { total: reward } };
  });
}
