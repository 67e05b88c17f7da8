import type { Options } from 'tsup';

/** Build settings every package shares: ESM + .d.ts for Node 20, from src/index.ts. */
export const packageBuild: Options = {
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
};
