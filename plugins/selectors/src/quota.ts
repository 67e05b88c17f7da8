import { definePlugin, specificationVersion, z } from '@ekipl/core';
import { rankByReward, tieRules } from './rank.js';

/**
 * top-k with at most `maxAuxiliary` auxiliary actions per group: the rest of the group comes from the
 * policy's best samples, so the policy always learns from some of its own behaviour.
 */
export const quota = definePlugin({
  kind: 'selector',
  name: 'quota',
  description: 'top-k with at most maxAuxiliary auxiliary actions per group',
  options: z.strictObject({
    maxAuxiliary: z.int().nonnegative().default(2).describe('At most this many auxiliary actions per group.'),
    ties: z
      .enum(tieRules)
      .default('random')
      .describe('Who wins among equal rewards: seeded random, the policy, or the auxiliary samplers.'),
  }),
  create: (options, context) => ({
    specificationVersion,
    name: context.name,
    select(candidates, groupSize, random) {
      const ranked = rankByReward(candidates, options.ties, random);
      const chosen = new Set<(typeof ranked)[number]>();
      let auxiliary = 0;
      for (const action of ranked) {
        if (chosen.size === groupSize) break;
        if (action.source !== 'policy') {
          if (auxiliary >= options.maxAuxiliary) continue;
          auxiliary++;
        }
        chosen.add(action);
      }
      // Fewer policy samples than the quota leaves open (not the case in an EKIPL step, where the
      // policy contributes G): fill with the best remaining auxiliary actions.
      for (const action of ranked) {
        if (chosen.size === groupSize) break;
        chosen.add(action);
      }
      return ranked.filter((action) => chosen.has(action));
    },
  }),
});
