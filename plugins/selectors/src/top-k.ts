import { definePlugin, specificationVersion, z } from '@ekipl/core';
import { rankByReward, tieRules } from './rank.js';

/** The paper's rule: the G highest-reward candidates of the pool, ties broken by `ties`. */
export const topK = definePlugin({
  kind: 'selector',
  name: 'top-k',
  description: 'the G highest-reward candidates (Vision-EKIPL)',
  options: z.strictObject({
    ties: z
      .enum(tieRules)
      .default('random')
      .describe('How equal rewards are ordered: random (seeded), policy-first or aux-first.'),
  }),
  create: (options, context) => ({
    specificationVersion,
    name: context.name,
    select: (candidates, groupSize, random) =>
      rankByReward(candidates, options.ties, random).slice(0, groupSize),
  }),
});
