import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuxiliarySampler, Random, reasonRftPromptTemplate, type Task } from '@ekipl/core';
import {
  type MockProviderServer,
  type MockServerOptions,
  mockTokens,
  startMockProviderServer,
} from '@ekipl/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { gemini } from '../src/index.js';

const secret = 'gemini-test-SECRET-77';
const scratch = mkdtempSync(join(tmpdir(), 'ekipl-gemini-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let server: MockProviderServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  delete process.env['GEMINI_API_KEY'];
  delete process.env['GOOGLE_API_KEY'];
});

const jpeg = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 0xff, 0xd9]);
const task: Task = {
  id: 'g0',
  family: 'counting',
  images: [{ data: jpeg, mediaType: 'image/jpeg' }],
  question: 'How many?',
  answer: '42',
  split: 'train',
};
const request = { prompt: reasonRftPromptTemplate(task), task };
const context = { name: 'gemini-pro', random: Random.fromSeed(1), configDirectory: scratch };

async function sampler(
  options: Record<string, unknown> = {},
  mock: MockServerOptions = {},
  warnings: string[] = [],
): Promise<AuxiliarySampler> {
  server = await startMockProviderServer({ apiKey: secret, ...mock });
  process.env['GOOGLE_API_KEY'] = secret;
  return (await gemini.create(
    gemini.options.parse({
      model: 'gemini-1.5-pro',
      baseURL: server.geminiBaseURL,
      cache: { enabled: false },
      ...options,
    }),
    { ...context, warn: (message) => warnings.push(message) },
  )) as AuxiliarySampler;
}

describe('gemini against the mock server', () => {
  it('sends inline image data, asks candidateCount answers in one call, and sums log-probs into behaviorLogProb', async () => {
    const model = await sampler();
    const result = await model.sample([request], 3, { seed: 1 });
    const call = server!.requests.find((r) => r.path === '/v1beta/models/gemini-1.5-pro:generateContent')!;
    expect(call.headers['x-goog-api-key']).toBe(secret);
    const parts = call.body.contents[0].parts;
    expect(parts[0]).toEqual({ text: request.prompt.user });
    expect(parts[1].inlineData.mimeType).toBe('image/jpeg');
    expect(Buffer.from(parts[1].inlineData.data, 'base64').equals(Buffer.from(jpeg))).toBe(true);
    expect(call.body.generationConfig).toMatchObject({
      candidateCount: 3,
      responseLogprobs: true,
      maxOutputTokens: 1024,
    });
    expect(JSON.stringify(call.body.systemInstruction)).toContain('<think>');
    expect(result.actions[0]).toHaveLength(3);
    const action = result.actions[0]![0]!;
    expect(action).toMatchObject({
      source: 'gemini-pro',
      text: '<think>I count the objects one by one.</think><answer>42</answer>',
    });
    expect(action.behaviorLogProb).toBeCloseTo(-0.25 * mockTokens(action.text).length, 12);
    // 100 input + 20 output tokens at gemini-1.5-pro's $1.25 / $5 per 1M, shared by 3 answers.
    expect(action.cost!.usd).toBeCloseTo((100 * 1.25 + 20 * 5) / 1e6 / 3, 12);
  });

  it('falls back without log-probs when the model refuses them, with one warning', async () => {
    const warnings: string[] = [];
    const model = await sampler({}, { geminiRejectsLogprobs: true }, warnings);
    const result = await model.sample([request], 2, { seed: 1 });
    expect(result.actions[0]).toHaveLength(2);
    expect(result.actions[0]![0]!.behaviorLogProb).toBeUndefined();
    expect(result.warnings).toEqual([
      'model gemini-1.5-pro refuses log-probs: answers carry no behaviorLogProb (estimators use their fallback)',
    ]);
    const calls = server!.requests.filter((r) => r.method === 'POST');
    expect(calls.map((r) => r.body.generationConfig.responseLogprobs ?? false)).toEqual([true, false]);
    const again = await model.sample([request], 1, { seed: 2 });
    expect(again.warnings).toEqual([]);
  });

  it('keys: GEMINI_API_KEY or GOOGLE_API_KEY; missing or rejected fails at startup naming the variable', async () => {
    await expect(
      gemini.create(gemini.options.parse({ model: 'gemini-1.5-pro' }), { ...context, warn: () => {} }),
    ).rejects.toThrow(/gemini: no API key: set GEMINI_API_KEY or GOOGLE_API_KEY/);
    server = await startMockProviderServer({ apiKey: 'another' });
    process.env['GEMINI_API_KEY'] = secret;
    await expect(
      gemini.create(gemini.options.parse({ model: 'gemini-1.5-pro', baseURL: server.geminiBaseURL }), {
        ...context,
        warn: () => {},
      }),
    ).rejects.toThrow('gemini: the API key in GEMINI_API_KEY was rejected (HTTP 401)');
  });
});
