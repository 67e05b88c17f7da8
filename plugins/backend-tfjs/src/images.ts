import { createHash } from 'node:crypto';
import type { TaskImage } from '@ekipl/core';
import sharp from 'sharp';

/**
 * Image pixels as the vision encoder reads them: resized to `size` x `size` RGB, in [0, 1], cut into
 * `patch` x `patch` patches, each flattened as (row, column, channel): [patches, patch * patch * 3].
 * Decoded images are cached by content hash (the same task images come back every epoch), up to
 * `capacityBytes` per thread, oldest first out: a count bound let the cache of each thread grow by
 * hundreds of MB over a long run of fresh synthetic images (a look like a leak, and 2.4 GB at 224 px).
 */
export class ImagePatcher {
  private readonly cache = new Map<string, Float32Array>();
  private cachedBytes = 0;

  constructor(
    readonly size: number,
    readonly patch: number,
    private readonly capacityBytes = 64 * 2 ** 20,
  ) {}

  /** Bytes of decoded images held (at most `capacityBytes`). */
  get bytes(): number {
    return this.cachedBytes;
  }

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
    while (this.cache.size > 0 && this.cachedBytes + result.byteLength > this.capacityBytes) {
      const [oldest, evicted] = this.cache.entries().next().value!;
      this.cache.delete(oldest);
      this.cachedBytes -= evicted.byteLength;
    }
    if (result.byteLength <= this.capacityBytes) {
      this.cache.set(key, result);
      this.cachedBytes += result.byteLength;
    }
    return result;
  }
}
