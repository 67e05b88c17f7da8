import { z } from '@ekipl/core';

/**
 * How exact-is and snis fill in densities no source reported. Every fallback used is counted in the
 * diagnostics (`fallbacks_own`, `fallbacks_cross`).
 */
export const densityOptionsSchema = z.strictObject({
  ownDensity: z
    .enum(['constant', 'policy'])
    .default('constant')
    .describe(
      'A source that did not report the density of its own sample (API models without log-probs): `constant`: log q = ownLogProbPerToken x tokens (default 0: behaviour probability 1, as LUFFY); `policy`: q := pi_old.',
    ),
  ownLogProbPerToken: z
    .number()
    .max(0)
    .default(0)
    .describe('log q per token when ownDensity is `constant` (0: probability 1).'),
  crossDensity: z
    .enum(['assume-zero', 'policy', 'constant'])
    .default('assume-zero')
    .describe(
      "A text's density under another auxiliary source that cannot score it (an API model cannot score another model's text): `assume-zero`: that source could not have produced it; `policy`: q := pi_old; `constant`: log q = crossLogProbPerToken x tokens.",
    ),
  crossLogProbPerToken: z
    .number()
    .max(0)
    .default(0)
    .describe('log q per token when crossDensity is `constant`.'),
  maxWeight: z
    .number()
    .positive()
    .optional()
    .describe(
      'Truncate weights at this value (off by default). exact-is: w <= maxWeight (a no-op above 1 / alpha_policy); snis: truncated after normalising, the rest renormalised so the group still sums to G.',
    ),
});

export type DensityOptions = z.output<typeof densityOptionsSchema>;
