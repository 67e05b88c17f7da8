import { definePlugin, specificationVersion, z } from '@ekipl/core';
import { rankByReward } from './rank.js';

/**
 * LUFFY-style: keep the policy's own G samples and swap its `replace` worst for the best auxiliary
 * actions, one for one, only while the auxiliary action's reward is strictly higher than the sample it
 * replaces, so a swap never lowers a reward. Among equal rewards, which policy sample counts as worst
 * and which auxiliary action as best is drawn at random from the seeded stream.
 */
export const replaceWorst = definePlugin({
  kind: 'selector',
  name: 'replace-worst',
  description: "keep the policy's G samples, swap its worst for better auxiliary actions (LUFFY)",
  options: z.strictObject({
    replace: z.int().nonnegative().default(1).describe('At most this many swaps per group.'),
  }),
  create: (options, context) => ({
    specificationVersion,
    name: context.name,
    select(candidates, groupSize, random) {
      const policyBestFirst = rankByReward(
        candidates.filter((action) => action.source === 'policy'),
        'random',
        random.split('policy'),
      );
      const auxiliaryBestFirst = rankByReward(
        candidates.filter((action) => action.source !== 'policy'),
        'random',
        random.split('auxiliary'),
      );
      const kept = policyBestFirst.slice(0, groupSize);
      let nextAuxiliary = 0;
      // Pool with fewer than G policy samples (not the case in an EKIPL step): fill with the best auxiliary.
      while (kept.length < groupSize && nextAuxiliary < auxiliaryBestFirst.length) {
        kept.push(auxiliaryBestFirst[nextAuxiliary++]!);
      }
      for (let swap = 0; swap < options.replace; swap++) {
        const candidate = auxiliaryBestFirst[nextAuxiliary];
        const worstIndex = kept.length - 1 - swap;
        const worst = kept[worstIndex];
        if (candidate === undefined || worst === undefined || worst.source !== 'policy') break;
        if (!(candidate.reward > worst.reward)) break;
        kept[worstIndex] = candidate;
        nextAuxiliary++;
      }
      return kept;
    },
  }),
});
