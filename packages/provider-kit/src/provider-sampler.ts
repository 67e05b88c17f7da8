import { isAbsolute, resolve } from 'node:path';
import {
  type Action,
  type AuxiliarySampler,
  answerFormatInstruction,
  EkiplError,
  type Prompt,
  ProviderError,
  type Random,
  specificationVersion,
} from '@ekipl/core';
import { AnswerCache, type CachedAnswer, cacheKey } from './cache.js';
import { redact, toProviderError } from './errors.js';
import { RequestLimiter, sleep } from './limiter.js';
import { type ProviderOptions, priceOf } from './options.js';

/** One API call: `n` answers to one prompt. */
export interface ProviderRequest {
  prompt: Prompt;
  n: number;
  temperature?: number | undefined;
  maxTokens: number;
  signal: AbortSignal;
}

export interface ProviderAnswer {
  text: string;
  /** Sum of the answer's token log-probs, when the API returned them. */
  logProb?: number;
  /** The model declined to answer (no action is made of it). */
  refusal?: boolean;
}

export interface ProviderCompletion {
  answers: ProviderAnswer[];
  usage: { inputTokens: number; outputTokens: number };
}

/** What differs between APIs; everything else is this kit's. */
export interface ProviderAdapter {
  /** `openai`, `gemini`, `anthropic`: part of cache keys and messages. */
  provider: string;
  /** Answers one call can return (`n`, `candidateCount`); 1 for APIs without it. */
  maxSamplesPerCall: number;
  complete(request: ProviderRequest): Promise<ProviderCompletion>;
  /** One cheap authenticated request; throws (any error with `status` 401 / 403) on a rejected key. */
  verifyKey?(signal: AbortSignal): Promise<void>;
  /** Sampling settings that change answers (log-probs on or off), for cache keys. */
  samplingIdentity?(): Record<string, unknown>;
  /** Options the adapter could not honour since the last call, reported once each. */
  drainWarnings?(): string[];
}

export interface ProviderSamplerContext {
  name: string;
  configDirectory: string;
  warn(message: string): void;
  random: Random;
  /** The API key, only to scrub it from every message. */
  secret?: string | undefined;
}

export interface ApiKey {
  key?: string;
  variable: string;
}

/**
 * The API key from the first set variable of `variables` (or `apiKeyEnv`). A missing key fails at
 * startup naming the variable, unless the sampler runs offline (cache only).
 */
export function resolveApiKey(
  provider: string,
  variables: readonly string[],
  options: Pick<ProviderOptions, 'apiKeyEnv' | 'offline'>,
): ApiKey {
  const candidates = options.apiKeyEnv === undefined ? variables : [options.apiKeyEnv];
  for (const variable of candidates) {
    const key = process.env[variable];
    if (key !== undefined && key !== '') return { key, variable };
  }
  const variable = candidates.join(' or ');
  if (options.offline) return { variable };
  throw new EkiplError(
    `${provider}: no API key: set ${variable}${options.apiKeyEnv === undefined ? ' (or options.apiKeyEnv to name another variable)' : ''}, or use offline: true with a filled cache`,
  );
}

/** Checks the key with the adapter's cheap request; a rejected key fails here, before any training. */
export async function verifyApiKey(adapter: ProviderAdapter, key: ApiKey, timeoutMs: number): Promise<void> {
  if (adapter.verifyKey === undefined || key.key === undefined) return;
  try {
    await adapter.verifyKey(AbortSignal.timeout(timeoutMs));
  } catch (error) {
    const problem = toProviderError(adapter.provider, error, key.key);
    if (problem.statusCode === 401 || problem.statusCode === 403) {
      throw new EkiplError(
        `${adapter.provider}: the API key in ${key.variable} was rejected (HTTP ${problem.statusCode})`,
      );
    }
    throw new EkiplError(
      `${adapter.provider}: could not check the API key in ${key.variable}: ${problem.message}`,
    );
  }
}

/**
 * The sampler a provider plugin returns: the key checked first (unless offline or `verifyKey: false`),
 * so a rejected key fails at startup, and the key handed on only to be scrubbed from messages.
 */
export async function openProviderSampler(
  adapter: ProviderAdapter,
  key: ApiKey,
  options: ProviderOptions,
  context: Omit<ProviderSamplerContext, 'secret'>,
): Promise<AuxiliarySampler> {
  if (!options.offline && options.verifyKey) await verifyApiKey(adapter, key, options.timeoutMs);
  return createProviderSampler(adapter, options, { ...context, secret: key.key });
}

interface Call {
  request: number;
  indices: number[];
  keys: string[];
}

/**
 * An AuxiliarySampler over any API: cached answers first, then calls of up to `maxSamplesPerCall`
 * answers through a concurrency / rate limiter, each attempt with a timeout, retried on transient
 * failures with exponential backoff or the server's retry-after. A call that still fails, or one past
 * the budget, just yields no actions; the step records the shortfall.
 */
export function createProviderSampler(
  adapter: ProviderAdapter,
  options: ProviderOptions,
  context: ProviderSamplerContext,
): AuxiliarySampler {
  const limiter = new RequestLimiter(options.concurrency, options.requestsPerMinute);
  const cacheDirectory = isAbsolute(options.cache.directory)
    ? options.cache.directory
    : resolve(context.configDirectory, options.cache.directory);
  const cache = options.cache.enabled || options.offline ? new AnswerCache(cacheDirectory) : undefined;
  const price = priceOf(options.model, options.price);
  if (price === undefined) {
    context.warn(
      `no price known for model "${options.model}": its cost counts as 0 (set options.price to budget it)`,
    );
  }
  const jitter = context.random.split('retry-jitter');
  let spentUsd = 0;
  let budgetWarned = false;
  const scrub = (text: string) => redact(text, context.secret);

  return {
    specificationVersion,
    name: context.name,
    saveState() {
      return { spentUsd, budgetWarned };
    },
    loadState(state) {
      if (typeof state['spentUsd'] === 'number') spentUsd = state['spentUsd'];
      if (typeof state['budgetWarned'] === 'boolean') budgetWarned = state['budgetWarned'];
    },
    estimateCostUsd(answers, promptTokens) {
      const perAnswer =
        price === undefined ? 0 : (promptTokens * price.input + options.maxTokens * price.output) / 1e6;
      return {
        usd: answers * perAnswer,
        ...(options.budgetUsd === undefined ? {} : { budgetUsd: options.budgetUsd }),
      };
    },
    async sample(requests, n, sampleOptions) {
      const metrics = {
        requests: 0,
        retries: 0,
        failed_requests: 0,
        cache_hits: 0,
        cache_misses: 0,
        cost_usd: 0,
        refusals: 0,
        budget_stopped: 0,
      };
      const warnings: string[] = [];
      const actions: (Action | undefined)[][] = requests.map(() => new Array<Action | undefined>(n));
      const prompts = requests.map(({ prompt }) => ({
        ...prompt,
        system: options.system ?? (prompt.system === '' ? answerFormatInstruction : prompt.system),
      }));
      const sampling = {
        temperature: options.temperature ?? null,
        maxTokens: options.maxTokens,
        ...(adapter.samplingIdentity?.() ?? {}),
      };

      // 1. Cached answers.
      const calls: Call[] = [];
      const missing: string[] = [];
      for (const [r, prompt] of prompts.entries()) {
        const todo: { index: number; key: string }[] = [];
        for (let index = 0; index < n; index++) {
          const key = cacheKey({
            provider: adapter.provider,
            model: options.model,
            baseURL: options.baseURL,
            prompt,
            sampling,
            index,
          });
          const hit = cache === undefined ? undefined : await cache.get(key);
          if (hit !== undefined) {
            metrics.cache_hits++;
            actions[r]![index] = toAction(context.name, hit, 0, true);
          } else {
            if (cache !== undefined) metrics.cache_misses++;
            todo.push({ index, key });
          }
        }
        if (todo.length > 0)
          missing.push(`${requests[r]!.task.id} [${todo.map((item) => item.index).join(', ')}]`);
        for (let start = 0; start < todo.length; start += adapter.maxSamplesPerCall) {
          const chunk = todo.slice(start, start + adapter.maxSamplesPerCall);
          calls.push({
            request: r,
            indices: chunk.map((item) => item.index),
            keys: chunk.map((item) => item.key),
          });
        }
      }
      if (options.offline && calls.length > 0) {
        throw new ProviderError({
          provider: adapter.provider,
          isRetryable: false,
          message: `${context.name}: offline and ${missing.length} request(s) have no cached answers in ${cacheDirectory}: ${missing.slice(0, 10).join('; ')}${missing.length > 10 ? `; and ${missing.length - 10} more` : ''}`,
        });
      }

      // 2. API calls for the rest.
      let lastError: string | undefined;
      const attempt = async (call: Call) => {
        if (options.budgetUsd !== undefined && spentUsd >= options.budgetUsd) {
          metrics.budget_stopped = 1;
          if (!budgetWarned) {
            budgetWarned = true;
            warnings.push(
              `budget of $${options.budgetUsd} reached ($${spentUsd.toFixed(4)} spent): sampling from ${context.name} stopped, the run goes on without it`,
            );
          }
          return;
        }
        for (let tries = 0; ; tries++) {
          metrics.requests++;
          const timeout = new AbortController();
          const timer = setTimeout(
            () => timeout.abort(new Error(`timed out after ${options.timeoutMs} ms`)),
            options.timeoutMs,
          );
          const signal =
            sampleOptions.signal === undefined
              ? timeout.signal
              : AbortSignal.any([timeout.signal, sampleOptions.signal]);
          const started = performance.now();
          try {
            const completion = await adapter.complete({
              prompt: prompts[call.request]!,
              n: call.indices.length,
              temperature: options.temperature,
              maxTokens: options.maxTokens,
              signal,
            });
            const latencyMs = performance.now() - started;
            const costUsd =
              price === undefined
                ? 0
                : (completion.usage.inputTokens * price.input +
                    completion.usage.outputTokens * price.output) /
                  1e6;
            spentUsd += costUsd;
            metrics.cost_usd += costUsd;
            const share = costUsd / Math.max(1, completion.answers.length);
            await Promise.all(
              completion.answers.slice(0, call.indices.length).map(async (answer, i) => {
                if (answer.refusal === true) {
                  metrics.refusals++;
                  return;
                }
                const cached: CachedAnswer = {
                  text: answer.text,
                  costUsd: share,
                  ...(answer.logProb === undefined ? {} : { logProb: answer.logProb }),
                };
                actions[call.request]![call.indices[i]!] = toAction(context.name, cached, latencyMs, false);
                await cache?.set(call.keys[i]!, cached);
              }),
            );
            return;
          } catch (error) {
            const problem =
              timeout.signal.aborted && !sampleOptions.signal?.aborted
                ? new ProviderError({
                    provider: adapter.provider,
                    isRetryable: true,
                    message: `${adapter.provider}: timed out after ${options.timeoutMs} ms`,
                  })
                : toProviderError(adapter.provider, error, context.secret);
            if (sampleOptions.signal?.aborted || !problem.isRetryable || tries >= options.maxRetries) {
              metrics.failed_requests++;
              lastError = scrub(problem.message);
              return;
            }
            metrics.retries++;
            const backoff =
              problem.retryAfterMs ?? options.retryBaseMs * 2 ** tries * (0.5 + 0.5 * jitter.float());
            await sleep(backoff, sampleOptions.signal).catch(() => undefined);
          } finally {
            clearTimeout(timer);
          }
        }
      };
      await Promise.all(calls.map((call) => limiter.run(() => attempt(call))));
      for (const warning of adapter.drainWarnings?.() ?? []) warnings.push(scrub(warning));
      if (metrics.failed_requests > 0) {
        warnings.push(
          `${metrics.failed_requests} of ${calls.length} request(s) to ${context.name} failed after retries; last: ${lastError}`,
        );
      }
      return {
        actions: actions.map((row) => row.filter((action): action is Action => action !== undefined)),
        warnings,
        metrics: { ...metrics, spent_usd: spentUsd },
      };
    },
  };
}

function toAction(source: string, answer: CachedAnswer, latencyMs: number, cached: boolean): Action {
  return {
    source,
    text: answer.text,
    ...(answer.logProb === undefined ? {} : { behaviorLogProb: answer.logProb }),
    cost: { usd: cached ? 0 : answer.costUsd },
    latencyMs,
    metadata: { cached },
  };
}
