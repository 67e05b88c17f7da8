import { z } from '@ekipl/core';

/**
 * How exact-is and snis fill in densities no source reported. Every fallback used is counted in the
 * diagnostics (`fallbacks_own`, `fallbacks_cross`).
 */
export const densityOptionsSchema = z.strictObject({
  /**
   * A source that did not report the density of its own sample (API models without log-probs):
   * `constant`: log q = ownLogProbPerToken x tokens (default 0: behaviour probability 1, as LUFFY);
   * `policy`: q := pi_old.
   */
  ownDensity: z.enum(['constant', 'policy']).default('constant'),
  ownLogProbPerToken: z.number().max(0).default(0),
  /**
   * A text's density under another auxiliary source that cannot score it (an API model cannot score
   * another model's text): `assume-zero`: that source could not have produced it; `policy`: q := pi_old;
   * `constant`: log q = crossLogProbPerToken x tokens.
   */
  crossDensity: z.enum(['assume-zero', 'policy', 'constant']).default('assume-zero'),
  crossLogProbPerToken: z.number().max(0).default(0),
  /** Truncate weights at this value (off by default). */
  maxWeight: z.number().positive().optional(),
});

export type DensityOptions = z.output<typeof densityOptionsSchema>;
