import sharp from 'sharp';
import type { Canvas } from './raster.js';

/** PNG bytes of a canvas, with fixed encoder settings so the bytes depend only on the pixels. */
export async function encodePng(canvas: Canvas): Promise<Uint8Array> {
  const buffer = await sharp(Buffer.from(canvas.toRgb()), {
    raw: { width: canvas.width, height: canvas.height, channels: 3 },
  })
    .png({ compressionLevel: 9, adaptiveFiltering: false, palette: false })
    .toBuffer();
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
