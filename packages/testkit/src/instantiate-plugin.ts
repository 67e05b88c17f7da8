import {
  type AnyPluginDefinition,
  ConfigError,
  type PluginContext,
  type PluginDefinition,
  type PluginInstances,
  type PluginKind,
  parsePluginOptions,
  Random,
} from '@ekipl/core';

export interface InstantiatePluginOptions {
  /** The instance name `create` sees (default: the plugin's name). */
  name?: string;
  /** Seed of the instance's random stream (default 1). */
  seed?: number;
  /** Where relative paths in the options resolve from (default: the working directory). */
  configDirectory?: string;
  /**
   * Plugins the instance may create through `context.createPlugin` (found by name, `use:`), for
   * plugins that wrap another; absent: the context has no `createPlugin`.
   */
  plugins?: readonly AnyPluginDefinition[];
}

export interface InstantiatedPlugin<K extends PluginKind> {
  /** What `create` returned: the contract the conformance suites take. */
  instance: PluginInstances[K];
  /** The options after validation, every default filled in. */
  options: unknown;
  /** What the plugin reported through `context.warn`. */
  warnings: string[];
}

/**
 * Makes an instance of a `definePlugin` object the way `ekipl` does for a config entry: the options
 * are validated against the plugin's schema (unknown keys rejected, defaults filled; a ConfigError
 * lists every problem), then `create` runs with a context. For plugin tests:
 *
 * ```ts
 * const { instance } = await instantiatePlugin(myEstimator, { tailShare: 0.2 });
 * await estimatorConformance(instance);
 * ```
 */
export async function instantiatePlugin<K extends PluginKind, Options>(
  plugin: PluginDefinition<K, Options>,
  options: unknown = {},
  settings: InstantiatePluginOptions = {},
): Promise<InstantiatedPlugin<K>> {
  const parsed = parsePluginOptions(plugin as AnyPluginDefinition, options, ['options'], undefined);
  if (!parsed.ok) throw new ConfigError(parsed.issues);
  const warnings: string[] = [];
  const name = settings.name ?? plugin.name;
  const { plugins } = settings;
  const createPlugin: PluginContext['createPlugin'] =
    plugins === undefined
      ? undefined
      : async (kind, reference, field) => {
          const nested = plugins.find(
            (candidate) => candidate.name === reference.use && candidate.kind === kind,
          );
          if (nested === undefined) {
            throw new ConfigError([
              {
                path: `options.${field}.use`,
                message: `no ${kind} plugin "${reference.use}" among the test's plugins`,
              },
            ]);
          }
          const created = await instantiatePlugin(nested, reference.options ?? {}, {
            ...settings,
            name: reference.name ?? `${name}.${field}`,
          });
          warnings.push(...created.warnings);
          return created.instance as PluginInstances[typeof kind];
        };
  const instance = await plugin.create(parsed.value as Options, {
    name,
    random: Random.fromSeed(settings.seed ?? 1).split(`plugin:${name}`),
    configDirectory: settings.configDirectory ?? process.cwd(),
    warn: (message) => warnings.push(message),
    ...(createPlugin === undefined ? {} : { createPlugin }),
  });
  return { instance, options: parsed.value, warnings };
}
