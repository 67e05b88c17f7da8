/**
 * A loopback HTTP server that speaks the three external-model APIs as their SDKs expect them:
 * OpenAI chat completions (`POST /v1/chat/completions`, `GET /v1/models`), Anthropic messages
 * (`POST /v1/messages`, `GET /v1/models` with `anthropic-version`) and Gemini generateContent
 * (`POST /v1beta/models/{model}:generateContent`, `GET /v1beta/models`). It serves scripted answers,
 * records every request (headers, parsed body, start / end), tracks how many were in flight at once,
 * and injects faults on demand. Tests point the real SDKs at it; nothing leaves 127.0.0.1.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type MockProvider = 'openai' | 'anthropic' | 'gemini';

export interface MockRequest {
  provider: MockProvider;
  method: string;
  path: string;
  headers: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: request bodies of three different APIs, inspected by tests.
  body: any;
  /** 0 for the first request, counting up. */
  sequence: number;
  startedAt: number;
  endedAt?: number;
  /** HTTP status sent (undefined while in flight or when the client went away). */
  status?: number;
}

export type MockFault =
  | { kind: 'status'; status: number; retryAfterSeconds?: number; message?: string }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'truncated-json' }
  | { kind: 'refusal' }
  | { kind: 'wrong-format' };

export interface MockServerOptions {
  /** The key the server accepts; any other gets 401. */
  apiKey?: string;
  /** Answer `index` (0-based within one request) to a request. Default: a formatted answer "42". */
  answer?: (request: MockRequest, index: number) => string;
  /** A fault for this request, or undefined to answer normally. */
  fault?: (request: MockRequest) => MockFault | undefined;
  /** Delay before every response. */
  latencyMs?: number;
  /** Usage reported per request. */
  usage?: { inputTokens: number; outputTokens: number };
  /** Per-token log-prob returned when log-probs are requested (OpenAI, Gemini). */
  tokenLogProb?: number;
  /** Gemini refuses `responseLogprobs` with a 400 (as models without log-probs do). */
  geminiRejectsLogprobs?: boolean;
}

export interface MockProviderServer {
  url: string;
  /** Base URLs as each SDK takes them. */
  openaiBaseURL: string;
  anthropicBaseURL: string;
  geminiBaseURL: string;
  requests: MockRequest[];
  /** Most requests in flight at the same time so far. */
  maxConcurrent(): number;
  close(): Promise<void>;
}

const defaultAnswer = () => '<think>I count the objects one by one.</think><answer>42</answer>';

/** Cuts a text into 4-character "tokens" for mock log-probs. */
export function mockTokens(text: string): string[] {
  return text.match(/[\s\S]{1,4}/g) ?? [];
}

export async function startMockProviderServer(options: MockServerOptions = {}): Promise<MockProviderServer> {
  const requests: MockRequest[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const server: Server = createServer((incoming, outgoing) => {
    void handle(incoming, outgoing);
  });

  async function handle(incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const path = (incoming.url ?? '/').split('?')[0]!;
    const headers = Object.fromEntries(
      Object.entries(incoming.headers).map(([key, value]) => [key, String(value)]),
    );
    // Anthropic's SDK always sends anthropic-version (and its key as x-api-key or a bearer token).
    const provider: MockProvider = path.startsWith('/v1beta')
      ? 'gemini'
      : headers['anthropic-version'] !== undefined ||
          headers['x-api-key'] !== undefined ||
          path === '/v1/messages'
        ? 'anthropic'
        : 'openai';
    const request: MockRequest = {
      provider,
      method: incoming.method ?? 'GET',
      path,
      headers,
      body: text === '' ? undefined : safeParse(text),
      sequence: requests.length,
      startedAt: performance.now(),
    };
    requests.push(request);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const send = (status: number, body: string, extraHeaders: Record<string, string> = {}) => {
      request.status = status;
      if (!outgoing.destroyed) {
        outgoing.writeHead(status, { 'content-type': 'application/json', ...extraHeaders });
        outgoing.end(body);
      }
    };
    try {
      const key =
        provider === 'openai'
          ? headers['authorization']?.replace(/^Bearer /, '')
          : provider === 'anthropic'
            ? (headers['x-api-key'] ?? headers['authorization']?.replace(/^Bearer /, ''))
            : (headers['x-goog-api-key'] ??
              new URL(incoming.url ?? '/', 'http://x').searchParams.get('key') ??
              undefined);
      if (options.apiKey !== undefined && key !== options.apiKey) {
        send(401, JSON.stringify(errorBody(provider, 401, 'invalid api key')));
        return;
      }
      const fault = options.fault?.(request);
      const delay = (fault?.kind === 'slow' ? fault.delayMs : 0) + (options.latencyMs ?? 0);
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      if (fault?.kind === 'status') {
        const retry: Record<string, string> =
          fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
        send(
          fault.status,
          JSON.stringify(errorBody(provider, fault.status, fault.message ?? 'injected fault')),
          retry,
        );
        return;
      }
      if (request.method === 'GET') {
        send(200, JSON.stringify(modelList(provider)));
        return;
      }
      if (
        provider === 'gemini' &&
        options.geminiRejectsLogprobs &&
        request.body?.generationConfig?.responseLogprobs
      ) {
        send(400, JSON.stringify(errorBody('gemini', 400, 'Logprobs is not supported for this model.')));
        return;
      }
      const body = respond(provider, request, fault, options);
      send(200, fault?.kind === 'truncated-json' ? body.slice(0, Math.floor(body.length / 2)) : body);
    } finally {
      request.endedAt = performance.now();
      inFlight--;
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    openaiBaseURL: `${url}/v1`,
    anthropicBaseURL: url,
    geminiBaseURL: url,
    requests,
    maxConcurrent: () => maxInFlight,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function errorBody(provider: MockProvider, status: number, message: string) {
  if (provider === 'anthropic')
    return { type: 'error', error: { type: status === 401 ? 'authentication_error' : 'api_error', message } };
  if (provider === 'gemini')
    return { error: { code: status, message, status: status === 429 ? 'RESOURCE_EXHAUSTED' : 'INTERNAL' } };
  return { error: { message, type: 'invalid_request_error', code: null, param: null } };
}

function modelList(provider: MockProvider) {
  if (provider === 'gemini') return { models: [{ name: 'models/mock-model', displayName: 'Mock' }] };
  if (provider === 'anthropic') {
    return {
      data: [{ id: 'mock-model', type: 'model', display_name: 'Mock', created_at: '2026-01-01T00:00:00Z' }],
      has_more: false,
      first_id: 'mock-model',
      last_id: 'mock-model',
    };
  }
  return { object: 'list', data: [{ id: 'mock-model', object: 'model', created: 0, owned_by: 'mock' }] };
}

function respond(
  provider: MockProvider,
  request: MockRequest,
  fault: MockFault | undefined,
  options: MockServerOptions,
): string {
  const usage = options.usage ?? { inputTokens: 100, outputTokens: 20 };
  const tokenLogProb = options.tokenLogProb ?? -0.25;
  const answer = (index: number) =>
    fault?.kind === 'wrong-format' ? 'The answer is 42.' : (options.answer ?? defaultAnswer)(request, index);
  const refusal = fault?.kind === 'refusal';
  if (provider === 'openai') {
    const n = Number(request.body?.n ?? 1);
    const wantLogprobs = request.body?.logprobs === true;
    return JSON.stringify({
      id: `chatcmpl-${request.sequence}`,
      object: 'chat.completion',
      created: 0,
      model: request.body?.model,
      choices: Array.from({ length: n }, (_, index) => {
        const text = answer(index);
        return {
          index,
          message: {
            role: 'assistant',
            content: refusal ? null : text,
            refusal: refusal ? 'I cannot help with that.' : null,
          },
          logprobs:
            wantLogprobs && !refusal
              ? {
                  content: mockTokens(text).map((token) => ({
                    token,
                    logprob: tokenLogProb,
                    bytes: [...Buffer.from(token)],
                    top_logprobs: [],
                  })),
                }
              : null,
          finish_reason: 'stop',
        };
      }),
      usage: {
        prompt_tokens: usage.inputTokens,
        completion_tokens: usage.outputTokens,
        total_tokens: usage.inputTokens + usage.outputTokens,
      },
    });
  }
  if (provider === 'anthropic') {
    return JSON.stringify({
      id: `msg_${request.sequence}`,
      type: 'message',
      role: 'assistant',
      model: request.body?.model,
      content: refusal ? [] : [{ type: 'text', text: answer(0) }],
      stop_reason: refusal ? 'refusal' : 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens },
    });
  }
  const count = Number(request.body?.generationConfig?.candidateCount ?? 1);
  const wantLogprobs = request.body?.generationConfig?.responseLogprobs === true;
  return JSON.stringify({
    candidates: Array.from({ length: count }, (_, index) => {
      const text = answer(index);
      return refusal
        ? { finishReason: 'SAFETY', index }
        : {
            content: { role: 'model', parts: [{ text }] },
            finishReason: 'STOP',
            index,
            ...(wantLogprobs
              ? {
                  logprobsResult: {
                    chosenCandidates: mockTokens(text).map((token) => ({
                      token,
                      logProbability: tokenLogProb,
                    })),
                    topCandidates: [],
                  },
                }
              : {}),
          };
    }),
    usageMetadata: {
      promptTokenCount: usage.inputTokens,
      candidatesTokenCount: usage.outputTokens,
      totalTokenCount: usage.inputTokens + usage.outputTokens,
    },
    modelVersion: request.path.split('/').at(-1)?.split(':')[0],
  });
}
