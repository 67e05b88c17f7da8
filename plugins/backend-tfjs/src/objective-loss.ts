/**
 * ekipl's objective in tensor ops (the same math as core's `evaluateObjective`, which the conformance
 * suite compares this with). `trainStep` and `objectiveGradient` both call `objectiveLoss`.
 */
import type { ObjectiveSettings } from '@ekipl/core';
import * as tf from '@tensorflow/tfjs-core';

export interface ObjectiveTensors {
  /** 1 at completion-token columns, [B, T]. */
  mask: tf.Tensor2D;
  old: tf.Tensor2D;
  /** Reference log-probs (0 where a sequence has none), with `klMask` [B, 1]: 1 for sequences that have them. */
  reference?: tf.Tensor2D;
  klMask?: tf.Tensor2D;
  /** 1 for off-policy sequences, [B, 1]: present when `offPolicyShaping` is set. */
  offPolicy?: tf.Tensor2D;
  /** CHORD: each sequence's factor on its tokens' log-probs (mu / N_off, or 0), [B, 1]. */
  supervised?: tf.Tensor2D;
  /** The aggregation's factor for each token (0 off the completion), [B, T]. */
  coefficient: tf.Tensor2D;
  /** [B, 1] */
  advantage: tf.Tensor2D;
  /** Estimator weight w_i, [B, 1]. */
  weight: tf.Tensor2D;
}

export function objectiveLoss(
  logProbs: tf.Tensor,
  t: ObjectiveTensors,
  settings: Pick<ObjectiveSettings, 'clipLow' | 'clipHigh' | 'beta' | 'offPolicyShaping' | 'offPolicyMis'>,
) {
  const valid = tf.cast(t.mask, 'bool');
  const ratio = tf.exp(tf.where(valid, tf.sub(logProbs, t.old), tf.zerosLike(logProbs)));
  const clippedRatio = tf.clipByValue(ratio, 1 - settings.clipLow, 1 + settings.clipHigh);
  let surrogate = tf.minimum(tf.mul(ratio, t.advantage), tf.mul(clippedRatio, t.advantage));
  let binds = tf.logicalOr(
    tf.logicalAnd(tf.greater(t.advantage, 0), tf.greater(ratio, 1 + settings.clipHigh)),
    tf.logicalAnd(tf.less(t.advantage, 0), tf.less(ratio, 1 - settings.clipLow)),
  );
  const offPolicyTerm = offPolicySurrogate(logProbs, t, valid, settings);
  if (offPolicyTerm !== undefined && t.offPolicy !== undefined) {
    // Off-policy sequences use their own (unclipped) term: never clipped.
    const isOffPolicy = tf.cast(tf.mul(t.offPolicy, t.mask), 'bool');
    surrogate = tf.where(isOffPolicy, offPolicyTerm, surrogate);
    binds = tf.logicalAnd(binds, tf.logicalNot(isOffPolicy));
  }
  let term = tf.mul(t.weight, surrogate);
  let kl: tf.Tensor = tf.scalar(0);
  let klTokens: tf.Tensor = tf.scalar(0);
  if (t.reference !== undefined && t.klMask !== undefined) {
    const withReference = tf.cast(tf.mul(t.mask, t.klMask), 'bool');
    const difference = tf.where(withReference, tf.sub(t.reference, logProbs), tf.zerosLike(logProbs));
    const k3 = tf.sub(tf.sub(tf.exp(difference), difference), 1);
    kl = tf.sum(k3);
    klTokens = tf.sum(tf.mul(t.mask, t.klMask));
    if (settings.beta > 0) term = tf.sub(term, tf.mul(settings.beta, k3));
  }
  let objective = tf.sum(tf.mul(t.coefficient, term));
  if (t.supervised !== undefined) {
    const logProbsOnCompletion = tf.where(valid, logProbs, tf.zerosLike(logProbs));
    objective = tf.add(objective, tf.sum(tf.mul(tf.mul(t.supervised, t.mask), logProbsOnCompletion)));
  }
  const loss = tf.neg(objective);
  const clipped = tf.sum(tf.mul(tf.cast(binds, 'float32'), t.mask));
  return {
    loss: loss as tf.Scalar,
    kl: kl as tf.Scalar,
    klTokens: klTokens as tf.Scalar,
    clipped: clipped as tf.Scalar,
  };
}

/**
 * The surrogate of off-policy tokens when the settings replace the clipped ratio there (as core's
 * reference does, LUFFY's shaping takes precedence): LUFFY f(p) A with f(p) = p / (p + gamma), or
 * RL-PLUS r A (1 - p)^exponent with r = 2 p / (p_old + (p_old + 1) / 2) and (1 - p) held constant.
 */
function offPolicySurrogate(
  logProbs: tf.Tensor,
  t: ObjectiveTensors,
  valid: tf.Tensor,
  settings: Pick<ObjectiveSettings, 'offPolicyShaping' | 'offPolicyMis'>,
): tf.Tensor | undefined {
  if (settings.offPolicyShaping === undefined && settings.offPolicyMis === undefined) return undefined;
  const probability = tf.exp(tf.where(valid, logProbs, tf.zerosLike(logProbs)));
  if (settings.offPolicyShaping !== undefined) {
    const shaping = tf.div(probability, tf.add(probability, settings.offPolicyShaping.gamma));
    return tf.mul(shaping, t.advantage);
  }
  const oldProbability = tf.exp(t.old);
  const ratio = tf.div(tf.mul(2, probability), tf.add(oldProbability, tf.div(tf.add(oldProbability, 1), 2)));
  const exploration = tf.pow(tf.relu(tf.sub(1, stopGradient(probability))), settings.offPolicyMis!.exponent);
  return tf.mul(tf.mul(ratio, t.advantage), exploration);
}

/** The value of `x` with no gradient flowing back through it. */
function stopGradient(x: tf.Tensor): tf.Tensor {
  const identity = tf.customGrad(((input: tf.Tensor) => ({
    value: tf.clone(input),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  })) as Parameters<typeof tf.customGrad>[0]) as (input: tf.Tensor) => tf.Tensor;
  return identity(x);
}
