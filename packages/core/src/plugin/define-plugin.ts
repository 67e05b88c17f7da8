import type { z } from 'zod';
import type { AuxiliarySampler } from '../contracts/auxiliary-sampler.js';
import type { Dataset } from '../contracts/dataset.js';
import type { Estimator } from '../contracts/estimator.js';
import type { PolicyBackend } from '../contracts/policy-backend.js';
import type { RewardFn } from '../contracts/reward-fn.js';
import type { Selector } from '../contracts/selector.js';
import { type SpecificationVersion, specificationVersion } from '../contracts/specification-version.js';
import type { Random } from '../random.js';

/** What a plugin provides; each kind has its own contract and config section. */
export interface PluginInstances {
  policy: PolicyBackend;
  auxiliary: AuxiliarySampler;
  reward: RewardFn;
  selector: Selector;
  estimator: Estimator;
  dataset: Dataset;
}

export type PluginKind = keyof PluginInstances;

export const pluginKinds: readonly PluginKind[] = [
  'policy',
  'auxiliary',
  'reward',
  'selector',
  'estimator',
  'dataset',
];

/** What `create` gets besides its options. */
export interface PluginContext {
  /** The instance's name in this run: the config's `name`, else the plugin's name. */
  name: string;
  /** The instance's own random stream (split from the run seed by config section and position). */
  random: Random;
  /** Folder of the config file: relative paths in options are relative to it. */
  configDirectory: string;
  /** Report something the user should know (an option that cannot be honoured); never throws. */
  warn(message: string): void;
  /**
   * Creates the plugin one of this plugin's options names (`{ use, options }`), loaded and validated
   * like a config entry, so a plugin that wraps another (aux-local wraps a policy backend) never imports
   * it. `field` is that option's path (`policy`): errors are reported under it. Absent where the host
   * cannot load plugins.
   */
  createPlugin?: <K extends PluginKind>(
    kind: K,
    reference: { use: string; name?: string; options?: Record<string, unknown> },
    field: string,
  ) => Promise<PluginInstances[K]>;
}

/**
 * A plugin: a plain object with a kind, a name, a zod schema for its options and a factory. `create`
 * does the expensive setup once (load weights, open clients); the instance's methods stay cheap.
 */
export interface PluginDefinition<K extends PluginKind = PluginKind, Options = unknown> {
  readonly specificationVersion: SpecificationVersion;
  readonly kind: K;
  /** The name configs use for a built-in, and the default instance name. */
  readonly name: string;
  /** One line for `ekipl plugins`. */
  readonly description?: string;
  /** zod schema of the options; an object schema's unknown keys are rejected unless it is declared loose. */
  readonly options: z.ZodType<Options>;
  create(options: Options, context: PluginContext): PluginInstances[K] | Promise<PluginInstances[K]>;
}

/** Any plugin, whatever its kind and options (what the loader hands back before checking them). */
// biome-ignore lint/suspicious/noExplicitAny: options are checked at run time against the plugin's own schema.
export type AnyPluginDefinition = PluginDefinition<PluginKind, any>;

/**
 * Defines a plugin. The options type is inferred from the schema:
 *
 * ```ts
 * export default definePlugin({
 *   kind: 'reward',
 *   name: 'length-penalty',
 *   options: z.strictObject({ maxCharacters: z.number().int().positive().default(2000) }),
 *   create: (options) => ({
 *     specificationVersion: 'v1',
 *     name: 'length-penalty',
 *     score: (action) => (action.text.length > options.maxCharacters ? -1 : 0),
 *   }),
 * });
 * ```
 */
export function definePlugin<K extends PluginKind, S extends z.ZodType>(definition: {
  kind: K;
  name: string;
  description?: string;
  options: S;
  create(options: z.output<S>, context: PluginContext): PluginInstances[K] | Promise<PluginInstances[K]>;
}): PluginDefinition<K, z.output<S>> {
  return { specificationVersion, ...definition } as PluginDefinition<K, z.output<S>>;
}

/** Duck-typed check, so plugins built against another copy of @ekipl/core (or zod) are recognised. */
export function isPluginDefinition(value: unknown): value is AnyPluginDefinition {
  if (value === null || typeof value !== 'object') return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate['kind'] === 'string' &&
    typeof candidate['name'] === 'string' &&
    typeof candidate['create'] === 'function' &&
    candidate['options'] !== null &&
    typeof candidate['options'] === 'object' &&
    typeof (candidate['options'] as Record<string, unknown>)['safeParse'] === 'function'
  );
}
