import { join } from 'node:path';
import { loadPlugin, Random, type RewardFn } from '@ekipl/core';
import { createFakeTask, rewardConformance } from '@ekipl/testkit';
import { describe, expect, it } from 'vitest';

// Loaded the way a config would load it: by package name, resolved from a folder next to it.
async function reward(options: Record<string, unknown> = {}): Promise<RewardFn> {
  const plugin = await loadPlugin('ekipl-plugin-length-penalty', {
    builtins: [],
    configDirectory: join(import.meta.dirname, '..'),
    expectedKind: 'reward',
  });
  return (await plugin.create(plugin.options.parse(options), {
    name: 'brevity',
    random: Random.fromSeed(1),
    configDirectory: '.',
    warn: () => {},
  })) as RewardFn;
}

describe('length-penalty', () => {
  it('is 0 up to the limit, -0.5 at 1.5 x the limit, the penalty from twice the limit on', async () => {
    const brevity = await reward({ maxCharacters: 10 });
    const task = createFakeTask('t', '1');
    const score = (length: number) => brevity.score({ source: 'policy', text: 'x'.repeat(length) }, task);
    expect([score(0), score(10), score(15), score(20), score(100)]).toEqual([0, 0, -0.5, -1, -1]);
  });

  it('passes rewardConformance in its documented range [-1, 0]', async () => {
    await rewardConformance(await reward(), {
      tasks: [createFakeTask('t', '1')],
      range: [-1, 0],
      randomTrials: 50,
    });
  });
});
