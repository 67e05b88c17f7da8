import { existsSync } from 'node:fs';
import { appendFile, mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type BuiltinPlugin,
  ConfigError,
  costEstimate,
  createComponents,
  createPromptTemplate,
  type DelegatingPolicy,
  disposeComponents,
  type EkiplComponents,
  EkiplError,
  type EkiplStepSettings,
  ekiplStep,
  mean,
  type PolicyBackend,
  type PromptTemplate,
  Random,
  type ResolvedConfig,
  type RunComponents,
  sampleStd,
  stepSettings,
  stringifyConfig,
} from '@ekipl/core';
import { defineCommand } from 'citty';
import { batchesOf } from '../batches.js';
import { loadNewestCheckpoint, writeCheckpoint } from '../checkpoints.js';
import { evaluatePolicy, evaluationMetrics } from '../evaluation.js';
import { stopOnInterrupt } from '../interrupt.js';
import { loadCommandConfig } from '../load-command-config.js';
import { progressFor, progressLine, type StepProgress } from '../progress.js';
import { reportCommandError } from '../report-error.js';
import { configChanges, evaluationLines, keepJsonLines, readJsonLines, runStatus } from '../run-files.js';
import { writeSampleImages } from '../sample-images.js';
import { setFlags } from '../set-flags.js';
import { version } from '../version.js';
import {
  copyWarmStartMetrics,
  findWarmStart,
  runWarmStart,
  storeWarmStart,
  warmStartCacheFolder,
  warmStartKey,
} from '../warm-start.js';
import { writeAtomically } from '../write-atomically.js';
import { writeReport } from './report.js';

export interface TrainOptions {
  config: string;
  /** Run directory; default `<outputDir>/<name>-<timestamp>` next to the config. */
  out?: string;
  /**
   * Overrides `run.steps`, exactly as `run.steps=N` among `overrides`: config.yaml records it, schedules
   * that default to the run's length (CHORD's decay) follow it, and a resume must give the same.
   */
  steps?: number;
  /** `path=value` overrides of the config (`--set`), validated like the file. */
  overrides?: readonly string[];
  /**
   * Continue the run in `out` from its newest checkpoint under `checkpoints/`, exactly as if it had
   * never stopped: metrics.jsonl and samples.jsonl are cut back to that step. Without one, it starts over.
   * A config that resolves to another than the run's config.yaml is a ConfigError naming each change.
   */
  resume?: boolean;
  builtins?: readonly BuiltinPlugin[];
  log?: (line: string) => void;
  /** Each step's progress; default: a line through `log` (`progressLine`). */
  onStep?: (progress: StepProgress) => void;
  /**
   * Aborting lets the current step finish whole (its external calls included), writes a checkpoint
   * there that `resume` continues from, evaluates and returns.
   */
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
 * per evaluation), `samples.jsonl` (every step's groups: the selected texts with sources, rewards,
 * advantages and weights, the whole candidate pool with reward parts and a selected flag, and the
 * prompt image under `images/` for the newest steps; model text as data, escape it before showing it), `warnings.log`, `checkpoint/` (the
 * policy's weights and optimiser state, written atomically after the last step, on Ctrl-C, or after a
 * failure with the last completed update's weights), `status.json` (`finished`, `interrupted`, or
 * `failed` with the step and the error) and `run.json` (ekipl's version, the `--set` overrides, the
 * policy's facts such as the resolved `workers`).
 * Plugins are created, and API keys checked, before any training work.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const log = options.log ?? (() => {});
  const overrides = [
    ...(options.overrides ?? []),
    ...(options.steps === undefined ? [] : [`run.steps=${options.steps}`]),
  ];
  const resolved = await loadCommandConfig({ ...options, overrides });
  const { config } = resolved;
  const steps = config.run.steps;
  const runDirectory = resolve(
    options.out ??
      resolve(
        resolved.configDirectory,
        config.run.outputDir,
        `${config.run.name}-${new Date().toISOString().replace(/[:.]/g, '-')}`,
      ),
  );
  // A new run into a folder that holds one would append its lines to the old run's files.
  if (options.resume !== true && existsSync(join(runDirectory, 'config.yaml'))) {
    throw new ConfigError([
      {
        path: '--out',
        message: `${runDirectory} already holds a run (config.yaml): give --resume to go on with it, or another --out (or remove the folder to start it over)`,
      },
    ]);
  }
  // A resumed run goes on with the config that made it, or its weights are no uninterrupted run's.
  if (options.resume === true) {
    // A mistyped --out would otherwise start a new run where the user meant to continue one.
    if (!existsSync(join(runDirectory, 'config.yaml'))) {
      throw new ConfigError([
        {
          path: '--out',
          message: `${runDirectory} holds no run (no config.yaml): --resume continues a run that ekipl train started there; without --resume, a new run starts`,
        },
      ]);
    }
    const changes = await configChanges(runDirectory, config);
    if (changes.length > 0) {
      throw new ConfigError([
        ...changes,
        {
          path: '',
          message: `--resume continues ${runDirectory} only with the config, --set and --steps flags that started it; to train with these, give another --out`,
        },
      ]);
    }
    // A finished run has nothing left to do; starting it over would throw its files away.
    const status = await runStatus(runDirectory);
    if (status?.state === 'finished') {
      log(`${runDirectory} finished all ${status.steps} steps: nothing to resume`);
      const { step: _step, ...evaluation } = (await evaluationLines(runDirectory)).at(-1) ?? {};
      return { runDirectory, steps: status.steps, evaluation, interrupted: false };
    }
  }
  const random = Random.fromSeed(config.run.seed);
  // The run directory exists only once every plugin was created: bad input leaves none behind.
  // Warnings given before it exists are written to it then.
  const early: string[] = [];
  let directoryReady = false;
  const warn = (message: string) => {
    log(`warning: ${message}`);
    if (directoryReady) void appendFile(join(runDirectory, 'warnings.log'), `${message}\n`);
    else early.push(message);
  };
  const components = await createComponents(resolved, random, warn);
  await mkdir(runDirectory, { recursive: true });
  directoryReady = true;
  if (early.length > 0) await appendFile(join(runDirectory, 'warnings.log'), `${early.join('\n')}\n`);
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
        overrides,
        policy: components.policy.info ?? {},
        started: new Date().toISOString(),
      },
      null,
      2,
    )}\n`,
  );
  const step: EkiplComponents = { ...components, renderPrompt: createPromptTemplate(config.prompt) };
  const batches = batchesOf(components.dataset, 'train', config.run.batchSize);
  const resumed =
    options.resume === true
      ? await resumeFrom(runDirectory, components, config.run.evalEvery, log)
      : undefined;
  let costTotal = resumed?.costTotal ?? 0;
  let evaluation: Record<string, number> = {};
  let completed = 0;
  let lastEvaluated: number | undefined;
  // Where the run is, so that a failure can say where it happened and what the weights hold.
  const progress: Progress = { phase: 'warm-start step', step: 0 };
  if (resumed !== undefined) {
    // The checkpoint holds the warm start and every update to its step; the data picks up where it was.
    progress.lastUpdate = `step ${resumed.step}`;
    completed = resumed.step;
    for (let skipped = 0; skipped < resumed.step; skipped++) await batches.next();
  }
  log(`run directory ${runDirectory}`);
  for (const line of costEstimate(components, config, Math.max(0, steps - completed))) log(line);
  try {
    if (resumed === undefined && config.warmStart.steps > 0) {
      await warmStartOnce(
        resolved,
        components,
        step.renderPrompt,
        runDirectory,
        random,
        log,
        progress,
        options.signal,
      );
    }
    // Every run has a before: the evaluation at step 0, after any warm start.
    if (resumed === undefined && config.run.evalEvery > 0) {
      evaluation = await evaluate(components, step, settings, config.run.evalLimit, 0, runDirectory, log);
    }
    // RL starts with fresh optimiser moments: the warm start's, or a loaded checkpoint's, were
    // measured on supervised gradients about 10x smaller, and Adam made the first updates several times
    // larger than the rate says.
    if (resumed === undefined && steps > 0 && config.objective.freshOptimizer) {
      if (components.policy.resetOptimizer !== undefined) await components.policy.resetOptimizer();
      else if (components.policy.capabilities.train) {
        log(`note: policy "${components.policy.name}" cannot reset its optimiser; RL keeps its moments`);
      }
    }
    progress.phase = 'step';
    const stopRequested = () => options.signal?.aborted === true;
    for (let index = (resumed?.step ?? 0) + 1; index <= steps && !stopRequested(); index++) {
      progress.step = index;
      const started = performance.now();
      const tasks = await batches.next();
      const rollout = rolloutOf(components.policy);
      rollout?.takeSyncSeconds(); // a sync for an evaluation is not this step's
      // Not given the signal: a stop lets the step finish whole, external calls included, so that the
      // checkpoint written at it is the uninterrupted run's (a second Ctrl-C quits at once).
      const result = await ekiplStep(step, settings, tasks, random.split('step', index), { step: index });
      if (rollout !== undefined) result.metrics['time/sync_s'] = rollout.takeSyncSeconds();
      costTotal += result.metrics['cost/usd'] ?? 0;
      completed = index;
      progress.lastUpdate = `step ${index}`;
      await appendFile(
        join(runDirectory, 'metrics.jsonl'),
        `${JSON.stringify({ step: index, ...result.metrics, 'cost/usd_total': costTotal })}\n`,
      );
      const images = await writeSampleImages(
        runDirectory,
        index,
        result.groups.map((group) => group.task),
      );
      const samples = result.groups.map((group, g) => {
        const chosen = new Set(group.selected.map((action) => action.index));
        return {
          step: index,
          task: group.task.id,
          question: group.task.question,
          answer: group.task.answer,
          ...(images[g] === undefined ? {} : { image: images[g] }),
          selected: group.selected.map((action, i) => ({
            source: action.source,
            text: action.text,
            reward: action.reward,
            parts: action.rewardParts,
            advantage: action.advantage,
            weight: group.weights[i],
          })),
          // The whole pool, each with its reward parts and whether the selector kept it.
          candidates: group.candidates.map((action) => ({
            source: action.source,
            text: action.text,
            reward: action.reward,
            parts: action.rewardParts,
            selected: chosen.has(action.index),
          })),
        };
      });
      await appendFile(
        join(runDirectory, 'samples.jsonl'),
        samples.map((sample) => JSON.stringify(sample)).join('\n') + '\n',
      );
      for (const warning of result.warnings) warn(warning);
      const stepProgress = {
        step: index,
        steps,
        metrics: result.metrics,
        seconds: (performance.now() - started) / 1000,
      };
      if (options.onStep === undefined) log(progressLine(stepProgress));
      else options.onStep(stepProgress);
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
        lastEvaluated = index;
      }
      const stopped = stopRequested();
      const periodic = config.run.checkpointEvery > 0 && index % config.run.checkpointEvery === 0;
      // A stopped run checkpoints where it stopped, so that --resume goes on from there.
      if ((periodic || stopped) && index < steps) {
        // Every random stream of a step derives from the run seed and the step number, so weights,
        // optimiser and these numbers are all a resume needs.
        await writeCheckpoint(
          join(runDirectory, 'checkpoints'),
          index,
          components.policy,
          runStateFile,
          { step: index, costTotal, auxiliary: auxiliaryStates(components) } satisfies RunState,
          config.run.keepCheckpoints,
        );
      }
    }
    if (
      config.run.evalEvery > 0 &&
      completed > 0 &&
      completed > (resumed?.step ?? 0) &&
      completed !== lastEvaluated
    ) {
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
    await disposeComponents(components);
  }
  const interrupted = options.signal?.aborted === true && completed < steps;
  await writeStatus(runDirectory, { state: interrupted ? 'interrupted' : 'finished', steps: completed });
  return { runDirectory, steps: completed, evaluation, interrupted };
}

/** What a periodic checkpoint holds besides the policy's own files (`run-state.json`). */
const runStateFile = 'run-state.json';
interface RunState {
  /** The last step whose update the weights hold. */
  step: number;
  costTotal: number;
  /** Each auxiliary source's `saveState()`, by source name (a provider's spend against its budget). */
  auxiliary?: Record<string, Record<string, unknown>>;
}

/** The auxiliary sources' carried state (`AuxiliarySampler.saveState`), by source name. */
function auxiliaryStates(components: RunComponents): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    components.auxiliary.flatMap(({ name, sampler }) =>
      sampler.saveState === undefined ? [] : [[name, sampler.saveState()]],
    ),
  );
}

/** The run's files written a line per step or evaluation, which a resume cuts back to its checkpoint. */
const runLogs = ['metrics.jsonl', 'samples.jsonl', 'eval-answers.jsonl'];

/**
 * Loads the newest checkpoint of a run into the policy and cuts its line files (`runLogs`) back to its
 * step; undefined (and a fresh start, without them) when the run has none yet. An evaluation at that
 * step that the schedule (`evalEvery`) did not ask for, made because the run was stopped there, goes too:
 * the resumed run's files are the uninterrupted run's.
 */
async function resumeFrom(
  runDirectory: string,
  components: RunComponents,
  evalEvery: number,
  log: (line: string) => void,
): Promise<RunState | undefined> {
  const folder = join(runDirectory, 'checkpoints');
  const newest = await loadNewestCheckpoint<RunState>(folder, components.policy, runStateFile);
  if (newest === undefined) {
    log(`no checkpoint under ${folder}: starting the run over`);
    await Promise.all(runLogs.map((name) => rm(join(runDirectory, name), { force: true })));
    return undefined;
  }
  const { directory, state } = newest;
  for (const { name, sampler } of components.auxiliary) {
    const saved = state.auxiliary?.[name];
    if (saved !== undefined) sampler.loadState?.(saved);
  }
  // Lines written after the checkpoint are redone: warm-start lines and lines up to its step stay.
  const scheduled = evalEvery > 0 && state.step % evalEvery === 0;
  const keepRecord = (name: string, line: Record<string, unknown>) => {
    const record = line as { step?: number; warmStartStep?: number };
    if (record.warmStartStep !== undefined) return true;
    if (record.step === undefined || record.step > state.step) return false;
    const isEvaluation =
      name === 'eval-answers.jsonl' || Object.keys(record).some((key) => key.startsWith('eval/'));
    return record.step < state.step || scheduled || !isEvaluation;
  };
  for (const name of runLogs) {
    await keepJsonLines(join(runDirectory, name), (record) => keepRecord(name, record));
  }
  log(`resuming from ${directory} (step ${state.step})`);
  return state;
}

/**
 * The warm start, done once per setting: a cached one with the same key (`warmStartKey`) is loaded
 * instead of redone (`run.reuseWarmStart`), so every arm of a comparison starts from byte-identical
 * weights; a new one is stored for the next run. Its metric lines are copied into the run's.
 */
async function warmStartOnce(
  resolved: ResolvedConfig,
  components: RunComponents,
  renderPrompt: PromptTemplate,
  runDirectory: string,
  random: Random,
  log: (line: string) => void,
  progress: Progress,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { config } = resolved;
  const metricsFile = join(runDirectory, 'metrics.jsonl');
  const train = (file: string, checkpointFolder?: string) =>
    runWarmStart(
      components,
      renderPrompt,
      config,
      file,
      random,
      log,
      progress,
      signal,
      checkpointFolder === undefined
        ? undefined
        : { folder: checkpointFolder, every: config.run.checkpointEvery },
    );
  if (!config.run.reuseWarmStart || components.policy.load === undefined) {
    await train(metricsFile);
    return;
  }
  const folder = warmStartCacheFolder(resolved);
  const key = warmStartKey(resolved);
  const cached = await findWarmStart(folder, key);
  if (cached !== undefined) {
    await components.policy.load(join(cached, 'checkpoint'));
    progress.lastUpdate = `warm-start step ${config.warmStart.steps}`;
    log(`warm start ${key}: reusing ${cached}`);
  } else {
    const stored = await storeWarmStart(folder, key, components, train);
    if (stored === undefined) return;
    log(`warm start ${key}: stored in ${stored}`);
    await copyWarmStartMetrics(stored, runDirectory);
    return;
  }
  await copyWarmStartMetrics(cached, runDirectory);
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
  const results = await evaluatePolicy(components, step.renderPrompt, {
    limit,
    sampling: settings.sampling,
    answers: true,
  });
  const metrics = evaluationMetrics(results);
  await appendFile(join(runDirectory, 'metrics.jsonl'), `${JSON.stringify({ step: atStep, ...metrics })}\n`);
  // Each task's answer, so that a change in accuracy can be read task by task (and its noise measured).
  await appendFile(
    join(runDirectory, 'eval-answers.jsonl'),
    results
      .map(({ split, answers = [] }) =>
        JSON.stringify({
          step: atStep,
          split,
          answers: answers.map(({ id, text, rewards }) => ({ id, text, rewards })),
        }),
      )
      .map((line) => `${line}\n`)
      .join(''),
  );
  log(
    `eval at step ${atStep}: ${Object.entries(metrics)
      .map(([key, value]) => `${key} ${value.toFixed(3)}`)
      .join('  ')}`,
  );
  return metrics;
}

export default defineCommand({
  meta: { name: 'train', description: 'Train the policy with EKIPL steps; writes a run directory' },
  args: {
    config: { type: 'string', alias: 'c', description: 'Config file (YAML or JSON)', required: true },
    out: {
      type: 'string',
      description: 'Run directory (default: <outputDir>/<name>-<time> next to the config)',
    },
    steps: {
      type: 'string',
      description: 'Override run.steps, as --set run.steps=N (recorded in config.yaml)',
    },
    set: {
      type: 'string',
      description: 'Override a config field, path=value (repeatable): --set objective.learningRate=3e-4',
    },
    resume: { type: 'boolean', description: 'Continue the run in --out from its newest checkpoint' },
    report: { type: 'boolean', description: "Write the run's report.html into its directory at the end" },
  },
  async run({ args, rawArgs }) {
    const interrupt = stopOnInterrupt(
      'interrupted: finishing this step, then writing a checkpoint and evaluating',
    );
    // A progress bar on a terminal, plain lines in CI and pipes.
    const view = progressFor(process.stderr);
    try {
      if (args.resume === true && args.out === undefined) {
        process.stderr.write('error: --resume continues a run directory: give it with --out DIR\n');
        process.exitCode = 2;
        return;
      }
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
        resume: args.resume === true,
        log: (line) => view.log(line),
        onStep: (progress) => view.step(progress),
        signal: interrupt.signal,
      });
      view.stop();
      process.stdout.write(
        `${result.interrupted ? 'interrupted after' : 'trained'} ${result.steps} steps: ${result.runDirectory}\n`,
      );
      for (const line of await evaluationChange(result.runDirectory)) process.stdout.write(`${line}\n`);
      if (args.report === true) {
        const { file, charts } = await writeReport({
          paths: [result.runDirectory],
          out: join(result.runDirectory, 'report.html'),
        });
        process.stdout.write(`report: ${file} (${charts} charts)\n`);
      }
      if (result.interrupted) {
        process.stderr.write(
          `to go on from step ${result.steps}: the same command with --out ${result.runDirectory} --resume\n`,
        );
        process.exitCode = 130;
      }
    } catch (error) {
      view.stop(); // the bar gives the terminal back before the error is printed
      process.exitCode = reportCommandError(error);
    } finally {
      view.stop();
      interrupt.release();
    }
  },
});

/**
 * Held-out accuracy and format before RL (the step-0 evaluation) and after the last step, one line per
 * split: `id accuracy 0.300 -> 0.420, format 0.860 -> 0.950 (steps 0 -> 100)`, and, where
 * eval-answers.jsonl holds both evaluations, the change with its standard error over the tasks answered
 * both times, and whether it exceeds two of them: `; change +0.120 +- 0.041 over 200 tasks, beyond noise`.
 */
export async function evaluationChange(runDirectory: string): Promise<string[]> {
  const evaluations = await evaluationLines(runDirectory);
  const first = evaluations[0];
  const last = evaluations.at(-1);
  if (first === undefined || last === undefined || first === last) return [];
  const splits = [
    ...new Set(Object.keys(last).flatMap((key) => /^eval\/([^/]+)\/accuracy$/.exec(key)?.[1] ?? [])),
  ];
  const change = (key: string) =>
    first[key] === undefined || last[key] === undefined
      ? undefined
      : `${first[key].toFixed(3)} -> ${last[key].toFixed(3)}`;
  const answerLines = (await readJsonLines(join(runDirectory, 'eval-answers.jsonl'))) as {
    step: number;
    split: string;
    answers: { id: string; rewards: Record<string, number> }[];
  }[];
  const accuracies = (split: string, step: number | undefined) =>
    new Map(
      (answerLines.findLast((line) => line.split === split && line.step === step)?.answers ?? []).flatMap(
        ({ id, rewards }) => (rewards['accuracy'] === undefined ? [] : [[id, rewards['accuracy']] as const]),
      ),
    );
  const pairedChange = (split: string) => {
    const before = accuracies(split, first['step']);
    const after = accuracies(split, last['step']);
    const differences = [...before].flatMap(([id, value]) => (after.has(id) ? [after.get(id)! - value] : []));
    if (differences.length < 2) return '';
    const meanChange = mean(differences);
    const standardError = sampleStd(differences, meanChange) / Math.sqrt(differences.length);
    const sign = meanChange >= 0 ? '+' : '-';
    // Two standard errors: the line a reader needs to tell a gain from the noise of one run.
    const verdict = Math.abs(meanChange) > 2 * standardError ? 'beyond noise' : 'within noise';
    return `; change ${sign}${Math.abs(meanChange).toFixed(3)} +- ${standardError.toFixed(3)} over ${differences.length} tasks, ${verdict}`;
  };
  return splits.map((split) =>
    [
      `${split} accuracy ${change(`eval/${split}/accuracy`)}`,
      ...(change(`eval/${split}/format`) === undefined ? [] : [`format ${change(`eval/${split}/format`)}`]),
    ]
      .join(', ')
      .concat(` (steps ${first['step']} -> ${last['step']}${pairedChange(split)})`),
  );
}

/** The rollout wrapper, when a `rollout:` backend generates the policy's samples. */
function rolloutOf(policy: PolicyBackend): DelegatingPolicy | undefined {
  return 'takeSyncSeconds' in policy ? (policy as DelegatingPolicy) : undefined;
}
