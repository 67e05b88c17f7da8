export { AnswerCache, type CachedAnswer, type CacheKeyParts, cacheKey, hashBytes } from './cache.js';
export { isRetryableStatus, redact, toProviderError } from './errors.js';
export { RequestLimiter, sleep } from './limiter.js';
export { LogprobFallback } from './logprob-fallback.js';
export {
  defaultPrices,
  type Price,
  type ProviderOptions,
  priceOf,
  providerOptionsFields,
  providerOptionsSchema,
} from './options.js';
export {
  type ApiKey,
  createProviderSampler,
  openProviderSampler,
  type ProviderAdapter,
  type ProviderAnswer,
  type ProviderCompletion,
  type ProviderRequest,
  type ProviderSamplerContext,
  resolveApiKey,
  verifyApiKey,
} from './provider-sampler.js';
export { base64Of, dataUrlOf } from './render.js';
