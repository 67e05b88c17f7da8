import type { Random, SamplingSettings } from '@ekipl/core';

/**
 * Draws the next token from softmax(logits / T) restricted by top-k, then top-p over the top-k
 * renormalised (as Hugging Face and vLLM apply them). Returns its log-prob under the full tempered
 * distribution (what every log-prob in ekipl is, and what the PPO ratio uses), its log-prob under the
 * truncated distribution it was drawn from (the policy's proposal density), and that full
 * distribution's entropy. Without top-k / top-p the draw walks the tokens in id order; with them, in
 * order of probability (ties: lower id first).
 */
export function sampleToken(
  logits: ArrayLike<number>,
  sampling: SamplingSettings,
  random: Random,
): { token: number; logProb: number; samplingLogProb: number; entropy: number } {
  const count = logits.length;
  const { scaled, weights, selection } = scratchFor(count);
  let max = -Infinity;
  for (let token = 0; token < count; token++) {
    scaled[token] = logits[token]! / sampling.temperature;
    if (scaled[token]! > max) max = scaled[token]!;
  }
  let total = 0;
  for (let token = 0; token < count; token++) {
    weights[token] = Math.exp(scaled[token]! - max);
    total += weights[token]!;
  }
  const logTotal = Math.log(total) + max;
  let entropy = 0;
  for (let token = 0; token < count; token++) {
    const probability = weights[token]! / total;
    if (probability > 0) entropy -= probability * (scaled[token]! - logTotal);
  }
  // Sorting is only needed to truncate: a per-token sort of the vocabulary was most of a decode step.
  let candidates: ArrayLike<number> | undefined;
  let keptMass = total;
  if ((sampling.topK > 0 && sampling.topK < count) || sampling.topP < 1) {
    let order = mostProbable(weights, sampling.topK > 0 ? Math.min(sampling.topK, count) : count, selection);
    if (sampling.topP < 1) {
      // Shares of what top-k kept, not of the whole vocabulary.
      const topKMass = order.reduce((sum, token) => sum + weights[token]!, 0);
      let mass = 0;
      let kept = 0;
      while (kept < order.length) {
        mass += weights[order[kept]!]! / topKMass;
        kept++;
        if (mass >= sampling.topP) break;
      }
      order = order.slice(0, kept);
    }
    keptMass = order.reduce((sum, token) => sum + weights[token]!, 0);
    candidates = order;
  }
  const length = candidates?.length ?? count;
  let draw = random.float() * keptMass;
  let token = candidates === undefined ? count - 1 : candidates[length - 1]!;
  for (let i = 0; i < length; i++) {
    const candidate = candidates === undefined ? i : candidates[i]!;
    draw -= weights[candidate]!;
    if (draw < 0) {
      token = candidate;
      break;
    }
  }
  return {
    token,
    logProb: scaled[token]! - logTotal,
    samplingLogProb: Math.log(weights[token]! / keptMass),
    entropy,
  };
}

/**
 * Work buffers for one draw over `count` tokens, reused from draw to draw: three fresh vocabulary-sized
 * arrays per token were most of the garbage a generation left to collect. Nothing of them outlives a
 * draw, and a draw never waits, so one set per thread is enough.
 */
let scratch = { scaled: new Float64Array(0), weights: new Float64Array(0), selection: new Float64Array(0) };
function scratchFor(count: number): typeof scratch {
  if (scratch.scaled.length !== count) {
    scratch = {
      scaled: new Float64Array(count),
      weights: new Float64Array(count),
      selection: new Float64Array(count),
    };
  }
  return scratch;
}

/**
 * The `k` most probable token ids, in order of probability (ties: lower id first). Only those k are
 * sorted: the k-th largest weight, found by selection (in `selection`, overwritten), picks them (a
 * sort of the whole vocabulary on every token was most of a decode step's time).
 */
function mostProbable(weights: Float64Array, k: number, selection: Float64Array): number[] {
  const count = weights.length;
  let chosen: number[];
  if (k >= count) chosen = Array.from({ length: count }, (_, token) => token);
  else {
    selection.set(weights);
    const threshold = kthLargest(selection, k);
    chosen = [];
    for (let token = 0; token < count; token++) if (weights[token]! > threshold) chosen.push(token);
    for (let token = 0; token < count && chosen.length < k; token++) {
      if (weights[token] === threshold) chosen.push(token);
    }
  }
  return chosen.sort((a, b) => weights[b]! - weights[a]! || a - b);
}

/** The k-th largest of `values` (1-based), by quickselect; reorders `values`. */
function kthLargest(values: Float64Array, k: number): number {
  const target = values.length - k; // its index in ascending order
  let low = 0;
  let high = values.length - 1;
  while (low < high) {
    const pivot = values[(low + high) >> 1]!;
    let i = low;
    let j = high;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const swap = values[i]!;
        values[i] = values[j]!;
        values[j] = swap;
        i++;
        j--;
      }
    }
    if (target <= j) high = j;
    else if (target >= i) low = i;
    else return values[target]!;
  }
  return values[target]!;
}
