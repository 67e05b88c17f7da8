import { definePlugin, z } from '@ekipl/core';
import {
  LogprobFallback,
  openProviderSampler,
  type ProviderAdapter,
  providerOptionsFields,
  resolveApiKey,
} from '@ekipl/provider-kit';
import { GoogleGenAI } from '@google/genai';
import { toGeminiContents } from './to-gemini-contents.js';

export { toGeminiContents } from './to-gemini-contents.js';

export interface GeminiAdapterSettings {
  model: string;
  logprobs: boolean;
  maxSamplesPerCall: number;
}

/**
 * generateContent with inline images and `candidateCount` answers per call. Log-probs are asked for
 * when `logprobs` is on (each answer's chosen-token log-probs summed into its behaviorLogProb); a model
 * that refuses them (400 naming log-probs) gets the request again without, and a warning, and log-probs
 * stay off from then on. An answer blocked by safety filters counts as a refusal.
 */
export function geminiAdapter(client: GoogleGenAI, settings: GeminiAdapterSettings): ProviderAdapter {
  const logprobs = new LogprobFallback(settings.model, settings.logprobs);
  return {
    provider: 'gemini',
    maxSamplesPerCall: settings.maxSamplesPerCall,
    samplingIdentity: () => ({ logprobs: logprobs.enabled }),
    drainWarnings: () => logprobs.drainWarnings(),
    async verifyKey(signal) {
      await client.models.list({ config: { pageSize: 1, abortSignal: signal } });
    },
    async complete({ prompt, n, temperature, maxTokens, signal }) {
      for (;;) {
        try {
          const response = await client.models.generateContent({
            model: settings.model,
            contents: toGeminiContents(prompt),
            config: {
              systemInstruction: prompt.system,
              candidateCount: n,
              maxOutputTokens: maxTokens,
              ...(temperature === undefined ? {} : { temperature }),
              ...(logprobs.enabled ? { responseLogprobs: true } : {}),
              abortSignal: signal,
            },
          });
          return {
            answers: (response.candidates ?? []).map((candidate) => {
              const chosen = candidate.logprobsResult?.chosenCandidates;
              const text = (candidate.content?.parts ?? []).map((part) => part.text ?? '').join('');
              return {
                text,
                ...(candidate.content === undefined ? { refusal: true } : {}),
                ...(chosen === undefined
                  ? {}
                  : { logProb: chosen.reduce((sum, token) => sum + (token.logProbability ?? 0), 0) }),
              };
            }),
            usage: {
              inputTokens: response.usageMetadata?.promptTokenCount ?? 0,
              outputTokens: response.usageMetadata?.candidatesTokenCount ?? 0,
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

export const gemini = definePlugin({
  kind: 'auxiliary',
  name: 'gemini',
  description:
    "Google Gemini over @google/genai (the maintained SDK; @google/generative-ai's support ended 2025-08-31)",
  options: z.strictObject({
    ...providerOptionsFields,
    logprobs: z
      .boolean()
      .default(true)
      .describe('Ask for log-probs where the model supports them (fall back without when it refuses).'),
    maxSamplesPerCall: z.int().positive().default(8).describe('Answers per call (`candidateCount`).'),
  }),
  async create(options, context) {
    const key = resolveApiKey('gemini', ['GEMINI_API_KEY', 'GOOGLE_API_KEY'], options);
    const client = new GoogleGenAI({
      apiKey: key.key ?? 'offline',
      httpOptions: {
        ...(options.baseURL === undefined ? {} : { baseUrl: options.baseURL }),
        timeout: options.timeoutMs,
      },
    });
    const adapter = geminiAdapter(client, options);
    return openProviderSampler(adapter, key, options, context);
  },
});

export default gemini;
