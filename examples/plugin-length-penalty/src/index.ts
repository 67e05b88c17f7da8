import { definePlugin, specificationVersion, z } from '@ekipl/core';

/**
 * A reward for brevity: 0 up to `maxCharacters`, then falling linearly to `penalty` at twice the
 * limit (and staying there). Weight it against accuracy in the config's `reward` list.
 */
export default definePlugin({
  kind: 'reward',
  name: 'length-penalty',
  description: 'penalises answers longer than a limit (0 up to it, down to `penalty` at twice it)',
  options: z.strictObject({
    maxCharacters: z.int().positive().default(400),
    penalty: z.number().max(0).default(-1),
  }),
  create: (options, context) => ({
    specificationVersion,
    name: context.name,
    score(action) {
      const excess = (action.text.length - options.maxCharacters) / options.maxCharacters;
      return excess <= 0 ? 0 : Math.max(options.penalty, options.penalty * excess);
    },
  }),
});
