import { describe, expect, it } from 'vitest';
import {
  groupAdvantages,
  isZeroAdvantageGroup,
  quantile,
  sampleStd,
  weightStatistics,
} from '../src/index.js';

describe('groupAdvantages', () => {
  it('selected baseline with std scaling: rewards 2 1 1 0 -> (R - 1) / (sqrt(2/3) + 1e-4)', () => {
    // sample std = sqrt((1 + 0 + 0 + 1) / 3) = 0.816496580927726; 1 / (0.816496580927726 + 1e-4) = 1.2245948897605123
    const advantages = groupAdvantages([2, 1, 1, 0], [2, 1, 1, 0, 0, 0], {
      baseline: 'selected',
      scaleByStd: true,
    });
    expect(advantages[0]).toBeCloseTo(1.2245948897605123, 12);
    expect(advantages[1]).toBe(0);
    expect(advantages[3]).toBeCloseTo(-1.2245948897605123, 12);
  });

  it('pool baseline: mean and std over all six candidates (mean 2/3, std 0.816496580927726)', () => {
    const advantages = groupAdvantages([2, 1, 1, 0], [2, 1, 1, 0, 0, 0], {
      baseline: 'pool',
      scaleByStd: true,
    });
    expect(advantages[0]).toBeCloseTo(1.6327931863473502, 12);
    expect(advantages[1]).toBeCloseTo(0.40819829658683754, 12);
    expect(advantages[3]).toBeCloseTo(-0.8163965931736749, 12);
  });

  it('without std scaling (Dr.GRPO) advantages are R - mean', () => {
    expect(groupAdvantages([2, 1, 1, 0], [], { baseline: 'selected', scaleByStd: false })).toEqual([
      1, 0, 0, -1,
    ]);
  });

  it('an all-equal group has zero advantages (std 0 + 1e-4 never divides by zero)', () => {
    const advantages = groupAdvantages([2, 2, 2], [2, 2, 2, 0], { baseline: 'selected', scaleByStd: true });
    expect(advantages).toEqual([0, 0, 0]);
    expect(isZeroAdvantageGroup(advantages)).toBe(true);
    expect(isZeroAdvantageGroup([0, 0.5])).toBe(false);
  });

  it('sample std of one value is 0', () => {
    expect(sampleStd([3])).toBe(0);
    expect(groupAdvantages([3], [3], { baseline: 'selected', scaleByStd: true })).toEqual([0]);
  });
});

describe('weightStatistics', () => {
  it('ESS of 1 2 3 4 is 10^2 / 30 = 3.333..., p95 by linear interpolation 3.85', () => {
    const statistics = weightStatistics([1, 2, 3, 4]);
    expect(statistics.ess).toBeCloseTo(10 / 3, 12);
    expect(statistics.mean).toBe(2.5);
    expect(statistics.p95).toBeCloseTo(3.85, 12);
    expect(statistics.max).toBe(4);
    expect(statistics.logRange).toBeCloseTo(Math.log(4), 12);
  });

  it('equal weights have ESS n; one dominant weight ESS ~1; all-zero weights ESS 0 and no NaN', () => {
    expect(weightStatistics([0.5, 0.5, 0.5]).ess).toBeCloseTo(3, 12);
    expect(weightStatistics([1e6, 1e-6, 1e-6]).ess).toBeCloseTo(1, 6);
    expect(weightStatistics([0, 0])).toEqual({ ess: 0, mean: 0, p95: 0, max: 0, logRange: 0 });
  });

  it('uses log weights for the range when weights underflow', () => {
    expect(weightStatistics([0, 1], [-800, 0]).logRange).toBe(800);
  });

  it('quantile matches numpy: quantile([5, 1, 3], 0.95) = 4.8', () => {
    expect(quantile([5, 1, 3], 0.95)).toBeCloseTo(4.8, 12);
  });
});
