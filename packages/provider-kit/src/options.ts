import { z } from '@ekipl/core';

/** USD per million tokens. */
export interface Price {
  input: number;
  output: number;
}

/**
 * Default prices (USD per 1M input / output tokens, list prices as of 2026) for common models; a model
 * not listed costs 0 with a warning until `price` is set. Matching is by longest prefix of the model id.
 */
export const defaultPrices: Readonly<Record<string, Price>> = {
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1': { input: 2, output: 8 },
  'gemini-1.5-pro': { input: 1.25, output: 5 },
  'gemini-1.5-flash': { input: 0.075, output: 0.3 },
  'gemini-2.0-flash': { input: 0.1, output: 0.4 },
  'gemini-2.5-flash': { input: 0.3, output: 2.5 },
  'gemini-2.5-pro': { input: 1.25, output: 10 },
  'claude-3-5-haiku': { input: 0.8, output: 4 },
  'claude-3-5-sonnet': { input: 3, output: 15 },
  'claude-sonnet-4': { input: 3, output: 15 },
  'claude-opus-4': { input: 15, output: 75 },
};

export function priceOf(model: string, override?: Price): Price | undefined {
  if (override !== undefined) return override;
  const match = Object.keys(defaultPrices)
    .filter((prefix) => model.startsWith(prefix))
    .sort((a, b) => b.length - a.length)[0];
  return match === undefined ? undefined : defaultPrices[match];
}

/** Options every external-model sampler takes (a provider plugin extends them). */
export const providerOptionsFields = {
  model: z.string().min(1),
  /** Environment variable holding the API key (defaults per provider: OPENAI_API_KEY, ...). */
  apiKeyEnv: z.string().min(1).optional(),
  /** Another server speaking the same API (vLLM, Ollama, a proxy, the test mock). */
  baseURL: z.string().url().optional(),
  temperature: z.number().min(0).max(2).optional(),
  /** Completion tokens per answer. */
  maxTokens: z.int().positive().default(1024),
  /** System text; defaults to the instruction asking for <think>...</think><answer>...</answer>. */
  system: z.string().min(1).optional(),
  /** Requests in flight at once. */
  concurrency: z.int().positive().default(4),
  requestsPerMinute: z.int().positive().optional(),
  /** Per attempt. */
  timeoutMs: z.int().positive().default(60_000),
  /** Retries of 408 / 429 / 5xx / network errors, with exponential backoff or the server's retry-after. */
  maxRetries: z.int().nonnegative().default(4),
  retryBaseMs: z.int().nonnegative().default(500),
  /** USD per 1M tokens; defaults from the built-in table. */
  price: z.strictObject({ input: z.number().min(0), output: z.number().min(0) }).optional(),
  /** Stop sampling from this provider (one warning; the run goes on) once this much is spent. */
  budgetUsd: z.number().positive().optional(),
  cache: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Relative to the config file. */
      directory: z.string().min(1).default('.ekipl-cache'),
    })
    .prefault({}),
  /** Use cached answers only; a missing entry is an error that lists what is missing. */
  offline: z.boolean().default(false),
  /** Check the key with one cheap request at startup, so a rejected key fails before any training. */
  verifyKey: z.boolean().default(true),
};

export const providerOptionsSchema = z.strictObject(providerOptionsFields);
export type ProviderOptions = z.output<typeof providerOptionsSchema>;
