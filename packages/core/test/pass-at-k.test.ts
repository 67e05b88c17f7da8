import { describe, expect, it } from 'vitest';
import { passAtK } from '../src/index.js';

/** C(n, k) exactly, in BigInt. */
function choose(n: number, k: number): bigint {
  if (k < 0 || k > n) return 0n;
  let result = 1n;
  for (let i = 0; i < k; i++) result = (result * BigInt(n - i)) / BigInt(i + 1);
  return result;
}

/** pass@k by enumerating every k-subset of n samples (c correct) and counting those with a correct one. */
function enumerated(n: number, c: number, k: number): number {
  let hits = 0;
  let total = 0;
  const visit = (start: number, left: number, correct: boolean) => {
    if (left === 0) {
      total++;
      if (correct) hits++;
      return;
    }
    for (let i = start; i <= n - left; i++) visit(i + 1, left - 1, correct || i < c);
  };
  visit(0, k, false);
  return hits / total;
}

describe('passAtK', () => {
  it('hand-worked: n = 5, c = 2, k = 1..5 -> 1 - C(3, k) / C(5, k) = 0.4, 0.7, 0.9, 1, 1', () => {
    // k = 1: 1 - 3/5; k = 2: 1 - 3/10; k = 3: 1 - 1/10; k = 4, 5: C(3, k) = 0.
    const expected = [0.4, 0.7, 0.9, 1, 1];
    expected.forEach((value, i) => {
      expect(passAtK(5, 2, i + 1)).toBeCloseTo(value, 14);
    });
  });

  it('equals a direct enumeration of k-subsets for every n <= 9, c, k', () => {
    for (let n = 1; n <= 9; n++) {
      for (let c = 0; c <= n; c++) {
        for (let k = 1; k <= n; k++) {
          expect(passAtK(n, c, k)).toBeCloseTo(enumerated(n, c, k), 12);
        }
      }
    }
  });

  it('stays exact where the binomials overflow floats: n = 200, c = 3, k = 100', () => {
    // 1 - C(197, 100) / C(200, 100) in exact integer arithmetic, then to a float.
    const scale = 10n ** 18n;
    const exact = 1 - Number((choose(197, 100) * scale) / choose(200, 100)) / 1e18;
    expect(passAtK(200, 3, 100)).toBeCloseTo(exact, 12);
    expect(passAtK(200, 0, 100)).toBe(0);
    expect(passAtK(200, 200, 1)).toBe(1);
  });

  it('rejects impossible inputs', () => {
    expect(() => passAtK(5, 6, 1)).toThrow(/0 <= c <= n/);
    expect(() => passAtK(5, 2, 6)).toThrow(/1 <= k <= n = 5/);
  });
});
