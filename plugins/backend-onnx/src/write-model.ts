import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readSafetensors, storedTinyVlmConfig, type TinyVlmConfig } from '@ekipl/tiny-vlm';
import { exportTinyVlm } from './export.js';

/**
 * Writes a checkpoint of the tiny VLM (a run's `checkpoint/`: state.json and model.safetensors) as
 * standalone ONNX files with the weights inside, `vision.onnx` and `decoder.onnx`, and the decoder's
 * scoring copy `scorer.onnx` (tempered log-probs of given tokens): what the onnx backend's `model`
 * option loads, and what other ONNX Runtime hosts can run. Returns the architecture.
 */
export async function writeOnnxModel(checkpoint: string, out: string): Promise<TinyVlmConfig> {
  const state = JSON.parse(await readFile(join(checkpoint, 'state.json'), 'utf8')) as {
    config: Partial<TinyVlmConfig>;
  };
  const config = storedTinyVlmConfig(state.config);
  const { tensors } = await readSafetensors(join(checkpoint, 'model.safetensors'));
  const weights = new Map(
    Object.entries(tensors).map(([name, tensor]) => [name, { data: tensor.data, shape: tensor.shape }]),
  );
  const exported = exportTinyVlm(config, 'initializers', weights);
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'vision.onnx'), exported.vision);
  await writeFile(join(out, 'decoder.onnx'), exported.decoder);
  await writeFile(join(out, 'scorer.onnx'), exported.scorer);
  return config;
}
