import type { Random, ScoredAction } from '@ekipl/core';

/**
 * How equal rewards are ordered. With 0/1 accuracy plus 0/1 format most rewards tie, so this decides
 * much of what the group contains:
 * - `random`: uniformly at random, from the step's seeded stream (reproducible);
 * - `policy-first`: the policy's own samples before auxiliary ones (then pool order);
 * - `aux-first`: auxiliary samples before the policy's (then pool order).
 */
export type TieRule = 'random' | 'policy-first' | 'aux-first';

export const tieRules = ['random', 'policy-first', 'aux-first'] as const;

/** Candidates best first: by reward, ties by `ties`. Does not modify `candidates`. */
export function rankByReward(
  candidates: readonly ScoredAction[],
  ties: TieRule,
  random: Random,
): ScoredAction[] {
  // One draw per candidate in pool order, so the order depends only on the seed and the pool.
  const tieKeys = candidates.map(() => (ties === 'random' ? random.float() : 0));
  const sourceRank = (action: ScoredAction) => {
    if (ties === 'random') return 0;
    const isPolicy = action.source === 'policy';
    return ties === 'policy-first' ? (isPolicy ? 0 : 1) : isPolicy ? 1 : 0;
  };
  return candidates
    .map((action, position) => ({ action, position }))
    .sort(
      (a, b) =>
        b.action.reward - a.action.reward ||
        sourceRank(a.action) - sourceRank(b.action) ||
        tieKeys[a.position]! - tieKeys[b.position]! ||
        a.position - b.position,
    )
    .map(({ action }) => action);
}
