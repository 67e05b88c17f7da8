import { describe, expect, it } from 'vitest';
import {
  type AnyPluginDefinition,
  type BuiltinPlugin,
  ConfigError,
  createComponents,
  definePlugin,
  type PluginKind,
  parseConfigText,
  Random,
  resolveConfig,
  z,
} from '../src/index.js';
import { testBuiltins } from './fixtures/builtins.js';

/** Built-ins whose create() returns `instance` for the selector, and working stand-ins elsewhere. */
function builtinsCreating(selectorInstance: unknown): BuiltinPlugin[] {
  const working = (kind: PluginKind, name: string, instance: object): BuiltinPlugin => ({
    name,
    kind,
    packageName: 'test',
    load: async () =>
      definePlugin({
        kind: kind as 'policy',
        name,
        options: z.object({}).loose(),
        create: () => instance as never,
      }) as AnyPluginDefinition,
  });
  return [
    working('dataset', 'synthetic-counting', { name: 'd', splits: [], tasks: async function* () {} }),
    working('policy', 'tfjs', {
      name: 'p',
      capabilities: { train: false },
      generate() {},
      score() {},
      encode() {},
      decode() {},
    }),
    working('reward', 'format', { name: 'f', score() {} }),
    working('reward', 'accuracy', { name: 'a', score() {} }),
    working('selector', 'top-k', selectorInstance as object),
    working('estimator', 'uncorrected', { name: 'u', weights() {} }),
    ...testBuiltins.filter((entry) => entry.kind === 'auxiliary'),
  ];
}

describe('createComponents checks what a plugin created', () => {
  it("an instance without its kind's methods is a config error naming the section and what is missing", async () => {
    const { raw, source } = parseConfigText('{}', 'run.yaml');
    const resolved = await resolveConfig(raw, {
      builtins: builtinsCreating({ name: 's' }),
      source,
      configDirectory: '.',
    });
    const error = await createComponents(resolved, Random.fromSeed(1)).catch((caught: unknown) => caught);
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe(
      'selector: top-k: plugin "top-k" created an object without select: not a selector plugin\'s instance',
    );
  });

  it('an error thrown by create() is a config error naming the section', async () => {
    const { raw, source } = parseConfigText('{}', 'run.yaml');
    const resolved = await resolveConfig(raw, { builtins: testBuiltins, source, configDirectory: '.' });
    await expect(createComponents(resolved, Random.fromSeed(1))).rejects.toThrow(
      /^dataset: synthetic-counting: not created in config tests$/,
    );
  });
});
