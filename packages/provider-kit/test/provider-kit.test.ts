import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProviderError } from '@ekipl/core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AnswerCache,
  cacheKey,
  priceOf,
  RequestLimiter,
  redact,
  resolveApiKey,
  toProviderError,
} from '../src/index.js';

const scratch = mkdtempSync(join(tmpdir(), 'ekipl-provider-kit-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const prompt = { system: 's', user: 'u', images: [{ data: new Uint8Array([1, 2]), mediaType: 'image/png' }] };

describe('provider-kit', () => {
  it('the limiter never runs more than `concurrency` tasks at once', async () => {
    const limiter = new RequestLimiter(3);
    let running = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 12 }, () =>
        limiter.run(async () => {
          running++;
          most = Math.max(most, running);
          await new Promise((resolve) => setTimeout(resolve, 5));
          running--;
        }),
      ),
    );
    expect(most).toBe(3);
  });

  it('the requests-per-minute limit waits for the window (with an injected clock)', async () => {
    let now = 0;
    const waits: number[] = [];
    const clock = {
      now: () => now,
      sleep: async (ms: number) => {
        waits.push(ms);
        now += ms;
      },
    };
    const limiter = new RequestLimiter(10, 2, clock);
    await limiter.run(async () => {});
    now = 1_000;
    await limiter.run(async () => {});
    now = 5_000;
    await expect(limiter.run(async () => 'third')).resolves.toBe('third');
    // The third start waits until the first (at 0) leaves the 60 s window: 55 s after 5 s.
    expect(waits).toEqual([55_000]);
  });

  it('cache keys change with each part: model, text, image bytes, sampling, sample index', () => {
    const base = { provider: 'openai', model: 'gpt-4o', prompt, sampling: { temperature: 1 }, index: 0 };
    const key = cacheKey(base);
    expect(cacheKey({ ...base })).toBe(key);
    for (const changed of [
      { ...base, model: 'gpt-4o-mini' },
      { ...base, prompt: { ...prompt, user: 'v' } },
      { ...base, prompt: { ...prompt, images: [{ data: new Uint8Array([1, 3]), mediaType: 'image/png' }] } },
      { ...base, sampling: { temperature: 0.5 } },
      { ...base, index: 1 },
      { ...base, baseURL: 'http://localhost:8000/v1' },
    ]) {
      expect(cacheKey(changed)).not.toBe(key);
    }
  });

  it('the cache round-trips and leaves no temporary files behind', async () => {
    const cache = new AnswerCache(join(scratch, 'cache'));
    await cache.set('ab12', { text: 'hi', costUsd: 0.5, logProb: -3 });
    expect(await cache.get('ab12')).toEqual({ text: 'hi', costUsd: 0.5, logProb: -3 });
    expect(await cache.get('cd34')).toBeUndefined();
    expect(readdirSync(join(scratch, 'cache', 'ab'))).toEqual(['ab12.json']);
  });

  it('prices by longest model prefix; an override wins; unknown models have none', () => {
    expect(priceOf('gpt-4o-mini-2024-07-18')).toEqual({ input: 0.15, output: 0.6 });
    expect(priceOf('gpt-4o-2024-08-06')).toEqual({ input: 2.5, output: 10 });
    expect(priceOf('my-local-model', { input: 0, output: 0 })).toEqual({ input: 0, output: 0 });
    expect(priceOf('my-local-model')).toBeUndefined();
  });

  it('maps SDK errors: 429 / 5xx / network retryable with retry-after, 400 / 401 not; keys scrubbed', () => {
    const limited = toProviderError(
      'openai',
      Object.assign(new Error('slow down'), { status: 429, headers: new Headers({ 'retry-after': '2' }) }),
    );
    expect(limited).toBeInstanceOf(ProviderError);
    expect([limited.isRetryable, limited.retryAfterMs, limited.statusCode]).toEqual([true, 2000, 429]);
    const ms = toProviderError('openai', {
      status: 503,
      headers: { 'retry-after-ms': '150' },
      message: 'busy',
    });
    expect([ms.isRetryable, ms.retryAfterMs]).toEqual([true, 150]);
    expect(toProviderError('openai', { status: 400, message: 'bad' }).isRetryable).toBe(false);
    expect(toProviderError('openai', new TypeError('fetch failed')).isRetryable).toBe(true);
    expect(
      toProviderError('openai', { status: 401, message: 'key sk-abcdef rejected' }, 'sk-abcdef').message,
    ).toBe('openai: HTTP 401: key *** rejected');
    expect(redact('a sk-x1y2 b sk-x1y2', 'sk-x1y2')).toBe('a *** b ***');
  });

  it('API keys come from the first set variable; offline needs none', () => {
    delete process.env['EKIPL_TEST_A'];
    process.env['EKIPL_TEST_B'] = 'b-key';
    expect(resolveApiKey('x', ['EKIPL_TEST_A', 'EKIPL_TEST_B'], { offline: false })).toEqual({
      key: 'b-key',
      variable: 'EKIPL_TEST_B',
    });
    delete process.env['EKIPL_TEST_B'];
    expect(resolveApiKey('x', ['EKIPL_TEST_A'], { offline: true })).toEqual({ variable: 'EKIPL_TEST_A' });
    expect(() => resolveApiKey('x', ['EKIPL_TEST_A'], { offline: false })).toThrow(
      'x: no API key: set EKIPL_TEST_A',
    );
  });
});
