import { Random } from '@ekipl/core';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  decodeSafetensors,
  decodeTokens,
  defaultTinyVlmConfig,
  encodeCompletion,
  encodePrompt,
  encodeSafetensors,
  groupByImages,
  ImagePatcher,
  initialValues,
  parameterShapes,
  patchDimension,
  sampleToken,
  specialTokens,
  splitRanges,
  tinyVlmSizeSchema,
} from '../src/index.js';

async function solidPng(color: string, size = 16): Promise<Uint8Array> {
  return new Uint8Array(
    await sharp({ create: { width: size, height: size, channels: 3, background: color } })
      .png()
      .toBuffer(),
  );
}

/** A 16 px grey (200) image with an 8 x 8 red square in its top-left quarter. */
async function redSquareScene(): Promise<Uint8Array> {
  const square = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#ff0000' } })
    .png()
    .toBuffer();
  return new Uint8Array(
    await sharp({ create: { width: 16, height: 16, channels: 3, background: '#c8c8c8' } })
      .composite([{ input: square, left: 0, top: 0 }])
      .png()
      .toBuffer(),
  );
}

describe('sampleToken', () => {
  it('sampleToken draws from softmax(logits / T), truncated by top-k / top-p, and returns the full log-prob', () => {
    // logits ln [1, 2, 3, 4] at T = 1: probabilities 0.1, 0.2, 0.3, 0.4.
    const logits = [1, 2, 3, 4].map(Math.log);
    const base = { temperature: 1, topP: 1, topK: 0, maxTokens: 1, seed: 0 };
    const frequencies = (settings: typeof base, draws = 20_000) => {
      const random = Random.fromSeed('draws');
      const counts = [0, 0, 0, 0];
      for (let i = 0; i < draws; i++) counts[sampleToken(logits, settings, random).token]!++;
      return counts.map((count) => count / draws);
    };
    // Binomial standard error at 20 000 draws is <= 0.0035: 0.015 is > 4 of them.
    frequencies(base).forEach((share, token) => {
      expect(Math.abs(share - [0.1, 0.2, 0.3, 0.4][token]!)).toBeLessThan(0.015);
    });
    // top-p 0.5 keeps 0.4 + 0.3 (the first mass >= 0.5): 4/7 and 3/7.
    frequencies({ ...base, topP: 0.5 }).forEach((share, token) => {
      expect(Math.abs(share - [0, 0, 3 / 7, 4 / 7][token]!)).toBeLessThan(0.015);
    });
    // top-k 2: the same two.
    frequencies({ ...base, topK: 2 }).forEach((share, token) => {
      expect(Math.abs(share - [0, 0, 3 / 7, 4 / 7][token]!)).toBeLessThan(0.015);
    });
    // T = 2 flattens to sqrt: weights 1, sqrt 2, sqrt 3, 2 over their sum.
    const sqrtTotal = 1 + Math.SQRT2 + Math.sqrt(3) + 2;
    frequencies({ ...base, temperature: 2 }).forEach((share, token) => {
      expect(Math.abs(share - Math.sqrt(token + 1) / sqrtTotal)).toBeLessThan(0.015);
    });
    // The log-prob is under the full tempered distribution, whatever the truncation.
    const greedy = sampleToken(logits, { ...base, topK: 1 }, Random.fromSeed(1));
    expect(greedy.token).toBe(3);
    expect(greedy.logProb).toBeCloseTo(Math.log(0.4), 6);
    const flattened = sampleToken(logits, { ...base, temperature: 2, topK: 1 }, Random.fromSeed(1));
    expect(flattened.logProb).toBeCloseTo(Math.log(2 / sqrtTotal), 6);
  });

  it('top-p applies to what top-k kept, renormalised; the sampling density and the entropy are returned (issue 10, item 3)', () => {
    const logits = [1, 2, 3, 4].map(Math.log); // 0.1, 0.2, 0.3, 0.4
    const base = { temperature: 1, topP: 1, topK: 0, maxTokens: 1, seed: 0 };
    // top-k 3 keeps 0.4, 0.3, 0.2 -> 4/9, 3/9, 2/9; top-p 0.75 then stops at 4/9 + 3/9 = 0.78. Applied
    // to the full distribution (before), 0.4 + 0.3 = 0.7 < 0.75 kept the third token too.
    const settings = { ...base, topK: 3, topP: 0.75 };
    const random = Random.fromSeed('draws');
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 20_000; i++) counts[sampleToken(logits, settings, random).token]!++;
    counts.forEach((count, token) => {
      expect(Math.abs(count / 20_000 - [0, 0, 3 / 7, 4 / 7][token]!)).toBeLessThan(0.015);
    });
    const drawn = sampleToken(logits, settings, Random.fromSeed(3));
    const kept = drawn.token === 3 ? 4 / 7 : 3 / 7;
    expect(drawn.samplingLogProb).toBeCloseTo(Math.log(kept), 12);
    expect(drawn.logProb).toBeCloseTo(Math.log(drawn.token === 3 ? 0.4 : 0.3), 12);
    // Nothing cut: the sampling density is the full one. Entropy of [0.1, 0.2, 0.3, 0.4] in nats.
    const full = sampleToken(logits, base, Random.fromSeed(3));
    expect(full.samplingLogProb).toBeCloseTo(full.logProb, 12);
    const entropy = -[0.1, 0.2, 0.3, 0.4].reduce((sum, p) => sum + p * Math.log(p), 0);
    expect(full.entropy).toBeCloseTo(entropy, 12);
    expect(drawn.entropy).toBeCloseTo(entropy, 12); // of the distribution before truncation
  });

  it('truncates to the tokens a full sort by probability (ties: lower id first) would keep', () => {
    // The reference: every token sorted, the first k kept, then the top-p prefix, walked in that order
    // (nothing cut: all tokens in id order).
    const reference = (logits: number[], topK: number, topP: number, random: Random) => {
      const weights = logits.map((logit) => Math.exp(logit - Math.max(...logits)));
      const cut = (topK > 0 && topK < logits.length) || topP < 1;
      let order = weights.map((_, token) => token);
      if (cut) order.sort((a, b) => weights[b]! - weights[a]! || a - b);
      if (topK > 0) order = order.slice(0, topK);
      const topKMass = order.reduce((sum, token) => sum + weights[token]!, 0);
      let mass = 0;
      let kept = 0;
      while (kept < order.length) {
        mass += weights[order[kept]!]! / topKMass;
        kept++;
        if (mass >= topP) break;
      }
      order = order.slice(0, kept);
      let draw = random.float() * order.reduce((sum, token) => sum + weights[token]!, 0);
      for (const token of order) {
        draw -= weights[token]!;
        if (draw < 0) return token;
      }
      return order[order.length - 1]!;
    };
    const values = Random.fromSeed('ties');
    for (let trial = 0; trial < 300; trial++) {
      // Logits on a coarse grid: many exact ties, also at the k-th place.
      const logits = Array.from({ length: 60 }, () => values.int(8) / 2);
      const topK = [0, 1, 5, 17, 59, 60, 80][trial % 7]!;
      const topP = [1, 0.9, 0.5][trial % 3]!;
      const settings = { temperature: 1, topP, topK, maxTokens: 1, seed: 0 };
      const drawn = sampleToken(logits, settings, Random.fromSeed(trial)).token;
      expect(drawn).toBe(reference(logits, topK, topP, Random.fromSeed(trial)));
    }
  });
});

describe('splitRanges', () => {
  it('shares a batch into contiguous, even ranges, none empty', () => {
    expect(splitRanges(5, 2)).toEqual([
      [0, 2],
      [2, 5],
    ]);
    expect(splitRanges(1, 3)).toEqual([[0, 1]]);
    expect(splitRanges(0, 2)).toEqual([[0, 0]]); // an empty batch: one empty range, on this thread
  });
});

describe('ImagePatcher', () => {
  it('bounds its cache by bytes, oldest out, and serves repeats from it', async () => {
    const imageBytes = 4 * 192 * 4; // 16 px, 8 px patches: 4 patches x 192 floats
    const patcher = new ImagePatcher(16, 8, 3 * imageBytes);
    const colors = ['#ff0000', '#00ff00', '#0000ff', '#ffffff', '#000000'];
    const images = await Promise.all(
      colors.map(async (color) => ({ data: await solidPng(color), mediaType: 'image/png' })),
    );
    const first = await patcher.patches(images[0]!);
    expect(await patcher.patches(images[0]!)).toBe(first); // a repeat is the cached array
    for (const image of images) await patcher.patches(image);
    expect(patcher.bytes).toBe(3 * imageBytes);
    expect(await patcher.patches(images[4]!)).toBe(await patcher.patches(images[4]!));
    expect(await patcher.patches(images[0]!)).not.toBe(first); // evicted, decoded again
  });

  it('background normalisation: each channel minus its median, times 4 / 255; a flat image is all zeros', async () => {
    // A 16 px grey (200) image with an 8 x 8 red square in its top-left quarter: the median is the grey.
    const scene = await redSquareScene();
    const background = new ImagePatcher(16, 8, undefined, 'background');
    const patches = await background.patches({ data: scene, mediaType: 'image/png' });
    // Patch 0 is the red square: (255 - 200) x 4 / 255, (0 - 200) x 4 / 255, twice; patch 1 is grey: 0.
    expect(patches[0]).toBeCloseTo((55 * 4) / 255, 6);
    expect(patches[1]).toBeCloseTo((-200 * 4) / 255, 6);
    expect(patches[2]).toBeCloseTo((-200 * 4) / 255, 6);
    expect(patches.slice(192, 384).every((value) => value === 0)).toBe(true);
    const raw = await new ImagePatcher(16, 8).patches({ data: scene, mediaType: 'image/png' });
    expect(raw[0]).toBeCloseTo(1, 6);
    expect(raw[192]).toBeCloseTo(200 / 255, 6);
    const flat = await background.patches({ data: await solidPng('#336699'), mediaType: 'image/png' });
    expect(flat.every((value) => value === 0)).toBe(true);
  });

  it('patch context: each token reads its patch and `context` pixels around it, zeros beyond the edge', async () => {
    // 16 px, 8 px patches, 2 px of context: 12 x 12 windows. A red 8 x 8 square fills the top-left patch.
    const scene = await redSquareScene();
    const patcher = ImagePatcher.forModel({
      imageSize: 16,
      patchSize: 8,
      patchContext: 2,
      imageNormalisation: 'background',
    });
    expect(patcher.patchDimension).toBe(12 * 12 * 3);
    expect(patchDimension({ patchSize: 8, patchContext: 2 })).toBe(patcher.patchDimension);
    const patches = await patcher.patches({ data: scene, mediaType: 'image/png' });
    expect(patches.length).toBe(4 * 12 * 12 * 3);
    const red = (55 * 4) / 255;
    // The red channel of window `patch` at window pixel (row, column).
    const at = (patch: number, row: number, column: number) =>
      patches[patch * 432 + (row * 12 + column) * 3]!;
    expect(at(0, 0, 0)).toBe(0); // above and left of the image
    expect(at(0, 1, 5)).toBe(0);
    expect(at(0, 2, 2)).toBeCloseTo(red, 6); // image pixel (0, 0)
    expect(at(0, 9, 9)).toBeCloseTo(red, 6); // image pixel (7, 7)
    expect(at(0, 10, 10)).toBe(0); // image pixel (8, 8): grey background
    // Patch 1 (top right) sees image columns 6-17: the square's last two columns, then its own grey.
    expect(at(1, 2, 0)).toBeCloseTo(red, 6);
    expect(at(1, 2, 1)).toBeCloseTo(red, 6);
    expect(at(1, 2, 2)).toBe(0);
    expect(at(1, 2, 11)).toBe(0); // column 17: beyond the edge
    expect(at(3, 0, 0)).toBeCloseTo(red, 6); // patch 3 (bottom right) starts at image pixel (6, 6)
    // Without context, the windows are the plain patches.
    const plain = ImagePatcher.forModel({
      imageSize: 16,
      patchSize: 8,
      patchContext: 0,
      imageNormalisation: 'background',
    });
    const plainPatches = await plain.patches({ data: scene, mediaType: 'image/png' });
    expect(plainPatches).toEqual(
      await new ImagePatcher(16, 8, undefined, 'background').patches({ data: scene, mediaType: 'image/png' }),
    );
  });
});

describe('tokenizer and layout', () => {
  it('prompts start with <bos> and are cut to the limit; completions end with <eos> and decode back', () => {
    expect(encodePrompt('abc', 3)).toEqual([specialTokens.bos, 97, 98]);
    expect(encodeCompletion('é')).toEqual([0xc3, 0xa9, specialTokens.eos]);
    expect(decodeTokens([...encodeCompletion('<answer>7</answer>'), 65])).toBe('<answer>7</answer>');
  });

  it('groups sequences by image count, left-pads the text, and skips pads in the positions', () => {
    const patch = new Float32Array(2).fill(1);
    const [one, none] = groupByImages(
      [
        { promptTokens: [256, 1], completion: [2, 3], images: [patch] },
        { promptTokens: [256], completion: [], images: [] },
        { promptTokens: [256, 1, 1], completion: [2], images: [patch] },
      ],
      1,
      64,
    );
    expect(one!.indices).toEqual([0, 2]);
    expect(none!.indices).toEqual([1]);
    expect(Array.from(one!.tokens)).toEqual([256, 1, 2, 3, 256, 1, 1, 2]); // both 4 long: no pads
    expect(Array.from(none!.positions)).toEqual([0]);
    expect(one!.completionStart).toEqual([2, 3]);
  });
});

describe('weights', () => {
  it('the same seed gives the same initial values, norms at 1, the documented shapes', () => {
    const config = {
      ...defaultTinyVlmConfig,
      dimension: 16,
      layers: 1,
      heads: 2,
      visionDimension: 12,
      visionHeads: 2,
    };
    const a = initialValues(config, 5);
    const b = initialValues(config, 5);
    expect([...a.keys()]).toEqual(parameterShapes(config).map(([name]) => name));
    expect(a.get('embed.weight')!.data).toEqual(b.get('embed.weight')!.data);
    expect(a.get('embed.weight')!.data).not.toEqual(initialValues(config, 6).get('embed.weight')!.data);
    expect(a.get('norm.weight')!.data.every((value) => value === 1)).toBe(true);
    expect(a.get('blocks.0.mlp.gate.weight')!.shape).toEqual([16, 42]);
  });

  it('safetensors round-trips names, shapes and float32 values with metadata', () => {
    const bytes = encodeSafetensors(
      { 'a.weight': { shape: [2, 2], data: Float32Array.from([1, -2, 3.5, 0]) } },
      { format: 'test' },
    );
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ format: 'test' });
    expect(tensors['a.weight']!.shape).toEqual([2, 2]);
    expect(Array.from(tensors['a.weight']!.data)).toEqual([1, -2, 3.5, 0]);
  });

  it('the size options check what a model needs', () => {
    expect(tinyVlmSizeSchema.parse({})).toMatchObject({ dimension: 128, imageNormalisation: 'background' });
    expect(tinyVlmSizeSchema.safeParse({ imageSize: 30, patchSize: 8 }).success).toBe(false);
  });
});
