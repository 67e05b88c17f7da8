import type { GroupLayout } from '@ekipl/tiny-vlm';
import * as tf from '@tensorflow/tfjs-core';
import type { DecoderInputs } from './tiny-vlm.js';

/** The group as model inputs (tensors; dispose them, or create them inside tf.tidy). */
export function decoderInputs(group: GroupLayout, patchDimension: number): DecoderInputs {
  const length = group.imageTokens + group.textLength;
  return {
    ...(group.patches === undefined
      ? {}
      : { patches: tf.tensor2d(group.patches, [group.patches.length / patchDimension, patchDimension]) }),
    images: group.images,
    tokens: tf.tensor2d(group.tokens, [group.batch, group.textLength], 'int32'),
    positions: tf.tensor2d(group.positions, [group.batch, length], 'int32'),
    keyValid: tf.tensor2d(group.keyValid, [group.batch, length]),
  };
}
