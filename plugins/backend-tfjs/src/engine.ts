import { EkiplError } from '@ekipl/core';
import * as tf from '@tensorflow/tfjs-core';

export type Engine = 'wasm' | 'cpu' | 'tensorflow';

/**
 * Selects the TensorFlow.js backend. `wasm` (default) and `cpu` ship with this package and work
 * offline; `tensorflow` loads @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node when the user has
 * installed one (they download libtensorflow at install time, so they are optional peers).
 */
export async function selectEngine(engine: Engine): Promise<string> {
  // Production mode: no per-op debug checks, and no "install tfjs-node" banner on the cpu backend.
  tf.env().set('PROD', true);
  if (engine === 'tensorflow') {
    const loaded =
      (await importOptional('@tensorflow/tfjs-node-gpu')) || (await importOptional('@tensorflow/tfjs-node'));
    if (!loaded) {
      throw new EkiplError(
        'engine "tensorflow" needs @tensorflow/tfjs-node (CPU) or @tensorflow/tfjs-node-gpu (CUDA 11.2 + cuDNN 8.1 on Linux x64): ' +
          'run `npm install @tensorflow/tfjs-node` (it downloads libtensorflow at install time), or use engine "wasm"',
      );
    }
    await tf.setBackend('tensorflow');
  } else {
    if (engine === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
    else await import('@tensorflow/tfjs-backend-cpu');
    if (!(await tf.setBackend(engine)))
      throw new EkiplError(`TensorFlow.js backend "${engine}" failed to initialise`);
  }
  await tf.ready();
  return tf.getBackend();
}

async function importOptional(name: string): Promise<boolean> {
  try {
    await import(name);
    return true;
  } catch {
    return false;
  }
}
