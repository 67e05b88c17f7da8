/**
 * AdamW with linear warmup, cosine decay and global gradient-norm clipping, written in tensor ops so
 * its whole state (moments and step) is saved and restored exactly.
 */
import { type LearningRateSchedule, scheduledLearningRate } from '@ekipl/core';
import * as tf from '@tensorflow/tfjs-core';
import { variableOf } from './variables.js';

export interface OptimizerSettings extends LearningRateSchedule {
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Decoupled weight decay for matrices (norm weights are never decayed). */
  weightDecay: number;
  /** Clip the global gradient norm to this; 0 disables. */
  maxGradNorm: number;
}

/** The plugin's defaults: Adam's usual betas, clip at norm 1, no warmup or decay. */
export const defaultOptimizerSettings: OptimizerSettings = {
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
  weightDecay: 0,
  maxGradNorm: 1,
  warmupSteps: 0,
  minLearningRateRatio: 0.1,
};

// The schedule is core's, so the runner's warm start decays its rate by the same function.
export { scheduledLearningRate };

export class AdamW {
  step = 0;
  readonly first = new Map<string, tf.Variable>();
  readonly second = new Map<string, tf.Variable>();

  constructor(readonly settings: OptimizerSettings) {}

  /**
   * Applies one update; returns the gradient norm before clipping, the global norm of the change it made
   * to the parameters (learning rate included) and the learning rate used. The two norms differ by far
   * more than the rate when gradients are tiny or sparse: Adam divides by their own running scale.
   */
  apply(parameters: Map<string, tf.Variable>, gradients: tf.NamedTensorMap, baseLearningRate: number) {
    const learningRate = scheduledLearningRate(this.step, baseLearningRate, this.settings);
    const { beta1, beta2, epsilon, weightDecay, maxGradNorm } = this.settings;
    const names = Object.keys(gradients);
    const normTensor = tf.tidy(() =>
      tf.sqrt(tf.addN(names.map((name) => tf.sum(tf.square(gradients[name]!))))),
    );
    const norm = normTensor.dataSync()[0]!;
    normTensor.dispose();
    const scale = maxGradNorm > 0 && norm > maxGradNorm ? maxGradNorm / (norm + 1e-6) : 1;
    this.step++;
    const correction1 = 1 - beta1 ** this.step;
    const correction2 = 1 - beta2 ** this.step;
    const changeSquares: tf.Scalar[] = [];
    for (const name of names) {
      const parameter = parameters.get(name)!;
      if (!this.first.has(name)) {
        this.first.set(
          name,
          variableOf(() => tf.zerosLike(parameter), false),
        );
        this.second.set(
          name,
          variableOf(() => tf.zerosLike(parameter), false),
        );
      }
      const m = this.first.get(name)!;
      const v = this.second.get(name)!;
      changeSquares.push(
        tf.tidy(() => {
          const gradient = tf.mul(gradients[name]!, scale);
          m.assign(tf.add(tf.mul(m, beta1), tf.mul(gradient, 1 - beta1)));
          v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(gradient), 1 - beta2)));
          const update = tf.div(tf.div(m, correction1), tf.add(tf.sqrt(tf.div(v, correction2)), epsilon));
          const decay =
            weightDecay > 0 && parameter.rank >= 2 ? tf.mul(parameter, weightDecay) : tf.scalar(0);
          const change = tf.mul(tf.add(update, decay), learningRate);
          parameter.assign(tf.sub(parameter, change));
          return tf.sum(tf.square(change));
        }),
      );
    }
    const updateNorm = changeSquares.length === 0 ? 0 : Math.sqrt(sumScalars(changeSquares));
    return { gradNorm: norm, updateNorm, learningRate };
  }

  dispose(): void {
    for (const variable of [...this.first.values(), ...this.second.values()]) variable.dispose();
    this.first.clear();
    this.second.clear();
  }
}

/** The sum of some scalars, read in one sync; disposes them. */
function sumScalars(scalars: tf.Scalar[]): number {
  const total = tf.addN(scalars);
  const value = total.dataSync()[0]!;
  tf.dispose([total, ...scalars]);
  return value;
}
