import type Anthropic from '@anthropic-ai/sdk';
import type { Prompt } from '@ekipl/core';
import { base64Of } from '@ekipl/provider-kit';

/** A prompt as one Anthropic user message: base64 image blocks, then the text. */
export function toAnthropicMessages(prompt: Prompt): Anthropic.MessageParam[] {
  return [
    {
      role: 'user',
      content: [
        ...prompt.images.map((image) => ({
          type: 'image' as const,
          source: {
            type: 'base64' as const,
            media_type: image.mediaType as 'image/png' | 'image/jpeg',
            data: base64Of(image),
          },
        })),
        { type: 'text' as const, text: prompt.user },
      ],
    },
  ];
}
