import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuxiliarySampler, Random, reasonRftPromptTemplate, type Task } from '@ekipl/core';
import { type MockProviderServer, type MockServerOptions, startMockProviderServer } from '@ekipl/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { anthropic } from '../src/index.js';

const secret = 'sk-ant-test-SECRET-99';
const scratch = mkdtempSync(join(tmpdir(), 'ekipl-anthropic-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let server: MockProviderServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10, 7, 7, 7]);
const task: Task = {
  id: 'c0',
  family: 'counting',
  images: [{ data: png, mediaType: 'image/png' }],
  question: 'How many?',
  answer: '42',
  split: 'train',
};
const request = { prompt: reasonRftPromptTemplate(task), task };
const context = { name: 'claude', random: Random.fromSeed(1), configDirectory: scratch, warn: () => {} };

async function sampler(
  options: Record<string, unknown> = {},
  mock: MockServerOptions = {},
): Promise<AuxiliarySampler> {
  server = await startMockProviderServer({ apiKey: secret, ...mock });
  process.env['ANTHROPIC_API_KEY'] = secret;
  return (await anthropic.create(
    anthropic.options.parse({
      model: 'claude-sonnet-4-5',
      baseURL: server.anthropicBaseURL,
      cache: { enabled: false },
      ...options,
    }),
    context,
  )) as AuxiliarySampler;
}

describe('anthropic against the mock server', () => {
  it('sends base64 image blocks, makes one call per answer, and reports no log-probs', async () => {
    const claude = await sampler({ concurrency: 2 });
    const result = await claude.sample([request], 3, { seed: 1 });
    const calls = server!.requests.filter((r) => r.path === '/v1/messages');
    expect(calls).toHaveLength(3);
    const body = calls[0]!.body;
    const headers = calls[0]!.headers;
    expect(headers['x-api-key'] ?? headers['authorization']).toMatch(new RegExp(`^(Bearer )?${secret}$`));
    expect(headers['anthropic-version']).toBeDefined();
    expect(body.system).toContain('<think>');
    expect(body.max_tokens).toBe(1024);
    const [image, text] = body.messages[0].content;
    expect(image.source.type).toBe('base64');
    expect(image.source.media_type).toBe('image/png');
    expect(Buffer.from(image.source.data, 'base64').equals(Buffer.from(png))).toBe(true);
    expect(text).toEqual({ type: 'text', text: request.prompt.user });
    expect(result.actions[0]).toHaveLength(3);
    for (const action of result.actions[0]!) {
      expect(action.source).toBe('claude');
      expect(action.behaviorLogProb).toBeUndefined();
      // 100 + 20 tokens at claude-sonnet-4's $3 / $15 per 1M (prefix match), one answer per call.
      expect(action.cost!.usd).toBeCloseTo((100 * 3 + 20 * 15) / 1e6, 12);
    }
  });

  it('a refusal yields no action; a rejected key fails at startup naming the variable', async () => {
    const claude = await sampler(
      {},
      { fault: (r) => (r.method === 'POST' ? { kind: 'refusal' } : undefined) },
    );
    const result = await claude.sample([request], 1, { seed: 1 });
    expect(result.actions[0]).toEqual([]);
    expect(result.metrics).toMatchObject({ refusals: 1 });
    await server!.close();
    server = await startMockProviderServer({ apiKey: 'another' });
    await expect(
      anthropic.create(
        anthropic.options.parse({ model: 'claude-sonnet-4-5', baseURL: server.anthropicBaseURL }),
        context,
      ),
    ).rejects.toThrow('anthropic: the API key in ANTHROPIC_API_KEY was rejected (HTTP 401)');
  });
});
