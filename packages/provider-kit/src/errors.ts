import { ProviderError } from '@ekipl/core';

/** 408 / 409 / 429 / 5xx and failures without a status (network, timeout, truncated body) are retried. */
export function isRetryableStatus(status: number | undefined): boolean {
  return status === undefined || status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * A ProviderError from whatever an SDK threw: its HTTP status, the server's retry-after, and a message
 * with the API key (if one slipped in) replaced by `***`.
 */
export function toProviderError(provider: string, error: unknown, secret?: string): ProviderError {
  if (error instanceof ProviderError) return error;
  const record = (error ?? {}) as {
    status?: unknown;
    code?: unknown;
    headers?: unknown;
    message?: unknown;
    name?: unknown;
  };
  const status =
    typeof record.status === 'number'
      ? record.status
      : typeof record.code === 'number'
        ? record.code
        : undefined;
  const retryAfterMs = retryAfter(record.headers);
  const raw = typeof record.message === 'string' ? record.message : String(error);
  const kind =
    status === undefined
      ? `${typeof record.name === 'string' ? record.name : 'network error'}: `
      : `HTTP ${status}: `;
  return new ProviderError({
    provider,
    message: redact(`${provider}: ${kind}${raw}`.slice(0, 500), secret),
    ...(status === undefined ? {} : { statusCode: status }),
    isRetryable: isRetryableStatus(status),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

function retryAfter(headers: unknown): number | undefined {
  const get = (name: string): string | undefined => {
    if (headers === null || headers === undefined) return undefined;
    if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
    const value = (headers as Record<string, unknown>)[name];
    return typeof value === 'string' ? value : undefined;
  };
  const milliseconds = Number.parseFloat(get('retry-after-ms') ?? '');
  if (Number.isFinite(milliseconds)) return milliseconds;
  const seconds = Number.parseFloat(get('retry-after') ?? '');
  return Number.isFinite(seconds) ? seconds * 1000 : undefined;
}

export function redact(text: string, secret: string | undefined): string {
  return secret === undefined || secret.length < 4 ? text : text.split(secret).join('***');
}
