import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.config.base.js';

export default defineConfig({
  ...packageBuild,
  // The helper threads' entry (workers > 1) is loaded by path: dist/worker.js.
  entry: ['src/index.ts', 'src/worker.ts'],
  dts: { entry: 'src/index.ts' },
});
