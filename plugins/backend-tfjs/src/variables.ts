/**
 * Variables without hidden copies. `tf.variable(tensor)` and `variable.assign(tensor)` share the
 * tensor's storage and take their own reference to it, so a tensor made only to fill a variable must be
 * released: left alive, it keeps a copy of the values after the variable changes. Per weight sync on a
 * worker that was a whole copy of the model each step (issue 14).
 */
import * as tf from '@tensorflow/tfjs-core';

/** A variable holding a tensor made for it (the tensor is released once the variable holds it). */
export function variableOf(make: () => tf.Tensor, trainable: boolean): tf.Variable {
  return tf.tidy(() => tf.variable(make(), trainable));
}

/** Sets a variable to these values. */
export function assignValues(
  variable: tf.Variable,
  values: Float32Array,
  shape: number[] = variable.shape,
): void {
  tf.tidy(() => variable.assign(tf.tensor(values, shape)));
}
