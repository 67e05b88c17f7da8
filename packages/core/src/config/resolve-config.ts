import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { AdvantageSettings } from '../advantages.js';
import type { ObjectiveSettings } from '../contracts/objective-settings.js';
import { delegatingPolicy } from '../delegating-policy.js';
import type { AuxiliarySource, EkiplStepSettings, WeightedReward } from '../ekipl-step.js';
import { ConfigError, type ConfigIssue } from '../errors/config-error.js';
import { EkiplError } from '../errors/ekipl-error.js';
import { PluginError } from '../errors/plugin-error.js';
import type {
  AnyPluginDefinition,
  PluginContext,
  PluginInstances,
  PluginKind,
} from '../plugin/define-plugin.js';
import { type BuiltinPlugin, loadPlugin } from '../plugin/load-plugin.js';
import { parsePluginOptions, schemaKeysAt } from '../plugin/plugin-options.js';
import type { Random } from '../random.js';
import {
  type ConfigPath,
  type ConfigSource,
  locateIssue,
  type SchemaIssue,
  toConfigIssues,
} from './issues.js';
import { applyOverrides } from './overrides.js';
import { configSchema, type ValidatedConfig } from './schema.js';
import { parseConfigText } from './source.js';

/** A plugin reference after loading: the definition, and its options validated with defaults filled. */
export interface ResolvedPlugin<K extends PluginKind = PluginKind> {
  /** Instance name: the config's `name`, else the plugin's name. */
  name: string;
  /** The `use:` reference as written. */
  use: string;
  plugin: AnyPluginDefinition & { kind: K };
  options: Record<string, unknown>;
}

export interface ResolvedConfig {
  /** Every section with defaults filled, plugin options included: what `ekipl validate` prints. */
  config: ValidatedConfig;
  /** Absolute path of the config file, when it came from one. */
  file?: string;
  configDirectory: string;
  /** The built-in plugins it was resolved with (for plugins that create others: `PluginContext.createPlugin`). */
  builtins?: readonly BuiltinPlugin[];
  plugins: {
    dataset: ResolvedPlugin<'dataset'>;
    policy: ResolvedPlugin<'policy'>;
    auxiliary: (ResolvedPlugin<'auxiliary'> & { samples: number })[];
    reward: (ResolvedPlugin<'reward'> & { weight: number })[];
    selector: ResolvedPlugin<'selector'>;
    estimator: ResolvedPlugin<'estimator'>;
    /** The warm start's own teacher, when `warmStart.teacher` is a sampler entry (not a name). */
    teacher?: ResolvedPlugin<'auxiliary'>;
    /** The backend that generates the policy's samples (`rollout:`). */
    rollout?: ResolvedPlugin<'policy'>;
    /** The backend that scores the frozen starting weights, the KL anchor (`reference:`). */
    reference?: ResolvedPlugin<'policy'>;
  };
}

export interface ResolveConfigOptions {
  builtins: readonly BuiltinPlugin[];
  /** `path=value` overrides (the CLI's `--set`), applied before validation (see `applyOverrides`). */
  overrides?: readonly string[];
  /** Where relative paths and npm packages are resolved from; defaults to the file's folder or cwd. */
  configDirectory?: string;
  source?: ConfigSource;
}

/** Reads, validates and resolves a config file; every problem found is reported at once in a ConfigError. */
export async function loadConfig(
  file: string,
  options: Omit<ResolveConfigOptions, 'source'>,
): Promise<ResolvedConfig> {
  const absolute = resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : String(error);
    throw new ConfigError([{ path: '', message: reason, file }]);
  }
  const { raw, source } = parseConfigText(text, file);
  const overrides = options.overrides ?? [];
  try {
    const resolved = await resolveConfig(applyOverrides(raw, overrides), {
      ...options,
      source,
      configDirectory: options.configDirectory ?? dirname(absolute),
    });
    resolved.file = absolute;
    return resolved;
  } catch (error) {
    throw ConfigError.isInstance(error) ? attributeToOverrides(error, overrides) : error;
  }
}

/** Issues inside an overridden path came from `--set`, not from the file: they say so, without a file position. */
function attributeToOverrides(error: ConfigError, overrides: readonly string[]): ConfigError {
  const paths = overrides.map((override) => override.slice(0, Math.max(0, override.indexOf('='))).trim());
  const fromOverride = (path: string) =>
    paths.find(
      (prefix) =>
        prefix !== '' && (path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`)),
    );
  if (!error.issues.some((issue) => fromOverride(issue.path) !== undefined)) return error;
  return new ConfigError(
    error.issues.map((issue) => {
      const prefix = fromOverride(issue.path);
      if (prefix === undefined) return issue;
      const { file: _file, line: _line, column: _column, ...rest } = issue;
      return { ...rest, message: `${issue.message} (from --set ${prefix}=...)` };
    }),
    { cause: error },
  );
}

/** Validates a parsed config, loads its plugins and validates their options. */
export async function resolveConfig(raw: unknown, options: ResolveConfigOptions): Promise<ResolvedConfig> {
  const { source, builtins } = options;
  const configDirectory = options.configDirectory ?? process.cwd();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError([
      locateIssue(
        [],
        'the config must be a mapping of sections (run, dataset, policy, auxiliary, reward, selector, estimator, objective)',
        'value',
        source,
      ),
    ]);
  }
  const parsed = configSchema.safeParse(raw);
  const issues: ConfigIssue[] = parsed.success
    ? []
    : toConfigIssues(parsed.error.issues as unknown as SchemaIssue[], raw, [], source, (path) =>
        schemaKeysAt(configSchema, path),
      );
  // Plugin references are checked even when other parts of the file are wrong, so one run of
  // `ekipl validate` reports every problem; a broken reference is skipped here (already reported).
  const sections: PluginSections = parsed.success
    ? {
        ...parsed.data,
        teacher:
          typeof parsed.data.warmStart.teacher === 'object' ? parsed.data.warmStart.teacher : undefined,
      }
    : pluginSectionsOf(raw as Record<string, unknown>);

  const resolvePlugin = <K extends PluginKind>(
    kind: K,
    reference: PluginReference | undefined,
    path: ConfigPath,
  ) =>
    reference === undefined
      ? Promise.resolve(undefined)
      : resolvePluginReference(kind, reference, path, { builtins, configDirectory, source }, issues);

  const [dataset, policy, selector, estimator, auxiliary, reward, teacher, rollout, referencePolicy] =
    await Promise.all([
      resolvePlugin('dataset', sections.dataset, ['dataset']),
      resolvePlugin('policy', sections.policy, ['policy']),
      resolvePlugin('selector', sections.selector, ['selector']),
      resolvePlugin('estimator', sections.estimator, ['estimator']),
      Promise.all(
        (sections.auxiliary ?? []).map((entry, i) => resolvePlugin('auxiliary', entry, ['auxiliary', i])),
      ),
      Promise.all((sections.reward ?? []).map((entry, i) => resolvePlugin('reward', entry, ['reward', i]))),
      resolvePlugin('auxiliary', sections.teacher, ['warmStart', 'teacher']),
      resolvePlugin('policy', sections.rollout, ['rollout']),
      resolvePlugin('policy', sections.reference, ['reference']),
    ]);

  checkUniqueNames(auxiliary, 'auxiliary', 'auxiliary samplers', issues, source);
  checkUniqueNames(reward, 'reward', 'rewards', issues, source);
  auxiliary.forEach((entry, i) => {
    if (entry?.name === 'policy') {
      issues.push(
        locateIssue(
          ['auxiliary', i, 'name'],
          '"policy" is the policy\'s own source name; choose another name',
          'key',
          source,
        ),
      );
    }
  });
  if (issues.length > 0 || !parsed.success) throw new ConfigError(sortByPosition(issues));
  const config = parsed.data;

  // Everything resolved: write the filled-in plugin options back so the printed config is complete.
  const withOptions = <T extends { options?: Record<string, unknown> | undefined }>(
    entry: T,
    resolved: ResolvedPlugin,
  ) => ({
    ...entry,
    options: resolved.options,
  });
  const resolvedConfig: ValidatedConfig = {
    ...config,
    dataset: withOptions(config.dataset, dataset!),
    policy: withOptions(config.policy, policy!),
    selector: withOptions(config.selector, selector!),
    estimator: withOptions(config.estimator, estimator!),
    auxiliary: config.auxiliary.map((entry, i) => ({
      ...withOptions(entry, auxiliary[i]!),
      name: auxiliary[i]!.name,
      samples: entry.samples ?? config.run.groupSize,
    })),
    reward: config.reward.map((entry, i) => ({ ...withOptions(entry, reward[i]!), name: reward[i]!.name })),
    ...(config.rollout === undefined || rollout === undefined
      ? {}
      : { rollout: withOptions(config.rollout, rollout) }),
    ...(config.reference === undefined || referencePolicy === undefined
      ? {}
      : { reference: withOptions(config.reference, referencePolicy) }),
    warmStart:
      typeof config.warmStart.teacher === 'object' && teacher !== undefined
        ? {
            ...config.warmStart,
            teacher: { ...withOptions(config.warmStart.teacher, teacher), name: teacher.name },
          }
        : config.warmStart,
  };
  return {
    config: resolvedConfig,
    configDirectory,
    builtins,
    plugins: {
      dataset: dataset!,
      policy: policy!,
      selector: selector!,
      estimator: estimator!,
      auxiliary: auxiliary.map((entry, i) => ({
        ...entry!,
        samples: config.auxiliary[i]!.samples ?? config.run.groupSize,
      })),
      reward: reward.map((entry, i) => ({ ...entry!, weight: config.reward[i]!.weight })),
      ...(teacher === undefined ? {} : { teacher }),
      ...(rollout === undefined ? {} : { rollout }),
      ...(referencePolicy === undefined ? {} : { reference: referencePolicy }),
    },
  };
}

/**
 * Loads the plugin one config entry names and validates its options; problems are appended to
 * `issues` (located in the file) and give `undefined`. Used for whole configs and for commands that
 * need one section only (`ekipl tasks` reads just the dataset).
 */
export async function resolvePluginReference<K extends PluginKind>(
  kind: K,
  reference: PluginReference,
  path: ConfigPath,
  context: { builtins: readonly BuiltinPlugin[]; configDirectory: string; source?: ConfigSource | undefined },
  issues: ConfigIssue[],
): Promise<ResolvedPlugin<K> | undefined> {
  let plugin: AnyPluginDefinition;
  try {
    plugin = await loadPlugin(reference.use, {
      builtins: context.builtins,
      configDirectory: context.configDirectory,
      expectedKind: kind,
    });
  } catch (error) {
    if (!EkiplError.isInstance(error)) throw error;
    issues.push(locateIssue([...path, 'use'], error.message, 'value', context.source));
    return undefined;
  }
  const parsedOptions = parsePluginOptions(
    plugin,
    reference.options ?? {},
    [...path, 'options'],
    context.source,
  );
  if (!parsedOptions.ok) {
    issues.push(...parsedOptions.issues);
    return undefined;
  }
  return {
    name: reference.name ?? plugin.name,
    use: reference.use,
    plugin: plugin as AnyPluginDefinition & { kind: K },
    options: (parsedOptions.value ?? {}) as Record<string, unknown>,
  };
}

/**
 * Creates one plugin instance with its own random stream and the config folder. With `builtins`, the
 * instance may create the plugins its options name (`PluginContext.createPlugin`), loaded and validated
 * like a config entry; their problems are reported under `<instance>.options.<field>`.
 */
export async function createPluginInstance<K extends PluginKind>(
  entry: ResolvedPlugin<K>,
  context: {
    random: Random;
    configDirectory: string;
    warn?: (message: string) => void;
    builtins?: readonly BuiltinPlugin[] | undefined;
  },
): Promise<PluginInstances[K]> {
  const warn = context.warn ?? (() => {});
  const { builtins } = context;
  const createPlugin: PluginContext['createPlugin'] =
    builtins === undefined
      ? undefined
      : async (kind, reference, field) => {
          const issues: ConfigIssue[] = [];
          const nested = await resolvePluginReference(
            kind,
            reference,
            ['options', ...field.split('.')],
            { builtins, configDirectory: context.configDirectory },
            issues,
          );
          if (nested === undefined) throw new ConfigError(issues);
          return createPluginInstance(
            { ...nested, name: reference.name ?? `${entry.name}.${field}` },
            { ...context, random: context.random.split('nested', field) },
          );
        };
  const instance = (await entry.plugin.create(entry.options, {
    name: entry.name,
    random: context.random,
    configDirectory: context.configDirectory,
    warn: (message) => warn(`${entry.name}: ${message}`),
    ...(createPlugin === undefined ? {} : { createPlugin }),
  })) as PluginInstances[K];
  const missing = (requiredMembers[entry.plugin.kind] as readonly string[]).filter(
    (member) => instance === null || typeof instance !== 'object' || !(member in instance),
  );
  if (missing.length > 0) {
    throw new PluginError(
      entry.use,
      `plugin "${entry.use}" created ${instance === null || typeof instance !== 'object' ? String(instance) : 'an object'} without ${missing.join(', ')}: not ${entry.plugin.kind === 'auxiliary' ? 'an' : 'a'} ${entry.plugin.kind} plugin's instance`,
    );
  }
  return instance;
}

/** What an instance of each kind must have (its contract's required members). */
const requiredMembers: { [K in PluginKind]: readonly (keyof PluginInstances[K])[] } = {
  policy: ['name', 'capabilities', 'generate', 'score', 'encode', 'decode'],
  auxiliary: ['name', 'sample'],
  reward: ['name', 'score'],
  selector: ['name', 'select'],
  estimator: ['name', 'weights'],
  dataset: ['name', 'splits', 'tasks'],
};

export interface PluginReference {
  use: string;
  options?: Record<string, unknown> | undefined;
  name?: string | undefined;
}

interface PluginSections {
  dataset?: PluginReference | undefined;
  policy?: PluginReference | undefined;
  selector?: PluginReference | undefined;
  estimator?: PluginReference | undefined;
  auxiliary?: (PluginReference | undefined)[];
  reward?: (PluginReference | undefined)[];
  /** `warmStart.teacher` when it is a sampler entry of its own. */
  teacher?: PluginReference | undefined;
  rollout?: PluginReference | undefined;
  reference?: PluginReference | undefined;
}

/** The plugin references of a config that failed structural validation, where each is well-formed. */
function pluginSectionsOf(raw: Record<string, unknown>): PluginSections {
  const reference = (value: unknown): PluginReference | undefined => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    const entry = value as Record<string, unknown>;
    if (typeof entry['use'] !== 'string' || entry['use'] === '') return undefined;
    const options = entry['options'];
    if (
      options !== undefined &&
      (options === null || typeof options !== 'object' || Array.isArray(options))
    ) {
      return undefined;
    }
    return {
      use: entry['use'],
      options: options as Record<string, unknown> | undefined,
      name: typeof entry['name'] === 'string' ? entry['name'] : undefined,
    };
  };
  const list = (value: unknown) => (Array.isArray(value) ? value.map(reference) : []);
  return {
    dataset: reference(raw['dataset']),
    policy: reference(raw['policy']),
    selector: reference(raw['selector']),
    estimator: reference(raw['estimator']),
    auxiliary: list(raw['auxiliary']),
    reward: list(raw['reward']),
    teacher: teacherReference(raw['warmStart'], reference),
    rollout: reference(raw['rollout']),
    reference: reference(raw['reference']),
  };
}

function teacherReference(
  warmStart: unknown,
  reference: (value: unknown) => PluginReference | undefined,
): PluginReference | undefined {
  if (warmStart === null || typeof warmStart !== 'object') return undefined;
  return reference((warmStart as Record<string, unknown>)['teacher']);
}

/** Issues in file order, so they read top to bottom like the file (unlocated ones last). */
function sortByPosition(issues: ConfigIssue[]): ConfigIssue[] {
  const key = (issue: ConfigIssue) => (issue.line ?? Number.MAX_SAFE_INTEGER) * 100_000 + (issue.column ?? 0);
  return issues.slice().sort((a, b) => key(a) - key(b));
}

function checkUniqueNames(
  entries: readonly (ResolvedPlugin | undefined)[],
  section: string,
  what: string,
  issues: ConfigIssue[],
  source: ConfigSource | undefined,
): void {
  const seen = new Map<string, number>();
  entries.forEach((entry, i) => {
    if (entry === undefined) return;
    const first = seen.get(entry.name);
    if (first === undefined) {
      seen.set(entry.name, i);
      return;
    }
    issues.push(
      locateIssue(
        [section, i],
        `${section}[${first}] and ${section}[${i}] are both named "${entry.name}"; give each of the ${what} a distinct \`name\``,
        'value',
        source,
      ),
    );
  });
}

/** The resolved config as YAML (what `ekipl validate` prints and run directories keep). */
export function stringifyConfig(config: ValidatedConfig): string {
  return stringify(config, { lineWidth: 0 });
}

/** Objective, sampling and advantage settings of a resolved config, as the EKIPL step takes them. */
export function stepSettings(config: ValidatedConfig): EkiplStepSettings {
  const { objective, run } = config;
  const objectiveSettings: ObjectiveSettings = {
    clipLow: objective.clip,
    clipHigh: objective.clipHigh ?? objective.clip,
    beta: objective.beta,
    aggregation: objective.aggregation,
    maxCompletionLength: objective.maxCompletionLength,
    learningRate: objective.learningRate,
    ...(objective.offPolicyShaping === undefined ? {} : { offPolicyShaping: objective.offPolicyShaping }),
    ...(objective.offPolicyMis === undefined ? {} : { offPolicyMis: objective.offPolicyMis }),
  };
  const advantage: AdvantageSettings = { baseline: objective.baseline, scaleByStd: objective.scaleByStd };
  return {
    groupSize: run.groupSize,
    objective: objectiveSettings,
    sampling: {
      temperature: objective.temperature,
      topP: objective.topP,
      topK: objective.topK,
      maxTokens: objective.maxCompletionLength,
    },
    advantage,
    numIterations: objective.numIterations,
    offPolicy: {
      klOn: objective.klOn,
      negatives: objective.offPolicyNegatives,
      ...(objective.offPolicySupervised === undefined
        ? {}
        : {
            supervised: {
              start: objective.offPolicySupervised.weight,
              end: objective.offPolicySupervised.decayTo,
              steps: objective.offPolicySupervised.decaySteps ?? Math.max(1, run.steps),
            },
          }),
    },
  };
}

export interface RunComponents {
  dataset: PluginInstances['dataset'];
  policy: PluginInstances['policy'];
  auxiliary: AuxiliarySource[];
  rewards: WeightedReward[];
  selector: PluginInstances['selector'];
  estimator: PluginInstances['estimator'];
  /** The warm start's own teacher (`warmStart.teacher` as a sampler entry). */
  teacher?: AuxiliarySource;
}

/** Creates every plugin instance of a resolved config, each with its own random stream split from `random`. */
/** Tasks per supervised warm-start step: its own `batchSize`, else one RL step's samples (batch x G). */
export function warmStartBatchSize(config: ValidatedConfig): number {
  return config.warmStart.batchSize ?? config.run.batchSize * config.run.groupSize;
}

/** Prompt tokens assumed per external request in cost estimates: a question and one image. */
export const estimatedPromptTokens = 1000;

/**
 * What a run's external samplers may cost at most, before it starts: each sampler's answers over
 * `steps` (batch x its samples per step, plus one answer per warm-start prompt for the teacher), priced
 * by the sampler at ~1000 prompt tokens and full-length answers, capped by its budget. One line per
 * sampler that charges anything, and a total; empty when nothing costs.
 */
export function costEstimate(components: RunComponents, config: ValidatedConfig, steps: number): string[] {
  const rows: { name: string; answers: number; usd: number; budgetUsd?: number }[] = [];
  const add = (source: AuxiliarySource, answers: number) => {
    const estimate = source.sampler.estimateCostUsd?.(answers, estimatedPromptTokens);
    if (estimate !== undefined && (estimate.usd > 0 || estimate.budgetUsd !== undefined)) {
      rows.push({ name: source.name, answers, ...estimate });
    }
  };
  for (const source of components.auxiliary) add(source, steps * config.run.batchSize * source.samples);
  if (components.teacher !== undefined) {
    add(components.teacher, config.warmStart.steps * warmStartBatchSize(config));
  }
  if (rows.length === 0) return [];
  const capped = (row: (typeof rows)[number]) => Math.min(row.usd, row.budgetUsd ?? Number.POSITIVE_INFINITY);
  const total = rows.reduce((sum, row) => sum + capped(row), 0);
  return [
    `external cost: at most $${total.toFixed(2)} (about ${estimatedPromptTokens} prompt tokens per request, every answer at its longest):`,
    ...rows.map(
      (row) =>
        `  ${row.name}: ${row.answers} answers, up to $${row.usd.toFixed(2)}${row.budgetUsd === undefined ? '' : `, budget $${row.budgetUsd.toFixed(2)}`}`,
    ),
  ];
}

/** Frees every instance that holds resources: the policy (and its rollout backend), then the samplers. */
export async function disposeComponents(components: RunComponents): Promise<void> {
  await components.policy.dispose?.();
  const samplers = [
    ...components.auxiliary,
    ...(components.teacher === undefined ? [] : [components.teacher]),
  ];
  await Promise.all(samplers.map(({ sampler }) => sampler.dispose?.()));
}

export async function createComponents(
  resolved: ResolvedConfig,
  random: Random,
  warn: (message: string) => void = () => {},
): Promise<RunComponents> {
  // An error thrown while a plugin is created (a missing checkpoint, a key not set) is a problem of the
  // config section that named it, reported like any other config error.
  const create = async <K extends PluginKind>(entry: ResolvedPlugin<K>, ...labels: (string | number)[]) => {
    try {
      return await createPluginInstance(entry, {
        random: random.split('plugin', ...labels),
        configDirectory: resolved.configDirectory,
        warn,
        builtins: resolved.builtins,
      });
    } catch (error) {
      const path = labels
        .map((label, i) => (typeof label === 'number' ? `[${label}]` : i === 0 ? label : `.${label}`))
        .join('');
      // A nested plugin's problems are located under this section (auxiliary[2].options.policy.use).
      if (ConfigError.isInstance(error)) {
        throw new ConfigError(
          error.issues.map((issue) =>
            issue.path.startsWith('options.') || issue.path === 'options'
              ? {
                  ...issue,
                  path: `${path}.${issue.path}`,
                  ...(resolved.file === undefined ? {} : { file: resolved.file }),
                }
              : issue,
          ),
        );
      }
      const message = error instanceof Error ? error.message : String(error);
      throw new ConfigError(
        [
          {
            path,
            message: `${entry.name}: ${message}`,
            ...(resolved.file === undefined ? {} : { file: resolved.file }),
          },
        ],
        { cause: error },
      );
    }
  };
  const { plugins } = resolved;
  const dataset = await create(plugins.dataset, 'dataset');
  const trainer = await create(plugins.policy, 'policy');
  let policy: PluginInstances['policy'] = trainer;
  if (plugins.rollout !== undefined || plugins.reference !== undefined) {
    const rollout = plugins.rollout === undefined ? undefined : await create(plugins.rollout, 'rollout');
    const reference =
      plugins.reference === undefined ? undefined : await create(plugins.reference, 'reference');
    try {
      policy = delegatingPolicy(trainer, { rollout, reference });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const role = message.startsWith('reference: ') ? 'reference' : 'rollout';
      throw new ConfigError([
        {
          path: role,
          message: message.replace(/^(rollout|reference): /, ''),
          ...(resolved.file === undefined ? {} : { file: resolved.file }),
        },
      ]);
    }
  }
  return {
    dataset,
    policy,
    selector: await create(plugins.selector, 'selector'),
    estimator: await create(plugins.estimator, 'estimator'),
    auxiliary: await Promise.all(
      plugins.auxiliary.map(async (entry, i) => ({
        name: entry.name,
        sampler: await create(entry, 'auxiliary', i),
        samples: entry.samples,
      })),
    ),
    rewards: await Promise.all(
      plugins.reward.map(async (entry, i) => ({
        name: entry.name,
        reward: await create(entry, 'reward', i),
        weight: entry.weight,
      })),
    ),
    ...(plugins.teacher === undefined
      ? {}
      : {
          teacher: {
            name: plugins.teacher.name,
            sampler: await create(plugins.teacher, 'warmStart', 'teacher'),
            samples: 1,
          },
        }),
  };
}
