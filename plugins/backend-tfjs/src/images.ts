import { createHash } from 'node:crypto';
import type { TaskImage } from '@ekipl/core';
import sharp from 'sharp';

/**
 * Image pixels as the vision encoder reads them: resized to `size` x `size` RGB, in [0, 1], cut into
 * `patch` x `patch` patches, each flattened as (row, column, channel): [patches, patch * patch * 3].
 * Decoded images are cached by content hash (the same task images come back every epoch).
 */
export class ImagePatcher {
  private readonly cache = new Map<string, Float32Array>();

  constructor(
    readonly size: number,
    readonly patch: number,
    private readonly capacity = 4096,
  ) {}

  get patchesPerImage(): number {
    return (this.size / this.patch) ** 2;
  }

  get patchDimension(): number {
    return this.patch * this.patch * 3;
  }

  async patches(image: TaskImage): Promise<Float32Array> {
    const key = createHash('sha1').update(image.data).digest('hex');
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const raw = await sharp(Buffer.from(image.data))
      .removeAlpha()
      .resize(this.size, this.size, { fit: 'fill', kernel: 'lanczos3' })
      .raw()
      .toBuffer();
    const result = new Float32Array(this.patchesPerImage * this.patchDimension);
    const perRow = this.size / this.patch;
    let offset = 0;
    for (let py = 0; py < perRow; py++) {
      for (let px = 0; px < perRow; px++) {
        for (let y = 0; y < this.patch; y++) {
          for (let x = 0; x < this.patch; x++) {
            const pixel = ((py * this.patch + y) * this.size + px * this.patch + x) * 3;
            for (let c = 0; c < 3; c++) result[offset++] = raw[pixel + c]! / 255;
          }
        }
      }
    }
    if (this.cache.size >= this.capacity) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, result);
    return result;
  }
}
