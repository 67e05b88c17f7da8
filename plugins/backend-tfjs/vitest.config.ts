import { defineConfig } from 'vitest/config';

// The memory and objective-conformance tests run tens of steps at the default size: 54-56 s each in a
// full `.ci/run` on a busy two-core machine, too close to a 60 s limit.
export default defineConfig({ test: { testTimeout: 180_000 } });
