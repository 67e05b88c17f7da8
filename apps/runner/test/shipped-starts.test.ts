import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadConfig } from '@ekipl/core';
import { describe, expect, it } from 'vitest';
import { builtinPlugins } from '../src/index.js';

const examples = join(import.meta.dirname, '..', '..', '..', 'examples');

// The demo and the configs beside it start from shipped checkpoints: a moved checkpoint or a model size
// changed in one place and not the other would only show when a newcomer runs `npm run demo`.
describe('the shipped starts', () => {
  for (const [name, checkpoint] of [
    ['quickstart.yaml', 'paper/early-start/checkpoint'],
    ['quickstart-warm-start.yaml', 'paper/warm-start/checkpoint'],
    ['paper/benchmark.yaml', 'paper/warm-start/checkpoint'],
  ] as const) {
    it(`${name} names ${checkpoint}, a checkpoint of the model it configures`, async () => {
      const file = join(examples, name);
      const resolved = await loadConfig(file, { builtins: builtinPlugins });
      const options = resolved.config.policy.options as {
        checkpoint?: string;
        size: Record<string, unknown>;
      };
      const directory = join(dirname(file), options.checkpoint ?? '(none)');
      expect(directory).toBe(join(examples, checkpoint));
      const state = JSON.parse(readFileSync(join(directory, 'state.json'), 'utf8')) as {
        config: Record<string, unknown>;
      };
      for (const [key, value] of Object.entries(options.size)) expect(state.config[key], key).toBe(value);
    });
  }
});
