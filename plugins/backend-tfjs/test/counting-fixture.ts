import type { Prompt, Random } from '@ekipl/core';
import sharp from 'sharp';

/** 1-3 white squares on black at random cells of a 4 x 4 grid: the smallest counting task with images. */
export async function squaresTask(random: Random, size = 16): Promise<{ prompt: Prompt; count: number }> {
  const count = 1 + random.int(3);
  const cells = random.shuffle(Array.from({ length: 16 }, (_, i) => i)).slice(0, count);
  const pixels = new Uint8Array(size * size * 3);
  const cell = size / 4;
  for (const index of cells) {
    const cx = (index % 4) * cell;
    const cy = Math.floor(index / 4) * cell;
    for (let y = cy + 1; y < cy + cell - 1; y++)
      for (let x = cx + 1; x < cx + cell - 1; x++)
        pixels.fill(255, (y * size + x) * 3, (y * size + x) * 3 + 3);
  }
  const png = new Uint8Array(
    await sharp(Buffer.from(pixels), { raw: { width: size, height: size, channels: 3 } })
      .png()
      .toBuffer(),
  );
  return {
    prompt: { system: '', user: 'How many squares?', images: [{ data: png, mediaType: 'image/png' }] },
    count,
  };
}

/** What an oracle that sees the squares writes. */
export const oracleAnswer = (count: number) => `<answer>${count}</answer>`;
