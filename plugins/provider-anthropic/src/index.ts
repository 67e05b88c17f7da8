import Anthropic from '@anthropic-ai/sdk';
import { definePlugin, z } from '@ekipl/core';
import {
  openProviderSampler,
  type ProviderAdapter,
  providerOptionsFields,
  resolveApiKey,
} from '@ekipl/provider-kit';
import { toAnthropicMessages } from './to-anthropic-messages.js';

export { toAnthropicMessages } from './to-anthropic-messages.js';

/**
 * The Messages API: base64 image blocks, one call per answer (it has no `n`), and no log-probs (the
 * estimators' fallbacks stand in for Claude's density). `stop_reason: refusal` counts as a refusal.
 */
export function anthropicAdapter(client: Anthropic, settings: { model: string }): ProviderAdapter {
  return {
    provider: 'anthropic',
    maxSamplesPerCall: 1,
    async verifyKey(signal) {
      await client.models.list({ limit: 1 }, { signal });
    },
    async complete({ prompt, temperature, maxTokens, signal }) {
      const message = await client.messages.create(
        {
          model: settings.model,
          max_tokens: maxTokens,
          system: prompt.system,
          messages: toAnthropicMessages(prompt),
          ...(temperature === undefined ? {} : { temperature: Math.min(temperature, 1) }),
        },
        { signal },
      );
      const text = message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
      return {
        answers: [{ text, ...((message.stop_reason as string) === 'refusal' ? { refusal: true } : {}) }],
        usage: { inputTokens: message.usage.input_tokens, outputTokens: message.usage.output_tokens },
      };
    },
  };
}

export const anthropic = definePlugin({
  kind: 'auxiliary',
  name: 'anthropic',
  description: 'Anthropic Claude over @anthropic-ai/sdk (one call per answer, no log-probs)',
  options: z.strictObject(providerOptionsFields),
  async create(options, context) {
    const key = resolveApiKey('anthropic', ['ANTHROPIC_API_KEY'], options);
    if (options.temperature !== undefined && options.temperature > 1) {
      context.warn(`temperature ${options.temperature} is above Anthropic's maximum of 1: 1 is used`);
    }
    const client = new Anthropic({
      apiKey: key.key ?? 'offline',
      ...(options.baseURL === undefined ? {} : { baseURL: options.baseURL }),
      maxRetries: 0, // provider-kit retries
      timeout: options.timeoutMs,
    });
    const adapter = anthropicAdapter(client, options);
    return openProviderSampler(adapter, key, options, context);
  },
});

export default anthropic;
