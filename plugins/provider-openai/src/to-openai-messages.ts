import type { Prompt } from '@ekipl/core';
import { dataUrlOf } from '@ekipl/provider-kit';
import type OpenAI from 'openai';

/** A prompt as chat-completion messages: the system text, then the user's text and its images as data URLs. */
export function toOpenAiMessages(prompt: Prompt): OpenAI.ChatCompletionMessageParam[] {
  return [
    { role: 'system', content: prompt.system },
    {
      role: 'user',
      content: [
        { type: 'text', text: prompt.user },
        ...prompt.images.map((image) => ({
          type: 'image_url' as const,
          image_url: { url: dataUrlOf(image) },
        })),
      ],
    },
  ];
}
