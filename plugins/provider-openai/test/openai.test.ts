import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type AuxiliaryRequest,
  type AuxiliarySampler,
  ekiplStep,
  Random,
  reasonRftPromptTemplate,
  resolvePackageEntry,
  type Task,
} from '@ekipl/core';
import {
  createFakePolicy,
  createUnitEstimator,
  exactAnswerReward,
  type MockProviderServer,
  type MockServerOptions,
  mockTokens,
  stableTopSelector,
  startMockProviderServer,
} from '@ekipl/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openai } from '../src/index.js';

const secret = 'sk-test-SECRET-4242-do-not-leak';
const scratch = mkdtempSync(join(tmpdir(), 'ekipl-openai-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let server: MockProviderServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

// A real 2x2 PNG (red, green / blue, white), so the test can compare what arrives byte for byte.
const png = Uint8Array.from(
  Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==',
    'base64',
  ),
);

function task(id: string): Task {
  return {
    id,
    family: 'counting',
    images: [{ data: png, mediaType: 'image/png' }],
    question: `How many objects in ${id}?`,
    answer: '42',
    split: 'train',
  };
}

function requests(count: number): AuxiliaryRequest[] {
  return Array.from({ length: count }, (_, i) => {
    const t = task(`t${i}`);
    return { prompt: reasonRftPromptTemplate(t), task: t };
  });
}

async function sampler(
  options: Record<string, unknown>,
  mock: MockServerOptions = {},
  warnings: string[] = [],
): Promise<AuxiliarySampler> {
  server ??= await startMockProviderServer({ apiKey: secret, ...mock });
  process.env['OPENAI_API_KEY'] = secret;
  return (await openai.create(
    openai.options.parse({
      model: 'gpt-4o',
      baseURL: server.openaiBaseURL,
      cache: { directory: join(scratch, `cache-${Math.random()}`) },
      ...options,
    }),
    {
      name: 'gpt4o',
      random: Random.fromSeed(1),
      configDirectory: scratch,
      warn: (message) => warnings.push(message),
    },
  )) as AuxiliarySampler;
}

describe('openai against the mock server', () => {
  it('sends images as data URLs the API expects, and returns n answers as n Actions with cost, latency and log-probs', async () => {
    const gpt = await sampler({ retryBaseMs: 1 });
    const result = await gpt.sample(requests(2), 3, { seed: 1 });
    const chat = server!.requests.filter((request) => request.path === '/v1/chat/completions');
    expect(chat).toHaveLength(2); // n = 3 in one call per prompt
    const body = chat[0]!.body;
    expect(body.n).toBe(3);
    expect(body.logprobs).toBe(true);
    expect(body.messages[0]).toEqual({ role: 'system', content: expect.stringContaining('<think>') });
    const image = body.messages[1].content.find((part: { type: string }) => part.type === 'image_url');
    const [header, data] = image.image_url.url.split(',');
    expect(header).toBe('data:image/png;base64');
    expect(Buffer.from(data, 'base64').equals(Buffer.from(png))).toBe(true);
    expect(result.actions.map((row) => row.length)).toEqual([3, 3]);
    const action = result.actions[0]![0]!;
    expect(action.source).toBe('gpt4o');
    expect(action.text).toBe('<think>I count the objects one by one.</think><answer>42</answer>');
    // Mock usage: 100 input + 20 output tokens per call at gpt-4o's $2.50 / $10 per 1M, shared by 3 answers.
    expect(action.cost!.usd).toBeCloseTo((100 * 2.5 + 20 * 10) / 1e6 / 3, 12);
    expect(action.latencyMs).toBeGreaterThan(0);
    // 4-character mock tokens at -0.25 each: the sum is the behaviour log-prob.
    expect(action.behaviorLogProb).toBeCloseTo(-0.25 * mockTokens(action.text).length, 12);
    expect(result.metrics).toMatchObject({ requests: 2, retries: 0, cache_hits: 0, cache_misses: 6 });
  });

  it('a missing key fails at startup naming the variable; a rejected key too, before any sampling', async () => {
    delete process.env['OPENAI_API_KEY'];
    await expect(
      openai.create(openai.options.parse({ model: 'gpt-4o' }), {
        name: 'x',
        random: Random.fromSeed(1),
        configDirectory: scratch,
        warn: () => {},
      }),
    ).rejects.toThrow(/openai: no API key: set OPENAI_API_KEY \(or options\.apiKeyEnv/);
    server = await startMockProviderServer({ apiKey: 'the-right-key' });
    process.env['MY_OPENAI_KEY'] = secret;
    const error = await Promise.resolve(
      openai.create(
        openai.options.parse({ model: 'gpt-4o', apiKeyEnv: 'MY_OPENAI_KEY', baseURL: server.openaiBaseURL }),
        { name: 'x', random: Random.fromSeed(1), configDirectory: scratch, warn: () => {} },
      ),
    ).catch((caught: Error) => caught);
    expect((error as Error).message).toBe('openai: the API key in MY_OPENAI_KEY was rejected (HTTP 401)');
    expect(server.requests.map((request) => request.path)).toEqual(['/v1/models']);
  });
});

describe('faults', () => {
  it('with 30 % of requests failing (429 + retry-after, 500, timeouts) a batch of 50 ends with every answer, retries counted', async () => {
    // The first attempt of every 10 requests fails in three ways; their retries succeed.
    const faulty = new Set<string>();
    const gpt = await sampler(
      { timeoutMs: 800, retryBaseMs: 5, concurrency: 8 },
      {
        fault: (request) => {
          const id = /in (t\d+)\?/.exec(JSON.stringify(request.body))?.[1];
          if (id === undefined || faulty.has(id)) return undefined;
          const number = Number(id.slice(1));
          if (number % 10 > 2) return undefined;
          faulty.add(id);
          return number % 10 === 0
            ? { kind: 'status', status: 429, retryAfterSeconds: 0.02 }
            : number % 10 === 1
              ? { kind: 'status', status: 500 }
              : { kind: 'slow', delayMs: 2500 };
        },
      },
    );
    const result = await gpt.sample(requests(50), 1, { seed: 1 });
    expect(result.actions.every((row) => row.length === 1)).toBe(true);
    // Each of the 15 injected failures costs one retry (a loaded machine may time out a few more).
    expect(result.metrics!['failed_requests']).toBe(0);
    expect(result.metrics!['retries']).toBeGreaterThanOrEqual(15);
    expect(result.metrics!['requests']).toBe(50 + result.metrics!['retries']!);
  });

  it('truncated JSON is retried; refusals and wrong-format answers are handled', async () => {
    let sent = 0;
    const faults = [
      { kind: 'truncated-json' as const },
      { kind: 'refusal' as const },
      { kind: 'wrong-format' as const },
    ];
    const gpt = await sampler(
      { retryBaseMs: 1 },
      { fault: (request) => (request.method === 'POST' ? faults[sent++] : undefined) },
    );
    const result = await gpt.sample(requests(1), 1, { seed: 1 });
    // truncated -> retried -> refused (no action), so a second call for the same request is a fresh sample.
    expect(result.metrics).toMatchObject({ retries: 1, refusals: 1 });
    expect(result.actions[0]).toEqual([]);
    const again = await gpt.sample(requests(1), 1, { seed: 1 });
    expect(again.actions[0]![0]!.text).toBe('The answer is 42.'); // wrong format: the format reward will give 0
  });

  it('a permanently failing provider degrades the step to fewer auxiliary actions: no crash, no hang', async () => {
    const gpt = await sampler(
      { maxRetries: 2, retryBaseMs: 1 },
      { fault: (request) => (request.method === 'POST' ? { kind: 'status', status: 503 } : undefined) },
    );
    const policy = createFakePolicy({ script: () => '42' });
    const result = await ekiplStep(
      {
        policy,
        auxiliary: [{ name: 'gpt4o', sampler: gpt, samples: 2 }],
        rewards: [{ name: 'exact', reward: exactAnswerReward, weight: 1 }],
        selector: stableTopSelector,
        estimator: createUnitEstimator(),
        renderPrompt: reasonRftPromptTemplate,
      },
      {
        groupSize: 4,
        objective: {
          clipLow: 0.2,
          clipHigh: 0.2,
          beta: 0,
          aggregation: 'sequence-mean',
          maxCompletionLength: 16,
          learningRate: 0.01,
        },
        sampling: { temperature: 1, topP: 1, topK: 0, maxTokens: 16 },
        advantage: { baseline: 'selected', scaleByStd: true },
        numIterations: 1,
      },
      [task('a'), task('b')],
      Random.fromSeed(1),
    );
    expect(result.metrics['aux/gpt4o/requested']).toBe(4);
    expect(result.metrics['aux/gpt4o/received']).toBe(0);
    expect(result.metrics['aux/gpt4o/failed_requests']).toBe(2);
    expect(result.metrics['aux/gpt4o/requests']).toBe(6); // 2 calls x (1 + 2 retries)
    expect(result.warnings[0]).toMatch(
      /2 of 2 request\(s\) to gpt4o failed after retries; last: openai: HTTP 503/,
    );
  });
});

describe('answer cache', () => {
  it('a second identical batch makes zero HTTP requests', async () => {
    const directory = join(scratch, 'cache-repeat');
    const gpt = await sampler({ cache: { directory } });
    const first = await gpt.sample(requests(3), 2, { seed: 1 });
    const sent = server!.requests.length;
    const second = await gpt.sample(requests(3), 2, { seed: 2 });
    expect(server!.requests.length).toBe(sent);
    expect(second.metrics).toMatchObject({ cache_hits: 6, cache_misses: 0, requests: 0 });
    expect(second.actions.map((row) => row.map((action) => action.text))).toEqual(
      first.actions.map((row) => row.map((action) => action.text)),
    );
  });

  it('offline with an empty cache says which entries are missing', async () => {
    const gpt = await sampler({ offline: true, cache: { directory: join(scratch, 'cache-empty') } });
    await expect(gpt.sample(requests(2), 2, { seed: 1 })).rejects.toThrow(
      /offline and 2 request\(s\) have no cached answers in .*cache-empty: t0 \[0, 1\]; t1 \[0, 1\]/,
    );
  });

  it('killing the process mid-batch leaves no corrupt cache entry', async () => {
    server = await startMockProviderServer({ apiKey: secret, latencyMs: 150 });
    const directory = join(scratch, 'cache-killed');
    const script = join(scratch, 'child.mjs');
    // The child lives in a temporary folder, so it imports by absolute path.
    const core = pathToFileURL(resolvePackageEntry('@ekipl/core', import.meta.dirname)!).href;
    writeFileSync(
      script,
      `import { Random, reasonRftPromptTemplate } from ${JSON.stringify(core)};
import { openai } from ${JSON.stringify(join(import.meta.dirname, '..', 'dist', 'index.js'))};
const gpt = await openai.create(openai.options.parse({ model: 'gpt-4o', baseURL: ${JSON.stringify(server.openaiBaseURL)}, concurrency: 4, cache: { directory: ${JSON.stringify(directory)} } }), { name: 'g', random: Random.fromSeed(1), configDirectory: '.', warn() {} });
const png = new Uint8Array([1, 2, 3]);
const tasks = Array.from({ length: 40 }, (_, i) => ({ id: 't' + i, family: 'counting', images: [{ data: png, mediaType: 'image/png' }], question: 'q' + i, answer: '1', split: 'train' }));
await gpt.sample(tasks.map((task) => ({ prompt: reasonRftPromptTemplate(task), task })), 1, { seed: 1 });
`,
    );
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, OPENAI_API_KEY: secret },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    // Kill it once some answers are written and others are in flight.
    for (
      let waited = 0;
      waited < 10_000 && listFiles(directory).filter((file) => file.endsWith('.json')).length < 4;
      waited += 50
    ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill('SIGKILL');
    await exited;
    expect(stderr).toBe('');
    const entries = listFiles(directory).filter((file) => file.endsWith('.json'));
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.length).toBeLessThan(40);
    for (const file of entries) expect(() => JSON.parse(readFileSync(file, 'utf8'))).not.toThrow();
  });
});

describe('budget, secrets, throughput', () => {
  it('estimates its cost before a run: every answer at maxTokens, at the model price, with its budget', async () => {
    const gpt = await sampler({ budgetUsd: 5, maxTokens: 500 }, {});
    // gpt-4o: 1000 prompt tokens x $2.50 + 500 answer tokens x $10 per 1M = $0.0075 an answer.
    const estimate = gpt.estimateCostUsd!(200, 1000);
    expect(estimate.usd).toBeCloseTo(1.5, 10);
    expect(estimate.budgetUsd).toBe(5);
  });

  it('with a cap of $0.01 sampling stops at the cap within one batch, with one warning', async () => {
    // Each call: 1000 input + 800 output tokens at $2.50 / $10 per 1M = $0.0105... use 400 output: $0.0025 + $0.004 = $0.0065.
    const gpt = await sampler(
      { budgetUsd: 0.01, concurrency: 1 },
      { usage: { inputTokens: 1000, outputTokens: 400 } },
    );
    const result = await gpt.sample(requests(6), 1, { seed: 1 });
    // $0.0065 after the first call (< cap), $0.013 after the second (>= cap): the rest are skipped.
    expect(result.metrics).toMatchObject({ requests: 2, budget_stopped: 1 });
    expect(result.metrics!['spent_usd']).toBeCloseTo(0.013, 10);
    expect(result.actions.filter((row) => row.length > 0)).toHaveLength(2);
    expect(result.warnings).toEqual([
      expect.stringMatching(/^budget of \$0\.01 reached \(\$0\.0130 spent\): sampling from gpt4o stopped/),
    ]);
    const later = await gpt.sample(requests(2), 1, { seed: 2 });
    expect(later.metrics!['requests']).toBe(0);
  });

  it('carries its spend through saveState / loadState: a resumed run does not spend its budget again', async () => {
    const mock = { usage: { inputTokens: 1000, outputTokens: 400 } };
    const before = await sampler({ budgetUsd: 0.01, concurrency: 1 }, mock);
    // $0.0065 a call: one call leaves the run under the cap.
    await before.sample(requests(1), 1, { seed: 1 });
    const state = JSON.parse(JSON.stringify(before.saveState!())) as Record<string, unknown>;
    expect(state['spentUsd']).toBeCloseTo(0.0065, 10);
    const resumed = await sampler({ budgetUsd: 0.01, concurrency: 1 }, mock);
    resumed.loadState!(state);
    const result = await resumed.sample(requests(4), 1, { seed: 2 });
    // One more call reaches the cap ($0.013), as in the run that never stopped; without the state, two.
    expect(result.metrics).toMatchObject({ requests: 1, budget_stopped: 1 });
    expect(result.metrics!['spent_usd']).toBeCloseTo(0.013, 10);
  });

  it('the key never appears in a warning, an error, a log line or a cache file', async () => {
    const logged: string[] = [];
    const directory = join(scratch, 'cache-secret');
    const gpt = await sampler(
      { cache: { directory }, maxRetries: 0 },
      {
        fault: (request) =>
          request.sequence % 2 === 1
            ? { kind: 'status', status: 400, message: `bad request for key ${secret}` }
            : undefined,
      },
      logged,
    );
    const result = await gpt.sample(requests(4), 1, { seed: 1 });
    logged.push(...(result.warnings ?? []));
    const offline = await sampler({ offline: true, cache: { directory: join(scratch, 'nothing') } });
    logged.push(
      await offline.sample(requests(1), 1, { seed: 1 }).then(
        () => '',
        (error: Error) => `${error.message} ${error.stack}`,
      ),
    );
    expect(logged.join('\n')).toMatch(/HTTP 400: .*bad request for key \*\*\*/);
    expect(logged.join('\n')).not.toContain(secret);
    for (const file of listFiles(directory)) expect(readFileSync(file, 'utf8')).not.toContain(secret);
  });

  it('64 requests with 200 ms latency and concurrency 16 run 16 at a time (recorded overlap, not wall time)', async () => {
    const gpt = await sampler({ concurrency: 16, cache: { enabled: false } }, { latencyMs: 200 });
    const result = await gpt.sample(requests(64), 1, { seed: 1 });
    expect(result.actions.flat()).toHaveLength(64);
    expect(server!.maxConcurrent()).toBe(16);
    // Never more than 16 at once, and 64 / 16 = 4 waves: the mock saw at least 4 distinct completion times apart by ~200 ms.
    const chat = server!.requests.filter((request) => request.path === '/v1/chat/completions');
    const ends = chat.map((request) => request.endedAt!).sort((a, b) => a - b);
    expect(ends.at(-1)! - ends[0]!).toBeGreaterThanOrEqual(3 * 190);
  });
});

function listFiles(directory: string): string[] {
  try {
    return readdirSync(directory).flatMap((name) => {
      const path = join(directory, name);
      return statSync(path).isDirectory() ? listFiles(path) : [path];
    });
  } catch {
    return [];
  }
}
