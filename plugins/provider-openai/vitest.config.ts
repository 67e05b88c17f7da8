import { defineConfig } from 'vitest/config';

// Rendering and decoding hundreds of images takes seconds on two cores.
export default defineConfig({ test: { testTimeout: 60_000 } });
