import { EkiplError } from './ekipl-error.js';

const marker = 'ekipl.error.provider';
const symbol = Symbol.for(marker);

/**
 * An external model's API failed. `isRetryable` tells the retry loop whether another try can help
 * (408, 429, 5xx, network errors) or not (400, 401, 403, a refusal). Messages never carry API keys.
 */
export class ProviderError extends EkiplError {
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: read by isInstance through Symbol.for
  private readonly [symbol] = true;
  readonly provider: string;
  readonly url?: string;
  readonly statusCode?: number;
  readonly isRetryable: boolean;
  /** How long the server asked to wait before retrying (from `retry-after` / `retry-after-ms`). */
  readonly retryAfterMs?: number;

  constructor(options: {
    provider: string;
    message: string;
    url?: string;
    statusCode?: number;
    isRetryable: boolean;
    retryAfterMs?: number;
    cause?: unknown;
  }) {
    super(options.message, { cause: options.cause });
    this.name = 'ProviderError';
    this.provider = options.provider;
    if (options.url !== undefined) this.url = options.url;
    if (options.statusCode !== undefined) this.statusCode = options.statusCode;
    this.isRetryable = options.isRetryable;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }

  static override isInstance(error: unknown): error is ProviderError {
    return EkiplError.hasMarker(error, marker);
  }
}
