import { appendFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type BuiltinPlugin,
  ConfigError,
  createComponents,
  createPromptTemplate,
  type Dataset,
  type EkiplComponents,
  EkiplError,
  type EkiplStepSettings,
  ekiplStep,
  loadConfig,
  type Prompt,
  Random,
  type RunComponents,
  type SupervisedExample,
  stepSettings,
  stringifyConfig,
  type Task,
} from '@ekipl/core';
import { defineCommand } from 'citty';
import { builtinPlugins } from '../builtin-plugins.js';
import { evaluatePolicy, evaluationMetrics } from '../evaluation.js';
import { reportCommandError } from '../report-error.js';
import { setFlags } from '../set-flags.js';
import { version } from '../version.js';
import { writeAtomically } from '../write-atomically.js';

export interface TrainOptions {
  config: string;
  /** Run directory; default `<outputDir>/<name>-<timestamp>` next to the config. */
  out?: string;
  /** Overrides `run.steps`. */
  steps?: number;
  /** `path=value` overrides of the config (`--set`), validated like the file. */
  overrides?: readonly string[];
  builtins?: readonly BuiltinPlugin[];
  log?: (line: string) => void;
  /** Aborting stops after the current step, evaluates, checkpoints and returns. */
  signal?: AbortSignal;
}

export interface TrainResult {
  runDirectory: string;
  steps: number;
  /** The last evaluation's metrics (`eval/id/accuracy`, ...). */
  evaluation: Record<string, number>;
  interrupted: boolean;
}

/**
 * `ekipl train -c CONFIG`: EKIPL steps on the configured dataset, policy, samplers, rewards, selector and
 * estimator. The run directory holds `config.yaml` (resolved), `metrics.jsonl` (one line per step and
 * per evaluation), `samples.jsonl` (every step's selected groups: texts, sources, rewards, advantages,
 * weights; model text as data, escape it before showing it), `warnings.log`, `checkpoint/` (the
 * policy's weights and optimiser state, written atomically after the last step, on Ctrl-C, or after a
 * failure with the last completed update's weights), `status.json` (`finished`, `interrupted`, or
 * `failed` with the step and the error) and `run.json` (ekipl's version, the `--set` overrides, the
 * policy's facts such as the resolved `workers`).
 * Plugins are created, and API keys checked, before any training work.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const log = options.log ?? (() => {});
  const resolved = await loadConfig(options.config, {
    builtins: options.builtins ?? builtinPlugins,
    ...(options.overrides === undefined ? {} : { overrides: options.overrides }),
  });
  const { config } = resolved;
  const steps = options.steps ?? config.run.steps;
  const runDirectory = resolve(
    options.out ??
      join(
        resolved.configDirectory,
        config.run.outputDir,
        `${config.run.name}-${new Date().toISOString().replace(/[:.]/g, '-')}`,
      ),
  );
  const random = Random.fromSeed(config.run.seed);
  await mkdir(runDirectory, { recursive: true });
  const warn = (message: string) => {
    log(`warning: ${message}`);
    void appendFile(join(runDirectory, 'warnings.log'), `${message}\n`);
  };
  const components = await createComponents(resolved, random, warn);
  const settings = stepSettings(config);
  await writeAtomically(join(runDirectory, 'config.yaml'), stringifyConfig(config));
  // What produced the run, beside the config: ekipl's version, the overrides, the policy's own facts
  // (the resolved thread count of `workers: auto`, the engine, the parameter count).
  await writeAtomically(
    join(runDirectory, 'run.json'),
    `${JSON.stringify(
      {
        ekipl: version,
        node: process.version,
        overrides: options.overrides ?? [],
        policy: components.policy.info ?? {},
        started: new Date().toISOString(),
      },
      null,
      2,
    )}\n`,
  );
  const step: EkiplComponents = { ...components, renderPrompt: createPromptTemplate(config.prompt) };
  const batches = batchesOf(components.dataset, 'train', config.run.batchSize);
  let costTotal = 0;
  let evaluation: Record<string, number> = {};
  let completed = 0;
  // Where the run is, so that a failure can say where it happened and what the weights hold.
  const progress: Progress = { phase: 'warm-start step', step: 0 };
  log(`run directory ${runDirectory}`);
  try {
    if (config.warmStart.steps > 0)
      await warmStart(components, step, config, runDirectory, random, log, progress, options.signal);
    // Every run has a before: the evaluation at step 0, after any warm start.
    if (config.run.evalEvery > 0) {
      evaluation = await evaluate(components, step, settings, config.run.evalLimit, 0, runDirectory, log);
    }
    progress.phase = 'step';
    for (let index = 1; index <= steps && options.signal?.aborted !== true; index++) {
      progress.step = index;
      const started = performance.now();
      const tasks = await batches.next();
      const result = await ekiplStep(step, settings, tasks, random.split('step', index), {
        step: index,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      costTotal += result.metrics['cost/usd'] ?? 0;
      completed = index;
      progress.lastUpdate = `step ${index}`;
      await appendFile(
        join(runDirectory, 'metrics.jsonl'),
        `${JSON.stringify({ step: index, ...result.metrics, 'cost/usd_total': costTotal })}\n`,
      );
      const samples = result.groups.map((group) => ({
        step: index,
        task: group.task.id,
        answer: group.task.answer,
        selected: group.selected.map((action, i) => ({
          source: action.source,
          text: action.text,
          reward: action.reward,
          advantage: action.advantage,
          weight: group.weights[i],
        })),
      }));
      await appendFile(
        join(runDirectory, 'samples.jsonl'),
        samples.map((sample) => JSON.stringify(sample)).join('\n') + '\n',
      );
      for (const warning of result.warnings) warn(warning);
      log(progressLine(index, steps, result.metrics, (performance.now() - started) / 1000));
      if (config.run.evalEvery > 0 && index % config.run.evalEvery === 0 && index < steps) {
        evaluation = await evaluate(
          components,
          step,
          settings,
          config.run.evalLimit,
          index,
          runDirectory,
          log,
        );
      }
    }
    if (config.run.evalEvery > 0 && completed > 0) {
      evaluation = await evaluate(
        components,
        step,
        settings,
        config.run.evalLimit,
        completed,
        runDirectory,
        log,
      );
    }
    if (components.policy.save !== undefined && progress.lastUpdate !== undefined) {
      await components.policy.save(join(runDirectory, 'checkpoint'));
      log(`checkpoint written to ${join(runDirectory, 'checkpoint')}`);
    }
  } catch (error) {
    throw await failedRun(error, components, progress, runDirectory, log);
  } finally {
    await components.policy.dispose?.();
  }
  const interrupted = options.signal?.aborted === true;
  await writeStatus(runDirectory, { state: interrupted ? 'interrupted' : 'finished', steps: completed });
  return { runDirectory, steps: completed, evaluation, interrupted };
}

interface Progress {
  /** What `step` counts: warm-start steps, then EKIPL steps. */
  phase: 'warm-start step' | 'step';
  /** The step being run (1-based; 0 before the first). */
  step: number;
  /** The last step whose update was applied (undefined: the weights are the initial ones). */
  lastUpdate?: string;
}

/**
 * A run that fails after it started: the weights as of the last completed update are saved (a worker's
 * death leaves the main thread's weights whole), `status.json` marks the run failed with the error, and
 * the error returned names the step. ekipl's own errors keep their kind (printed without a stack);
 * anything else is a bug and is returned as it is.
 */
async function failedRun(
  error: unknown,
  components: RunComponents,
  progress: Progress,
  runDirectory: string,
  log: (line: string) => void,
): Promise<unknown> {
  const where = `${progress.phase} ${progress.step}`;
  let saved = '';
  if (components.policy.save !== undefined && progress.lastUpdate !== undefined) {
    const directory = join(runDirectory, 'checkpoint');
    try {
      await components.policy.save(directory);
      saved = `; the weights after ${progress.lastUpdate} are saved in ${directory}`;
      log(`checkpoint written to ${directory}`);
    } catch (saveError) {
      log(`could not save a checkpoint after the failure: ${String(saveError)}`);
    }
  }
  const message = error instanceof Error ? error.message : String(error);
  await writeStatus(runDirectory, {
    state: 'failed',
    at: where,
    ...(progress.lastUpdate === undefined ? {} : { lastUpdate: progress.lastUpdate }),
    error: message,
  }).catch(() => {});
  if (ConfigError.isInstance(error) || !EkiplError.isInstance(error)) return error;
  return new EkiplError(`${where}: ${message}${saved}`, { cause: error });
}

/** `status.json`: how the run ended (finished, interrupted, failed with its error). */
async function writeStatus(runDirectory: string, status: Record<string, unknown>): Promise<void> {
  await writeAtomically(join(runDirectory, 'status.json'), `${JSON.stringify(status, null, 2)}\n`);
}

/**
 * Supervised steps on a teacher sampler's answers (the warm start): one answer per task, from the
 * teacher named in `warmStart.teacher` or the first auxiliary sampler. Logged as `warmstart/loss`.
 */
async function warmStart(
  components: RunComponents,
  step: EkiplComponents,
  config: RunConfig,
  runDirectory: string,
  random: Random,
  log: (line: string) => void,
  progress: Progress,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { policy } = components;
  const teacher = components.auxiliary.find(
    (source) => source.name === (config.warmStart.teacher ?? components.auxiliary[0]?.name),
  );
  if (policy.supervisedStep === undefined || teacher === undefined) return;
  const batches = batchesOf(
    components.dataset,
    'train',
    config.warmStart.batchSize ?? config.run.batchSize * config.run.groupSize,
  );
  let droppedTotal = 0;
  for (let index = 1; index <= config.warmStart.steps && signal?.aborted !== true; index++) {
    progress.step = index;
    const tasks = await batches.next();
    const requests = tasks.map((task) => ({ prompt: step.renderPrompt(task), task }));
    const answers = await teacher.sampler.sample(requests, 1, {
      seed: random.split('warm-start', index).uint32(),
    });
    // An answer longer than the policy may write is skipped, never learnt as a cut prefix.
    const room = async (prompt: Prompt) =>
      Math.min(config.objective.maxCompletionLength, (await policy.completionRoom?.(prompt)) ?? Infinity);
    let dropped = 0;
    const examples: SupervisedExample[] = [];
    for (const [i, request] of requests.entries()) {
      const limit = await room(request.prompt);
      for (const action of answers.actions[i] ?? []) {
        const tokens = policy.encode(action.text);
        if (tokens.length > limit) dropped++;
        else examples.push({ prompt: request.prompt, tokens });
      }
    }
    droppedTotal += dropped;
    let loss = 'none (every answer skipped)';
    if (examples.length > 0) {
      const result = await policy.supervisedStep(examples, { learningRate: config.warmStart.learningRate });
      progress.lastUpdate = `warm-start step ${index}`;
      loss = result.loss.toFixed(3);
      await appendFile(
        join(runDirectory, 'metrics.jsonl'),
        `${JSON.stringify({ warmStartStep: index, 'warmstart/loss': result.loss, 'warmstart/dropped_overlength': dropped })}\n`,
      );
    }
    if (index % 25 === 0 || index === config.warmStart.steps) {
      log(
        `warm start ${index}/${config.warmStart.steps}  loss ${loss} (imitating ${teacher.name}` +
          `${droppedTotal > 0 ? `; ${droppedTotal} answers longer than maxCompletionLength skipped so far` : ''})`,
      );
    }
  }
}

type RunConfig = Awaited<ReturnType<typeof loadConfig>>['config'];

/** Tasks of a split in batches, starting over when the split runs out. */
function batchesOf(dataset: Dataset, split: string, size: number) {
  let iterator = dataset.tasks(split)[Symbol.asyncIterator]();
  return {
    async next(): Promise<Task[]> {
      const batch: Task[] = [];
      let restarts = 0;
      while (batch.length < size) {
        const item = await iterator.next();
        if (item.done === true) {
          if (++restarts > 1)
            throw new ConfigError([{ path: 'dataset', message: `split "${split}" yields no tasks` }]);
          iterator = dataset.tasks(split)[Symbol.asyncIterator]();
          continue;
        }
        batch.push(item.value);
      }
      return batch;
    },
  };
}

/** Greedy evaluation on the test splits (`evaluatePolicy`), appended to metrics.jsonl and logged. */
async function evaluate(
  components: RunComponents,
  step: EkiplComponents,
  settings: EkiplStepSettings,
  limit: number,
  atStep: number,
  runDirectory: string,
  log: (line: string) => void,
): Promise<Record<string, number>> {
  const results = await evaluatePolicy(components, step.renderPrompt, { limit, sampling: settings.sampling });
  const metrics = evaluationMetrics(results);
  await appendFile(join(runDirectory, 'metrics.jsonl'), `${JSON.stringify({ step: atStep, ...metrics })}\n`);
  log(
    `eval at step ${atStep}: ${Object.entries(metrics)
      .map(([key, value]) => `${key} ${value.toFixed(3)}`)
      .join('  ')}`,
  );
  return metrics;
}

function progressLine(step: number, steps: number, metrics: Record<string, number>, seconds: number): string {
  const value = (key: string) => (metrics[key] ?? 0).toFixed(3);
  const shares = Object.keys(metrics)
    .filter((key) => key.endsWith('/selected_share'))
    .map((key) => `${key.split('/')[1]} ${value(key)}`)
    .join(' ');
  return `step ${step}/${steps}  reward ${value('reward/mean')}  accuracy ${value('reward/accuracy')}  selected [${shares}]  ess ${value('estimator/ess_mean')}  loss ${value('train/loss')}  ${seconds.toFixed(1)} s`;
}

export default defineCommand({
  meta: { name: 'train', description: 'Train the policy with EKIPL steps; writes a run directory' },
  args: {
    config: { type: 'string', alias: 'c', description: 'Config file (YAML or JSON)', required: true },
    out: {
      type: 'string',
      description: 'Run directory (default: <outputDir>/<name>-<time> next to the config)',
    },
    steps: { type: 'string', description: 'Override run.steps' },
    set: {
      type: 'string',
      description: 'Override a config field, path=value (repeatable): --set objective.learningRate=3e-4',
    },
  },
  async run({ args, rawArgs }) {
    const controller = new AbortController();
    const stop = () => {
      process.stderr.write(
        '\ninterrupted: finishing this step, then evaluating and writing a checkpoint (Ctrl-C again to quit at once)\n',
      );
      controller.abort();
      process.once('SIGINT', () => process.exit(130));
    };
    process.once('SIGINT', stop);
    try {
      const steps = args.steps === undefined ? undefined : Number(args.steps);
      if (steps !== undefined && (!Number.isInteger(steps) || steps < 0)) {
        process.stderr.write(
          `error: --steps must be a non-negative integer, got ${JSON.stringify(args.steps)}\n`,
        );
        process.exitCode = 2;
        return;
      }
      const result = await train({
        config: args.config,
        ...(args.out === undefined ? {} : { out: args.out }),
        ...(steps === undefined ? {} : { steps }),
        overrides: setFlags(rawArgs),
        log: (line) => process.stderr.write(`${line}\n`),
        signal: controller.signal,
      });
      process.stdout.write(
        `${result.interrupted ? 'interrupted after' : 'trained'} ${result.steps} steps: ${result.runDirectory}\n`,
      );
      if (result.interrupted) process.exitCode = 130;
    } catch (error) {
      process.exitCode = reportCommandError(error);
    } finally {
      process.removeListener('SIGINT', stop);
    }
  },
});
