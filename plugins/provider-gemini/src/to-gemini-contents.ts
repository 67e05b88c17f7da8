import type { Prompt } from '@ekipl/core';
import { base64Of } from '@ekipl/provider-kit';
import type { Content } from '@google/genai';

/** A prompt as Gemini contents: one user turn with the text and the images as inline data. */
export function toGeminiContents(prompt: Prompt): Content[] {
  return [
    {
      role: 'user',
      parts: [
        { text: prompt.user },
        ...prompt.images.map((image) => ({
          inlineData: { mimeType: image.mediaType, data: base64Of(image) },
        })),
      ],
    },
  ];
}
