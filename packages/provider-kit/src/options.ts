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
  model: z
    .string()
    .min(1)
    .describe("The model to ask, by the provider's name for it (gpt-4o, a local model's name)."),
  apiKeyEnv: z
    .string()
    .min(1)
    .optional()
    .describe('Environment variable holding the API key (defaults per provider: OPENAI_API_KEY, ...).'),
  baseURL: z
    .string()
    .url()
    .optional()
    .describe('Another server speaking the same API (vLLM, Ollama, a proxy, the test mock).'),
  temperature: z
    .number()
    .min(0)
    .max(2)
    .optional()
    .describe("Sampling temperature; the provider's default when absent."),
  maxTokens: z.int().positive().default(1024).describe('Completion tokens per answer.'),
  system: z
    .string()
    .min(1)
    .optional()
    .describe('System text; defaults to the instruction asking for <think>...</think><answer>...</answer>.'),
  concurrency: z.int().positive().default(4).describe('Requests in flight at once.'),
  requestsPerMinute: z.int().positive().optional().describe('Client-side rate limit; none when absent.'),
  timeoutMs: z.int().positive().default(60_000).describe('Per attempt.'),
  maxRetries: z
    .int()
    .nonnegative()
    .default(4)
    .describe(
      "Retries of 408 / 429 / 5xx / network errors, with exponential backoff or the server's retry-after.",
    ),
  retryBaseMs: z
    .int()
    .nonnegative()
    .default(500)
    .describe('First backoff; it doubles with each retry (with jitter).'),
  price: z
    .strictObject({
      input: z.number().min(0).describe('USD per 1M prompt tokens.'),
      output: z.number().min(0).describe('USD per 1M completion tokens.'),
    })
    .optional()
    .describe('USD per 1M tokens; defaults from the built-in table.'),
  budgetUsd: z
    .number()
    .positive()
    .optional()
    .describe('Stop sampling from this provider (one warning; the run goes on) once this much is spent.'),
  cache: z
    .strictObject({
      enabled: z
        .boolean()
        .default(true)
        .describe('Keep every answer on disk, keyed by request; a rerun asks nothing twice.'),
      directory: z.string().min(1).default('.ekipl-cache').describe('Relative to the config file.'),
    })
    .prefault({}),
  offline: z
    .boolean()
    .default(false)
    .describe('Use cached answers only; a missing entry is an error that lists what is missing.'),
  verifyKey: z
    .boolean()
    .default(true)
    .describe(
      'Check the key with one cheap request at startup, so a rejected key fails before any training.',
    ),
};

export const providerOptionsSchema = z.strictObject(providerOptionsFields);
export type ProviderOptions = z.output<typeof providerOptionsSchema>;
