import { definePlugin, specificationVersion, z } from '@ekipl/core';
import { rankByReward } from './rank.js';

/**
 * AMPO-style (Yuan et al. 2025, "More Than One Teacher: Adaptive Multi-Guidance Policy Optimization"):
 * external answers enter a group only when the policy is stuck. If any of the policy's own samples is
 * correct (its `correctReward` part at least `threshold`), the group is the policy's G samples (plain
 * GRPO for that prompt); otherwise its `replace` worst samples are swapped for the best external
 * answers (best first, ties at random from the seeded stream), and only for external answers that are
 * themselves correct when `onlyCorrect` is set.
 */
export const ampo = definePlugin({
  kind: 'selector',
  name: 'ampo',
  description: "the policy's G samples; external answers replace its worst only when none of them is correct",
  options: z.strictObject({
    replace: z
      .int()
      .nonnegative()
      .default(1)
      .describe("How many of the policy's samples external answers may replace in a stuck group."),
    correctReward: z
      .string()
      .min(1)
      .default('accuracy')
      .describe('The reward (by name) whose value says an answer is correct.'),
    threshold: z.number().default(1).describe('Its value at or above which an answer is correct.'),
    onlyCorrect: z.boolean().default(true).describe('Only correct external answers may enter.'),
  }),
  create: (options, context) => ({
    specificationVersion,
    name: context.name,
    select(candidates, groupSize, random) {
      const correct = (action: (typeof candidates)[number]) =>
        (action.rewardParts[options.correctReward] ?? Number.NEGATIVE_INFINITY) >= options.threshold;
      const policyBestFirst = rankByReward(
        candidates.filter((action) => action.source === 'policy'),
        'random',
        random.split('policy'),
      );
      const external = rankByReward(
        candidates.filter(
          (action) => action.source !== 'policy' && (!options.onlyCorrect || correct(action)),
        ),
        'random',
        random.split('auxiliary'),
      );
      const kept = policyBestFirst.slice(0, groupSize);
      let next = 0;
      // A pool with fewer than G policy samples (not the case in an EKIPL step): fill with the best external.
      while (kept.length < groupSize && next < external.length) kept.push(external[next++]!);
      if (policyBestFirst.some(correct)) return kept;
      for (let swap = 0; swap < options.replace && next < external.length; swap++) {
        const worstIndex = kept.length - 1 - swap;
        if (worstIndex < 0 || kept[worstIndex]!.source !== 'policy') break;
        kept[worstIndex] = external[next++]!;
      }
      return kept;
    },
  }),
});
