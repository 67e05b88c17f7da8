import { readFileSync } from 'node:fs';

/**
 * ekipl's version: this package's, read from its package.json (one level above src/ and dist/ alike),
 * shown by `ekipl --version` and recorded in every run directory.
 */
export const version = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
