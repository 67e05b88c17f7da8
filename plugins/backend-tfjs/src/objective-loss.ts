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
  reference?: tf.Tensor2D;
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
  settings: Pick<ObjectiveSettings, 'clipLow' | 'clipHigh' | 'beta'>,
) {
  const valid = tf.cast(t.mask, 'bool');
  const ratio = tf.exp(tf.where(valid, tf.sub(logProbs, t.old), tf.zerosLike(logProbs)));
  const clippedRatio = tf.clipByValue(ratio, 1 - settings.clipLow, 1 + settings.clipHigh);
  const surrogate = tf.minimum(tf.mul(ratio, t.advantage), tf.mul(clippedRatio, t.advantage));
  let term = tf.mul(t.weight, surrogate);
  let kl: tf.Tensor = tf.scalar(0);
  if (t.reference !== undefined) {
    const difference = tf.where(valid, tf.sub(t.reference, logProbs), tf.zerosLike(logProbs));
    const k3 = tf.sub(tf.sub(tf.exp(difference), difference), 1);
    kl = tf.sum(tf.mul(k3, t.mask));
    if (settings.beta > 0) term = tf.sub(term, tf.mul(settings.beta, k3));
  }
  const loss = tf.neg(tf.sum(tf.mul(t.coefficient, term)));
  const binds = tf.logicalOr(
    tf.logicalAnd(tf.greater(t.advantage, 0), tf.greater(ratio, 1 + settings.clipHigh)),
    tf.logicalAnd(tf.less(t.advantage, 0), tf.less(ratio, 1 - settings.clipLow)),
  );
  const clipped = tf.sum(tf.mul(tf.cast(binds, 'float32'), t.mask));
  return { loss: loss as tf.Scalar, kl: kl as tf.Scalar, clipped: clipped as tf.Scalar };
}
