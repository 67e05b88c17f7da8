import { defineConfig } from 'vitest/config';

// Generating and scoring hundreds of synthetic tasks takes seconds on two cores.
export default defineConfig({ test: { testTimeout: 60_000 } });
