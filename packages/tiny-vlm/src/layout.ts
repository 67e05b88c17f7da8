import type { Prompt } from '@ekipl/core';
import type { TinyVlmConfig } from './config.js';
import type { ImagePatcher } from './images.js';
import { encodePrompt, specialTokens } from './tokenizer.js';

/** One sequence to lay out: prompt tokens (<bos> first), completion tokens, and each image's patches. */
export interface SequenceInput {
  promptTokens: number[];
  completion: number[];
  images: Float32Array[];
}

/**
 * Sequences with the same number of images, laid out as [image tokens][pads][prompt][completion]:
 * text left-padded to one length, so every row's last token sits at the same index (generation).
 */
export interface GroupLayout {
  /** Positions of these sequences in the caller's list. */
  indices: number[];
  images: number;
  imageTokens: number;
  batch: number;
  /** Text length Lt (pads + prompt + completion). */
  textLength: number;
  patches?: Float32Array;
  tokens: Int32Array;
  positions: Int32Array;
  keyValid: Float32Array;
  /** Prompt tokens of each row (<bos> included). */
  promptLength: number[];
  /** Text index of each row's first completion token. */
  completionStart: number[];
  completionLength: number[];
}

export function groupByImages(
  sequences: readonly SequenceInput[],
  patchesPerImage: number,
  maxPositions: number,
): GroupLayout[] {
  const byImages = new Map<number, number[]>();
  sequences.forEach((sequence, index) => {
    const list = byImages.get(sequence.images.length) ?? [];
    list.push(index);
    byImages.set(sequence.images.length, list);
  });
  return [...byImages.entries()].map(([images, indices]) =>
    layout(sequences, indices, images, patchesPerImage, maxPositions),
  );
}

function layout(
  sequences: readonly SequenceInput[],
  indices: number[],
  images: number,
  patchesPerImage: number,
  maxPositions: number,
): GroupLayout {
  const imageTokens = images * patchesPerImage;
  const batch = indices.length;
  const textLength = Math.max(
    ...indices.map((i) => sequences[i]!.promptTokens.length + sequences[i]!.completion.length),
  );
  const length = imageTokens + textLength;
  const tokens = new Int32Array(batch * textLength).fill(specialTokens.pad);
  const positions = new Int32Array(batch * length);
  const keyValid = new Float32Array(batch * length);
  const promptLength: number[] = [];
  const completionStart: number[] = [];
  const completionLength: number[] = [];
  const patchSize = images === 0 ? 0 : sequences[indices[0]!]!.images[0]!.length;
  const patches = images === 0 ? undefined : new Float32Array(batch * images * patchSize);
  indices.forEach((index, row) => {
    const sequence = sequences[index]!;
    const text = [...sequence.promptTokens, ...sequence.completion];
    if (imageTokens + text.length > maxPositions) {
      throw new RangeError(
        `sequence of ${imageTokens + text.length} tokens exceeds the model's ${maxPositions} positions`,
      );
    }
    const pad = textLength - text.length;
    tokens.set(text, row * textLength + pad);
    for (let t = 0; t < imageTokens; t++) {
      positions[row * length + t] = t;
      keyValid[row * length + t] = 1;
    }
    for (let t = 0; t < text.length; t++) {
      positions[row * length + imageTokens + pad + t] = imageTokens + t;
      keyValid[row * length + imageTokens + pad + t] = 1;
    }
    promptLength.push(sequence.promptTokens.length);
    completionStart.push(pad + sequence.promptTokens.length);
    completionLength.push(sequence.completion.length);
    sequence.images.forEach((image, k) => {
      patches!.set(image, (row * images + k) * patchSize);
    });
  });
  return {
    indices,
    images,
    imageTokens,
    batch,
    textLength,
    ...(patches === undefined ? {} : { patches }),
    tokens,
    positions,
    keyValid,
    promptLength,
    completionStart,
    completionLength,
  };
}

/** Dense [B, Lt - 1] array with `values[row][c]` at the prediction column of completion token c, 0 elsewhere. */
export function completionGrid(group: GroupLayout, values: (row: number, c: number) => number): Float32Array {
  const columns = group.textLength - 1;
  const grid = new Float32Array(group.batch * columns);
  for (let row = 0; row < group.batch; row++) {
    for (let c = 0; c < group.completionLength[row]!; c++)
      grid[row * columns + group.completionStart[row]! + c - 1] = values(row, c);
  }
  return grid;
}

/** Per-row completion values read back from a dense [B, Lt - 1] array. */
export function readCompletions(group: GroupLayout, grid: ArrayLike<number>): number[][] {
  const columns = group.textLength - 1;
  return group.completionLength.map((count, row) =>
    Array.from({ length: count }, (_, c) => grid[row * columns + group.completionStart[row]! + c - 1]!),
  );
}

/** A prompt as the model reads it: its first `maxImages` images as patches, its user text cut to `maxPromptTokens`. */
export async function promptInput(
  prompt: Prompt,
  patcher: ImagePatcher,
  config: TinyVlmConfig,
  maxPromptTokens: number,
): Promise<SequenceInput> {
  const images = await Promise.all(
    prompt.images.slice(0, config.maxImages).map((image) => patcher.patches(image)),
  );
  return { promptTokens: encodePrompt(prompt.user, maxPromptTokens), completion: [], images };
}

/** Completion tokens that fit after a prompt's image tokens and text in the model's positions (0 when none). */
export function completionRoom(prompt: Prompt, config: TinyVlmConfig, maxPromptTokens: number): number {
  const imageTokens =
    Math.min(prompt.images.length, config.maxImages) * (config.imageSize / config.patchSize) ** 2;
  return Math.max(0, config.maxPositions - imageTokens - encodePrompt(prompt.user, maxPromptTokens).length);
}

/**
 * Splits a batch of `count` items into at most `parts` contiguous ranges of near-equal size (none empty;
 * an empty batch is one empty range): how a backend shares a batch out over its threads.
 */
export function splitRanges(count: number, parts: number): [number, number][] {
  const used = Math.max(1, Math.min(parts, count));
  const ranges: [number, number][] = [];
  for (let part = 0; part < used; part++) {
    ranges.push([Math.floor((part * count) / used), Math.floor(((part + 1) * count) / used)]);
  }
  return ranges;
}
