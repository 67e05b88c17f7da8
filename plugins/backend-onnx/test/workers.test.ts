import { Random } from '@ekipl/core';
import { defaultTinyVlmConfig, initialValues } from '@ekipl/tiny-vlm';
import sharp from 'sharp';
import { describe, expect, it, vi } from 'vitest';
import { Helper } from '../src/helpers.js';
import { exportTinyVlm, OnnxPolicy } from '../src/index.js';

const config = {
  ...defaultTinyVlmConfig,
  dimension: 32,
  layers: 2,
  heads: 2,
  visionDimension: 24,
  visionLayers: 1,
  visionHeads: 2,
  imageSize: 16,
  patchSize: 8,
  maxPositions: 128,
};

async function image(seed: number) {
  const random = Random.fromSeed(seed);
  const pixels = Buffer.from(Uint8Array.from({ length: 16 * 16 * 3 }, () => random.int(256)));
  const data = await sharp(pixels, { raw: { width: 16, height: 16, channels: 3 } })
    .png()
    .toBuffer();
  return { data: new Uint8Array(data), mediaType: 'image/png' };
}

describe('workers', () => {
  it('three threads sample and score what one does, before and after a weight sync', async () => {
    const prompts = await Promise.all(
      Array.from({ length: 24 }, async (_, i) => ({
        system: '',
        user: `How many things are in picture ${i}?`,
        images: i % 5 === 2 ? [] : [await image(i % 4)],
      })),
    );
    const options = { name: 'onnx', config, maxPromptTokens: 32, weights: initialValues(config, 1) };
    const one = await OnnxPolicy.create(options);
    const three = await OnnxPolicy.create({ ...options, workers: 3 });
    const sampling = { temperature: 1.2, topP: 0.9, topK: 50, maxTokens: 24, seed: 9 };
    const tokens = (samples: { tokens: number[] }[][]) => samples.map((row) => row.map((s) => s.tokens));
    const expected = await one.generate(prompts, 2, sampling);
    const calls = vi.spyOn(Helper.prototype, 'call');
    expect(tokens(await three.generate(prompts, 2, sampling))).toEqual(tokens(expected));
    expect(calls.mock.calls.map(([method]) => method)).toEqual(['generateAt', 'generateAt']);
    // A batch too small to share (fewer than 16 sequences a thread) stays on this thread.
    await three.generate(prompts.slice(0, 4), 2, sampling);
    expect(calls).toHaveBeenCalledTimes(2);
    calls.mockRestore();
    const requests = expected
      .flat()
      .map((sample, i) => ({ prompt: prompts[i >> 1]!, tokens: sample.tokens }));
    const difference = (a: number[][], b: number[][]) =>
      Math.max(...a.flatMap((row, i) => row.map((value, t) => Math.abs(value - b[i]![t]!))));
    expect(
      difference(await three.score(requests, 'current', 1), await one.score(requests, 'current', 1)),
    ).toBeLessThan(1e-5);
    // New weights reach every thread.
    const trained = initialValues(config, 2);
    await Promise.all([one.setWeights(trained), three.setWeights(trained)]);
    expect(tokens(await three.generate(prompts, 2, sampling))).toEqual(
      tokens(await one.generate(prompts, 2, sampling)),
    );
    expect(
      difference(await three.score(requests, 'current', 1), await one.score(requests, 'current', 1)),
    ).toBeLessThan(1e-5);
    // A user's own model (ONNX files, weights inside) reaches the helpers as it is.
    const { vision, decoder } = exportTinyVlm(config, 'initializers', trained);
    const own = await OnnxPolicy.create({
      ...options,
      weights: new Map(),
      graphs: { vision, decoder },
      workers: 2,
    });
    expect(tokens(await own.generate(prompts, 2, sampling))).toEqual(
      tokens(await one.generate(prompts, 2, sampling)),
    );
    await Promise.all([one.dispose(), three.dispose(), own.dispose()]);
  }, 60_000); // threads starting on a busy machine
});
