import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.config.base.js';

// tfjs-core's Node build registers no gradients, and its gradient files are extension-less ESM that
// only a bundler resolves: bundle them in. They register into tfjs's global registry and run on its
// global engine, so they serve the tfjs-core the application loads.
export default defineConfig({
  ...packageBuild,
  noExternal: [/@tensorflow\/tfjs-core\/dist\/register_all_gradients/],
});
