import { type Prompt, Random } from '@ekipl/core';
import sharp from 'sharp';
import {
  defaultOptimizerSettings,
  defaultTinyVlmConfig,
  selectEngine,
  TfjsPolicy,
  type TfjsPolicyOptions,
} from '../src/index.js';

/** A model small enough for unit tests: 16 px images (4 patches), width 32. */
export const smallConfig = {
  ...defaultTinyVlmConfig,
  dimension: 32,
  layers: 2,
  heads: 2,
  visionDimension: 24,
  visionLayers: 1,
  visionHeads: 2,
  imageSize: 16,
  patchSize: 8,
  maxPositions: 256,
};

export async function smallPolicy(
  overrides: Partial<TfjsPolicyOptions> = {},
  engine: 'wasm' | 'cpu' = 'wasm',
): Promise<TfjsPolicy> {
  await selectEngine(engine);
  return new TfjsPolicy({
    name: 'tfjs',
    config: smallConfig,
    maxPromptTokens: 32,
    optimizer: defaultOptimizerSettings,
    seed: 3,
    ...overrides,
  });
}

export async function solidPng(color: string, size = 16): Promise<Uint8Array> {
  return new Uint8Array(
    await sharp({ create: { width: size, height: size, channels: 3, background: color } })
      .png()
      .toBuffer(),
  );
}

/** A `color` square on a grey background: something to see once the background is subtracted. */
export async function scenePng(color: string, size = 16): Promise<Uint8Array> {
  const square = await sharp({
    create: { width: size / 2, height: size / 2, channels: 3, background: color },
  })
    .png()
    .toBuffer();
  return new Uint8Array(
    await sharp({ create: { width: size, height: size, channels: 3, background: '#c8c8c8' } })
      .composite([{ input: square, left: size / 4, top: size / 8 }])
      .png()
      .toBuffer(),
  );
}

export async function testPrompts(): Promise<Prompt[]> {
  const red = { data: await scenePng('#ff0000'), mediaType: 'image/png' };
  const blue = { data: await scenePng('#0000ff'), mediaType: 'image/png' };
  return [
    { system: '', user: 'How many?', images: [red] },
    { system: '', user: 'Which changed between the two?', images: [red, blue] },
    { system: '', user: 'text only', images: [] },
  ];
}

export const random = () => Random.fromSeed(1);
