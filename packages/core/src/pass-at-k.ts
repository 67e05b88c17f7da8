/**
 * pass@k by the unbiased estimator (Chen et al. 2021, "Evaluating Large Language Models Trained on
 * Code"): with n samples of which c are correct, the chance that k drawn without replacement contain a
 * correct one, 1 - C(n - c, k) / C(n, k). Computed as 1 - prod_{i = n - c + 1}^{n} (1 - k / i), which
 * never forms a binomial coefficient (C(100, 50) ~ 1e29 loses every digit in floats).
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!Number.isInteger(n) || !Number.isInteger(c) || !Number.isInteger(k) || n < 1 || c < 0 || c > n) {
    throw new RangeError(`pass@k needs integers n >= 1 and 0 <= c <= n, got n = ${n}, c = ${c}`);
  }
  if (k < 1 || k > n) throw new RangeError(`pass@k needs 1 <= k <= n = ${n}, got k = ${k}`);
  // Fewer wrong samples than k: every draw of k holds a correct one.
  if (n - c < k) return 1;
  let allWrong = 1;
  for (let i = n - c + 1; i <= n; i++) allWrong *= 1 - k / i;
  return 1 - allWrong;
}
