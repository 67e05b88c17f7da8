import { createHash } from 'node:crypto';
import type { TaskImage } from '@ekipl/core';
import sharp from 'sharp';
import type { TinyVlmConfig } from './config.js';

/**
 * How pixels are scaled for the vision encoder. `none`: in [0, 1]. `background`: each channel minus
 * its median over the image (the background, on these scenes), times 4: a flat image is all zeros and
 * an object stands out by its contrast. Raw [0, 1] pixels on a bright background gave every patch the
 * same large offset; the tiny model then learnt the answer prior and ignored its images. A PyTorch probe of
 * this architecture (answer-only targets, 6 min on one core, greedy on 500 id tasks, real against
 * blanked images): raw pixels 0.43 / 0.38 at 32 px and 0.37 / 0.36 at 64 px; background at 32 px,
 * 8 px patches, 0.49 / 0.39.
 */
export type ImageNormalisation = 'none' | 'background';

/**
 * Image pixels as the vision encoder reads them: resized to `size` x `size` RGB, scaled as
 * `normalisation` says, cut into `patch` x `patch` patches. Each patch's token reads a window of `context`
 * more pixels on every side (zeros, the normalised background, beyond the image's edge), flattened as
 * (row, column, channel): [patches, (patch + 2 * context)^2 * 3].
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
    readonly normalisation: ImageNormalisation = 'none',
    readonly context = 0,
  ) {}

  /** The patcher of a model config, with the default cache. */
  static forModel(
    config: Pick<TinyVlmConfig, 'imageSize' | 'patchSize' | 'patchContext' | 'imageNormalisation'>,
  ): ImagePatcher {
    return new ImagePatcher(
      config.imageSize,
      config.patchSize,
      undefined,
      config.imageNormalisation,
      config.patchContext,
    );
  }

  /** Bytes of decoded images held (at most `capacityBytes`). */
  get bytes(): number {
    return this.cachedBytes;
  }

  get patchesPerImage(): number {
    return (this.size / this.patch) ** 2;
  }

  get patchDimension(): number {
    return (this.patch + 2 * this.context) ** 2 * 3;
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
    const offset0 = this.normalisation === 'background' ? channelMedians(raw) : [0, 0, 0];
    const scale = this.normalisation === 'background' ? 4 / 255 : 1 / 255;
    const perRow = this.size / this.patch;
    const window = this.patch + 2 * this.context;
    let offset = 0;
    for (let py = 0; py < perRow; py++) {
      for (let px = 0; px < perRow; px++) {
        for (let y = py * this.patch - this.context; y < py * this.patch - this.context + window; y++) {
          for (let x = px * this.patch - this.context; x < px * this.patch - this.context + window; x++) {
            if (y < 0 || y >= this.size || x < 0 || x >= this.size) {
              offset += 3; // outside the image: zeros
              continue;
            }
            const pixel = (y * this.size + x) * 3;
            for (let c = 0; c < 3; c++) result[offset++] = (raw[pixel + c]! - offset0[c]!) * scale;
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

/** Median of each RGB channel of packed 8-bit pixels, by histogram. */
function channelMedians(raw: Uint8Array): [number, number, number] {
  const pixels = raw.length / 3;
  const medians: number[] = [];
  for (let c = 0; c < 3; c++) {
    const histogram = new Uint32Array(256);
    for (let i = c; i < raw.length; i += 3) histogram[raw[i]!]!++;
    let seen = 0;
    let value = 0;
    while (value < 255 && seen + histogram[value]! <= pixels / 2) seen += histogram[value++]!;
    medians.push(value);
  }
  return medians as [number, number, number];
}
