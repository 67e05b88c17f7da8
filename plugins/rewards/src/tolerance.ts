import { z } from '@ekipl/core';

/** Reason-RFT's relative-error curve for numeric answers: 1 below `full`, 0 above `zero`, half-cosine between. */
export const toleranceSchema = z
  .strictObject({
    full: z.number().min(0).default(0.05).describe('Relative error below which the answer scores 1.'),
    zero: z
      .number()
      .positive()
      .default(0.2)
      .describe('Relative error above which it scores 0 (half-cosine between).'),
  })
  .refine((tolerance) => tolerance.zero > tolerance.full, {
    message: 'tolerance.zero must be above tolerance.full (defaults: full 0.05, zero 0.2)',
  })
  .prefault({});

export type Tolerance = z.output<typeof toleranceSchema>;
