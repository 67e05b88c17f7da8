/**
 * Group-relative advantages (DESIGN.md "One EKIPL step", 4):
 *   A_i = (R_i - mean R) / (std R + 1e-4)
 * over the selected group (the paper) or the whole candidate pool. `std` is the sample standard
 * deviation (n - 1 in the denominator), as TRL's GRPOTrainer computes it with torch.std; a baseline
 * set of one reward has std 0. With `scaleByStd: false` (Dr.GRPO) A_i = R_i - mean R.
 */

export type AdvantageBaseline = 'selected' | 'pool';

export interface AdvantageSettings {
  baseline: AdvantageBaseline;
  scaleByStd: boolean;
}

/** Added to the standard deviation so an all-equal group does not divide by zero. */
export const advantageStdEpsilon = 1e-4;

/** Advantages of the selected rewards, against a baseline from the selected group or the pool. */
export function groupAdvantages(
  selectedRewards: readonly number[],
  poolRewards: readonly number[],
  settings: AdvantageSettings,
): number[] {
  const baselineRewards = settings.baseline === 'pool' ? poolRewards : selectedRewards;
  const baseline = mean(baselineRewards);
  const scale = settings.scaleByStd ? sampleStd(baselineRewards, baseline) + advantageStdEpsilon : 1;
  return selectedRewards.map((reward) => (reward - baseline) / scale);
}

/** True when no action of the group carries any learning signal. */
export function isZeroAdvantageGroup(advantages: readonly number[]): boolean {
  return advantages.every((advantage) => Math.abs(advantage) < 1e-12);
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return 0;
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

export function sampleStd(values: readonly number[], valuesMean = mean(values)): number {
  if (values.length < 2) return 0;
  let squares = 0;
  for (const value of values) squares += (value - valuesMean) ** 2;
  return Math.sqrt(squares / (values.length - 1));
}
