/**
 * Reference implementation of ekipl's objective, in plain numbers: every trainable backend must agree
 * with it (testkit's `objectiveConformance`). DESIGN.md "The objective":
 *
 *   term(i,t) = w_i * min(r * A_i, clip(r, 1 - clipLow, 1 + clipHigh) * A_i) - beta * k3(i,t)
 *   r = exp(l_theta - l_old),  k3 = exp(l_ref - l_theta) - (l_ref - l_theta) - 1
 *   loss = - aggregate(term)
 *
 * The estimator's weight w_i multiplies the clipped surrogate instead of entering the ratio: since
 * E_mu[w f] = E_pi_old[f] for any per-sample f, weighting the surrogate by w = pi_old / mu turns
 * samples from the mixture mu into an estimate of the usual objective under pi_old, while a weight
 * inside the clip would clip every off-policy ratio far from 1 and silence its gradient. The KL term
 * is not weighted (as in TRL).
 *
 * Gradient of the surrogate with respect to l_theta: d(r A)/dl = r A; the clipped branch is constant
 * outside [1 - clipLow, 1 + clipHigh], so the gradient is 0 exactly where the clip is strictly the
 * smaller branch (A > 0 and r > 1 + clipHigh, or A < 0 and r < 1 - clipLow) and r A otherwise.
 * Gradient of k3: 1 - exp(l_ref - l_theta).
 *
 * The KL term applies to a sequence exactly when it carries reference log-probs (the step attaches them
 * to the policy's own samples: k3 estimates KL(pi_theta || pi_ref) only on samples from pi_theta).
 *
 * With `offPolicyShaping` (LUFFY), the tokens of an off-policy sequence use
 *   term(i,t) = w_i * f(p) * A_i - beta * k3,  f(p) = p / (p + gamma),  p = exp(l_theta)
 * unclipped; d f / d l_theta = p * gamma / (p + gamma)^2. Those tokens never count as clipped.
 *
 * With `offPolicyMis` (RL-PLUS), the tokens of an off-policy sequence use
 *   term(i,t) = w_i * r_mis * A_i * s - beta * k3,  r_mis = 2 p / (p_old + (p_old + 1) / 2),
 *   s = (1 - p)^exponent held constant (detached), unclipped; d / d l_theta = r_mis * A_i * s.
 *
 * With `offPolicySupervised` (CHORD) at weight mu, every term above is scaled by (1 - mu) and each token
 * of an off-policy sequence adds mu / N_off * l_theta to the objective (N_off: off-policy tokens in the
 * batch), i.e. the loss gains mu x their mean cross-entropy; its gradient is -mu / N_off.
 */
import type { ObjectiveSettings } from './contracts/objective-settings.js';
import type { TrainSequence } from './contracts/policy-backend.js';

export interface ObjectiveSequence {
  /** l_theta: per-token log-probs under the current weights (the variables of the gradient). */
  logProbs: readonly number[];
  /** l_old: per-token log-probs under the weights that produced / scored the batch. */
  oldLogProbs: readonly number[];
  /** l_ref: per-token log-probs under the reference weights; required when beta > 0. */
  refLogProbs?: readonly number[];
  advantage: number;
  /** Estimator weight w_i. */
  weight: number;
  /** The sequence is not the policy's own sample (`offPolicyShaping` applies to it). */
  offPolicy?: boolean;
}

export interface ObjectiveEvaluation {
  loss: number;
  /** d loss / d l_theta(i, t). */
  gradient: number[][];
  /** Mean k3 over the tokens of sequences with reference log-probs (computed even when beta = 0), else 0. */
  kl: number;
  /** Share of tokens where the clip is strictly the smaller branch (their surrogate gradient is 0). */
  clipFraction: number;
  tokens: number;
}

export type ObjectiveTerms = Pick<
  ObjectiveSettings,
  | 'clipLow'
  | 'clipHigh'
  | 'beta'
  | 'aggregation'
  | 'maxCompletionLength'
  | 'offPolicyShaping'
  | 'offPolicySupervised'
  | 'offPolicyMis'
>;

/** A batch's sequence as the objective reads it, with its current log-probs l_theta. */
export function objectiveSequence(sequence: TrainSequence, logProbs: readonly number[]): ObjectiveSequence {
  return {
    logProbs,
    oldLogProbs: sequence.oldLogProbs,
    ...(sequence.refLogProbs === undefined ? {} : { refLogProbs: sequence.refLogProbs }),
    advantage: sequence.advantage,
    weight: sequence.weight,
    offPolicy: sequence.source !== 'policy',
  };
}

/** Value and gradient of the objective for a batch of sequences. */
export function evaluateObjective(
  sequences: readonly ObjectiveSequence[],
  settings: ObjectiveTerms,
): ObjectiveEvaluation {
  const { clipLow, clipHigh, beta } = settings;
  const { policyGradient: tokenWeights, supervised } = objectiveFactors(sequences, settings);
  let objective = 0;
  let klSum = 0;
  let klTokens = 0;
  let clipped = 0;
  let tokens = 0;
  const gradient = sequences.map((sequence, i) => {
    const length = sequence.logProbs.length;
    if (sequence.oldLogProbs.length !== length) {
      throw new RangeError(
        `sequence ${i}: ${length} log-probs but ${sequence.oldLogProbs.length} old log-probs`,
      );
    }
    if (sequence.refLogProbs !== undefined && sequence.refLogProbs.length !== length) {
      throw new RangeError(
        `sequence ${i}: ${length} log-probs but ${sequence.refLogProbs.length} reference log-probs`,
      );
    }
    const tokenWeight = tokenWeights[i]!;
    const advantage = sequence.advantage;
    const shapingGamma = sequence.offPolicy === true ? settings.offPolicyShaping?.gamma : undefined;
    const misExponent = sequence.offPolicy === true ? settings.offPolicyMis?.exponent : undefined;
    const row = new Array<number>(length);
    for (let t = 0; t < length; t++) {
      const logProb = sequence.logProbs[t]!;
      let surrogate: number;
      let surrogateGradient: number;
      let clipBinds = false;
      if (shapingGamma !== undefined) {
        const probability = Math.exp(logProb);
        surrogate = (probability / (probability + shapingGamma)) * advantage;
        surrogateGradient = ((probability * shapingGamma) / (probability + shapingGamma) ** 2) * advantage;
      } else if (misExponent !== undefined) {
        const probability = Math.exp(logProb);
        const oldProbability = Math.exp(sequence.oldLogProbs[t]!);
        const ratio = (2 * probability) / (oldProbability + (oldProbability + 1) / 2);
        const exploration = advantage * Math.max(0, 1 - probability) ** misExponent;
        surrogate = ratio * exploration;
        surrogateGradient = ratio * exploration;
      } else {
        const ratio = Math.exp(logProb - sequence.oldLogProbs[t]!);
        const clippedRatio = Math.min(Math.max(ratio, 1 - clipLow), 1 + clipHigh);
        clipBinds = (advantage > 0 && ratio > 1 + clipHigh) || (advantage < 0 && ratio < 1 - clipLow);
        surrogate = Math.min(ratio * advantage, clippedRatio * advantage);
        surrogateGradient = clipBinds ? 0 : ratio * advantage;
      }
      let kl = 0;
      let klGradient = 0;
      if (sequence.refLogProbs !== undefined) {
        const refMinusCurrent = sequence.refLogProbs[t]! - logProb;
        kl = Math.exp(refMinusCurrent) - refMinusCurrent - 1;
        klGradient = 1 - Math.exp(refMinusCurrent);
      }
      objective += tokenWeight * (sequence.weight * surrogate - beta * kl) + supervised[i]! * logProb;
      row[t] = -tokenWeight * (sequence.weight * surrogateGradient - beta * klGradient) - supervised[i]!;
      klSum += kl;
      if (sequence.refLogProbs !== undefined) klTokens++;
      if (clipBinds) clipped++;
      tokens++;
    }
    return row;
  });
  return {
    loss: -objective,
    gradient,
    kl: klTokens === 0 ? 0 : klSum / klTokens,
    clipFraction: tokens === 0 ? 0 : clipped / tokens,
    tokens,
  };
}

/**
 * Per sequence, the factor of each token's policy-gradient term (the aggregation's, times 1 - mu under
 * CHORD's mix) and of its log-prob in the supervised term (mu / N_off for off-policy sequences, else 0).
 * Both depend on the whole batch, so a backend that shares a batch out computes them first.
 */
export function objectiveFactors(
  sequences: readonly Pick<ObjectiveSequence, 'logProbs' | 'offPolicy'>[],
  settings: Pick<ObjectiveSettings, 'aggregation' | 'maxCompletionLength' | 'offPolicySupervised'>,
): { policyGradient: number[]; supervised: number[] } {
  const aggregation = aggregationWeights(sequences, settings);
  const mu = settings.offPolicySupervised?.weight ?? 0;
  const offPolicyTokens = sequences.reduce(
    (sum, sequence) => sum + (sequence.offPolicy === true ? sequence.logProbs.length : 0),
    0,
  );
  // Without off-policy tokens there is nothing to imitate: the policy-gradient objective stays whole.
  const mix = offPolicyTokens === 0 ? 0 : mu;
  return {
    policyGradient: aggregation.map((factor) => (1 - mix) * factor),
    supervised: sequences.map((sequence) => (sequence.offPolicy === true ? mix / offPolicyTokens : 0)),
  };
}

/** The factor each token's term gets in the aggregate, per sequence. */
export function aggregationWeights(
  sequences: readonly Pick<ObjectiveSequence, 'logProbs'>[],
  settings: Pick<ObjectiveSettings, 'aggregation' | 'maxCompletionLength'>,
): number[] {
  const count = sequences.length;
  if (count === 0) return [];
  switch (settings.aggregation) {
    case 'sequence-mean':
      // An empty completion contributes nothing but still counts as a sequence (TRL clamps its length to 1).
      return sequences.map((sequence) => 1 / (count * Math.max(sequence.logProbs.length, 1)));
    case 'token-mean': {
      const total = sequences.reduce((sum, sequence) => sum + sequence.logProbs.length, 0);
      return sequences.map(() => 1 / Math.max(total, 1));
    }
    case 'fixed-length': {
      const longest = Math.max(...sequences.map((sequence) => sequence.logProbs.length));
      if (longest > settings.maxCompletionLength) {
        throw new RangeError(
          `fixed-length aggregation: a sequence has ${longest} tokens, more than maxCompletionLength = ${settings.maxCompletionLength}`,
        );
      }
      return sequences.map(() => 1 / (count * settings.maxCompletionLength));
    }
    default: {
      const unknown: never = settings.aggregation;
      throw new RangeError(`unknown aggregation ${String(unknown)}`);
    }
  }
}
