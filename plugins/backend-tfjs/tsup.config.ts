import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.config.base.js';

// tfjs-core's Node build registers no gradients, and its gradient files are extension-less ESM that
// only a bundler resolves: bundle them in. They register into tfjs's global registry and run on its
// global engine, so they serve the tfjs-core the application loads.
export default defineConfig({
  ...packageBuild,
  // The worker thread's entry (data parallelism) is loaded by path: dist/worker.js.
  entry: ['src/index.ts', 'src/worker.ts'],
  dts: { entry: 'src/index.ts' },
  noExternal: [/@tensorflow\/tfjs-core\/dist\/register_all_gradients/],
});
