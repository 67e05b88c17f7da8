import type { TaskImage } from '@ekipl/core';

/** Base64 of an image's bytes, as every API's inline-image field wants it. */
export function base64Of(image: TaskImage): string {
  return Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength).toString('base64');
}

/** `data:image/png;base64,...` (OpenAI's image_url). */
export function dataUrlOf(image: TaskImage): string {
  return `data:${image.mediaType};base64,${base64Of(image)}`;
}
