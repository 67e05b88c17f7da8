import { definePlugin, z } from '@ekipl/core';
import {
  LogprobFallback,
  openProviderSampler,
  type ProviderAdapter,
  providerOptionsFields,
  resolveApiKey,
} from '@ekipl/provider-kit';
import OpenAI from 'openai';
import { toOpenAiMessages } from './to-openai-messages.js';

export { toOpenAiMessages } from './to-openai-messages.js';

export interface OpenAiAdapterSettings {
  model: string;
  logprobs: boolean;
  maxSamplesPerCall: number;
  maxTokensField: 'max_completion_tokens' | 'max_tokens';
}

/**
 * Chat completions with image parts and `n` answers per call. Token log-probs are asked for when
 * `logprobs` is on; their sum is each answer's behaviorLogProb. A server that refuses log-probs (400
 * naming them) gets the request again without, and a warning; log-probs stay off from then on.
 */
export function openAiAdapter(client: OpenAI, settings: OpenAiAdapterSettings): ProviderAdapter {
  const logprobs = new LogprobFallback(settings.model, settings.logprobs);
  return {
    provider: 'openai',
    maxSamplesPerCall: settings.maxSamplesPerCall,
    samplingIdentity: () => ({ logprobs: logprobs.enabled }),
    drainWarnings: () => logprobs.drainWarnings(),
    async verifyKey(signal) {
      await client.models.list({ signal });
    },
    async complete({ prompt, n, temperature, maxTokens, signal }) {
      for (;;) {
        try {
          const response = await client.chat.completions.create(
            {
              model: settings.model,
              messages: toOpenAiMessages(prompt),
              n,
              ...(temperature === undefined ? {} : { temperature }),
              [settings.maxTokensField]: maxTokens,
              ...(logprobs.enabled ? { logprobs: true } : {}),
            },
            { signal },
          );
          return {
            answers: response.choices.map((choice) => {
              const tokens = choice.logprobs?.content;
              return {
                text: choice.message.content ?? '',
                ...(choice.message.content == null && choice.message.refusal ? { refusal: true } : {}),
                ...(tokens == null ? {} : { logProb: tokens.reduce((sum, token) => sum + token.logprob, 0) }),
              };
            }),
            usage: {
              inputTokens: response.usage?.prompt_tokens ?? 0,
              outputTokens: response.usage?.completion_tokens ?? 0,
            },
          };
        } catch (error) {
          if (logprobs.refused(error)) continue;
          throw error;
        }
      }
    },
  };
}

export const openai = definePlugin({
  kind: 'auxiliary',
  name: 'openai',
  description:
    'OpenAI chat completions (GPT-4o, ...) or any OpenAI-compatible server (vLLM, Ollama) via baseURL',
  options: z.strictObject({
    ...providerOptionsFields,
    logprobs: z
      .boolean()
      .default(true)
      .describe("Ask for token log-probs (their sum is the answer's behaviorLogProb)."),
    maxSamplesPerCall: z.int().positive().default(8).describe('Answers per call (`n`).'),
    maxTokensField: z
      .enum(['max_completion_tokens', 'max_tokens'])
      .default('max_completion_tokens')
      .describe('`max_tokens` for servers that do not know `max_completion_tokens`.'),
  }),
  async create(options, context) {
    const key = resolveApiKey('openai', ['OPENAI_API_KEY'], options);
    const client = new OpenAI({
      apiKey: key.key ?? 'offline',
      ...(options.baseURL === undefined ? {} : { baseURL: options.baseURL }),
      maxRetries: 0, // provider-kit retries, with its own backoff and accounting
      timeout: options.timeoutMs,
    });
    const adapter = openAiAdapter(client, options);
    return openProviderSampler(adapter, key, options, context);
  },
});

export default openai;
