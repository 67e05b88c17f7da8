import { Random, type ScoredAction, type Selector } from '@ekipl/core';
import { scoredPool, selectorConformance } from '@ekipl/testkit';
import { describe, expect, it } from 'vitest';
import { ampo, quota, replaceWorst, topK } from '../src/index.js';

async function create(
  plugin: typeof topK | typeof quota | typeof replaceWorst | typeof ampo,
  options: Record<string, unknown> = {},
) {
  return (await plugin.create(plugin.options.parse(options) as never, {
    name: plugin.name,
    random: Random.fromSeed(1),
    configDirectory: '.',
    warn: () => {},
  })) as Selector;
}

function pool(entries: [source: string, reward: number][]): ScoredAction[] {
  return entries.map(([source, reward], index) => ({
    source,
    text: `${source}-${index}`,
    index,
    reward,
    rewardParts: {},
  }));
}

// Rewards: policy 1 0 1 0 | gpt 1 1. Four candidates tie at reward 1 for three places.
const tied = pool([
  ['policy', 1],
  ['policy', 0],
  ['policy', 1],
  ['policy', 0],
  ['gpt', 1],
  ['gpt', 1],
]);
const indices = (actions: ScoredAction[]) => actions.map((action) => action.index);

describe('top-k', () => {
  it('policy-first keeps the policy samples among tied rewards', async () => {
    expect(
      indices((await create(topK, { ties: 'policy-first' })).select(tied, 3, Random.fromSeed(1))),
    ).toEqual([0, 2, 4]);
  });

  it('aux-first keeps the auxiliary ones', async () => {
    expect(indices((await create(topK, { ties: 'aux-first' })).select(tied, 3, Random.fromSeed(1)))).toEqual([
      4, 5, 0,
    ]);
  });

  it('random ties are reproducible by seed and fair across seeds', async () => {
    const selector = await create(topK);
    expect(indices(selector.select(tied, 3, Random.fromSeed(42)))).toEqual(
      indices(selector.select(tied, 3, Random.fromSeed(42))),
    );
    const excluded = new Map<number, number>();
    for (let seed = 0; seed < 800; seed++) {
      const chosen = new Set(indices(selector.select(tied, 3, Random.fromSeed(seed))));
      expect(chosen.has(1) || chosen.has(3)).toBe(false); // reward 0 never beats a reward 1
      for (const index of [0, 2, 4, 5])
        if (!chosen.has(index)) excluded.set(index, (excluded.get(index) ?? 0) + 1);
    }
    // Each of the four tied candidates is the one left out about 1/4 of the time (200 of 800; sd ~12).
    for (const index of [0, 2, 4, 5]) {
      expect(excluded.get(index)).toBeGreaterThan(150);
      expect(excluded.get(index)).toBeLessThan(250);
    }
  });

  it('higher rewards always win over the tie rule', async () => {
    const mixed = pool([
      ['policy', 0.5],
      ['gpt', 2],
      ['policy', 1],
    ]);
    expect(
      indices((await create(topK, { ties: 'policy-first' })).select(mixed, 2, Random.fromSeed(1))),
    ).toEqual([1, 2]);
  });
});

describe('quota', () => {
  it('keeps at most maxAuxiliary auxiliary actions, filling with the best policy samples', async () => {
    const selector = await create(quota, { maxAuxiliary: 1, ties: 'aux-first' });
    // Ranked aux-first: 4 5 0 2 1 3 -> 4 (one auxiliary), skip 5, then 0 and 2.
    expect(indices(selector.select(tied, 3, Random.fromSeed(1)))).toEqual([4, 0, 2]);
    const none = await create(quota, { maxAuxiliary: 0 });
    expect(none.select(tied, 4, Random.fromSeed(1)).every((action) => action.source === 'policy')).toBe(true);
  });
});

describe('replace-worst', () => {
  it('swaps the policy worst for strictly better auxiliary actions, one for one', async () => {
    const candidates = pool([
      ['policy', 1],
      ['policy', 0],
      ['policy', 1],
      ['policy', 0],
      ['gpt', 1],
      ['gpt', 1],
      ['gpt', 0.5],
    ]);
    const two = (await create(replaceWorst, { replace: 2 })).select(candidates, 4, Random.fromSeed(3));
    expect(two.map((action) => action.reward).sort()).toEqual([1, 1, 1, 1]);
    expect(two.filter((action) => action.source === 'gpt')).toHaveLength(2);
    // A third swap would put 0.5 in place of a 1: refused.
    const three = (await create(replaceWorst, { replace: 3 })).select(candidates, 4, Random.fromSeed(3));
    expect(three.map((action) => action.reward).sort()).toEqual([1, 1, 1, 1]);
    expect(three.filter((action) => action.source === 'gpt')).toHaveLength(2);
  });

  it('never swaps in a lower or equal reward (random pools)', async () => {
    const random = Random.fromSeed('replace-worst-property');
    for (let trial = 0; trial < 300; trial++) {
      const groupSize = 1 + random.int(8);
      const candidates = scoredPool(random, groupSize, random.int(2 * groupSize + 1));
      const replace = random.int(groupSize + 1);
      const chosen = (await create(replaceWorst, { replace })).select(
        candidates,
        groupSize,
        Random.fromSeed(trial),
      );
      const policyRewards = candidates
        .filter((action) => action.source === 'policy')
        .map((action) => action.reward);
      const chosenRewards = chosen.map((action) => action.reward);
      // Each swap replaces a reward with a strictly higher one: sorted, the group dominates the policy's samples.
      const ascending = (values: number[]) => values.slice().sort((a, b) => a - b);
      const sortedPolicy = ascending(policyRewards);
      ascending(chosenRewards).forEach((reward, i) => {
        expect(reward).toBeGreaterThanOrEqual(sortedPolicy[i]!);
      });
      const swapped = chosen.filter((action) => action.source !== 'policy');
      expect(swapped.length).toBeLessThanOrEqual(replace);
      const droppedPolicy = candidates.filter(
        (action) => action.source === 'policy' && !chosen.includes(action),
      );
      for (const incoming of swapped) {
        for (const dropped of droppedPolicy) expect(incoming.reward).toBeGreaterThan(dropped.reward);
      }
    }
  });
});

describe('conformance', () => {
  for (const [plugin, options] of [
    [topK, {}],
    [topK, { ties: 'policy-first' }],
    [topK, { ties: 'aux-first' }],
    [quota, { maxAuxiliary: 1 }],
    [replaceWorst, { replace: 2 }],
    [ampo, {}],
    [ampo, { replace: 2, onlyCorrect: false }],
  ] as const) {
    it(`${plugin.name} ${JSON.stringify(options)} passes selectorConformance`, async () => {
      await selectorConformance(await create(plugin, options));
    });
  }
});

describe('ampo', () => {
  /** Candidates with an accuracy part (1 right, 0 wrong) and total reward = format + accuracy. */
  const graded = (entries: [source: string, accuracy: number][]): ScoredAction[] =>
    entries.map(([source, accuracy], index) => ({
      source,
      text: `${source}-${index}`,
      index,
      reward: 1 + accuracy,
      rewardParts: { format: 1, accuracy },
    }));

  it('a group where the policy has a correct answer stays the policy own G', async () => {
    const candidates = graded([
      ['policy', 0],
      ['policy', 1],
      ['policy', 0],
      ['gpt', 1],
      ['gpt', 1],
    ]);
    const chosen = (await create(ampo, { replace: 2 })).select(candidates, 3, Random.fromSeed(1));
    expect(chosen.every((action) => action.source === 'policy')).toBe(true);
  });

  it('a stuck group: the worst policy samples are replaced by correct external answers only', async () => {
    // Policy all wrong (one also unformatted: reward 0, the worst); gpt one right, one wrong.
    const candidates = graded([
      ['policy', 0],
      ['policy', 0],
      ['policy', 0],
      ['gpt', 0],
      ['gpt', 1],
    ]);
    candidates[1] = { ...candidates[1]!, reward: 0, rewardParts: { format: 0, accuracy: 0 } };
    const chosen = (await create(ampo, { replace: 2 })).select(candidates, 3, Random.fromSeed(1));
    // One correct external answer exists, so one swap, and it replaces the worst (index 1).
    expect(chosen.map((action) => action.index).sort()).toEqual([0, 2, 4]);
    // onlyCorrect: false lets the wrong one in too, replacing the next worst.
    const loose = (await create(ampo, { replace: 2, onlyCorrect: false })).select(
      candidates,
      3,
      Random.fromSeed(1),
    );
    expect(loose.filter((action) => action.source === 'gpt')).toHaveLength(2);
    expect(loose.some((action) => action.index === 1)).toBe(false);
  });
});
