import { createHash } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type {
  Prompt,
  PromptTemplate,
  Random,
  ResolvedConfig,
  RunComponents,
  SupervisedExample,
  Task,
  ValidatedConfig,
} from '@ekipl/core';
import { scheduledLearningRate, warmStartBatchSize } from '@ekipl/core';
import { batchesOf } from './batches.js';
import { checkpointSteps, loadNewestCheckpoint, writeCheckpoint } from './checkpoints.js';
import { imageReliance } from './image-reliance.js';
import { keepJsonLines } from './run-files.js';
import { version } from './version.js';

/** Teacher answers the image-reliance figure is measured on at each warm-start report. */
const relianceProbe = 16;

/** Where a warm start keeps its periodic checkpoint (`step-N/`), and how often it writes one. */
export interface WarmStartCheckpoints {
  folder: string;
  every: number;
}

/** What a warm-start checkpoint holds besides the policy's own files (`warm-start-state.json`). */
const warmStartStateFile = 'warm-start-state.json';
interface WarmStartState {
  step: number;
  droppedTotal: number;
}

/**
 * Supervised steps on a teacher sampler's answers (the warm start): one answer per task, from
 * `warmStart.teacher` (its own sampler entry, or an auxiliary sampler's name) or the first auxiliary
 * sampler. Logged as `warmstart/loss` in `metricsFile`. With `checkpoints`, it writes one every
 * `every` steps and first goes on from the newest one there, exactly as if it had never stopped (the
 * teacher's draws and the data derive from the seed and the step). True when every step ran and
 * something was learnt.
 */
export async function runWarmStart(
  components: RunComponents,
  renderPrompt: PromptTemplate,
  config: ValidatedConfig,
  metricsFile: string,
  random: Random,
  log: (line: string) => void,
  progress: { step: number; lastUpdate?: string },
  signal: AbortSignal | undefined,
  checkpoints?: WarmStartCheckpoints,
): Promise<boolean> {
  const { policy } = components;
  const teacher =
    components.teacher ??
    components.auxiliary.find(
      (source) => source.name === (config.warmStart.teacher ?? components.auxiliary[0]?.name),
    );
  if (policy.supervisedStep === undefined || teacher === undefined) return false;
  const batches = batchesOf(components.dataset, 'train', warmStartBatchSize(config));
  let droppedTotal = 0;
  let first = 1;
  const resumed =
    checkpoints === undefined
      ? undefined
      : (await loadNewestCheckpoint<WarmStartState>(checkpoints.folder, policy, warmStartStateFile))?.state;
  if (resumed !== undefined) {
    ({ droppedTotal } = resumed);
    first = resumed.step + 1;
    progress.lastUpdate = `warm-start step ${resumed.step}`;
    for (let skipped = 0; skipped < resumed.step; skipped++) await batches.next();
    // Lines of steps after the checkpoint are redone.
    await keepJsonLines(metricsFile, (record) => ((record['warmStartStep'] as number) ?? 0) <= resumed.step);
    log(
      `warm start: going on from step ${resumed.step} of ${config.warmStart.steps} (${checkpoints!.folder})`,
    );
  }
  for (let index = first; index <= config.warmStart.steps && signal?.aborted !== true; index++) {
    progress.step = index;
    const tasks = await batches.next();
    const requests = tasks.map((task) => ({ prompt: renderPrompt(task), task }));
    const answers = await teacher.sampler.sample(requests, 1, {
      seed: random.split('warm-start', index).uint32(),
    });
    // An answer longer than the policy may write is skipped, never learnt as a cut prefix.
    const room = async (prompt: Prompt) =>
      Math.min(config.objective.maxCompletionLength, (await policy.completionRoom?.(prompt)) ?? Infinity);
    let dropped = 0;
    const examples: SupervisedExample[] = [];
    const learnt: { task: Task; text: string }[] = [];
    for (const [i, request] of requests.entries()) {
      const limit = await room(request.prompt);
      for (const action of answers.actions[i] ?? []) {
        const tokens = policy.encode(action.text);
        if (tokens.length > limit) dropped++;
        else {
          examples.push({ prompt: request.prompt, tokens });
          learnt.push({ task: request.task, text: action.text });
        }
      }
    }
    droppedTotal += dropped;
    const report = index % 25 === 0 || index === config.warmStart.steps;
    let loss = 'none (every answer skipped)';
    let reliance = '';
    if (examples.length > 0) {
      const { steps, learningRate: base, warmupSteps, decay, minLearningRateRatio } = config.warmStart;
      const learningRate = scheduledLearningRate(index - 1, base, {
        warmupSteps,
        totalSteps: decay === 'cosine' ? steps : undefined,
        minLearningRateRatio,
      });
      const result = await policy.supervisedStep(examples, { learningRate });
      progress.lastUpdate = `warm-start step ${index}`;
      loss = result.loss.toFixed(3);
      const metrics: Record<string, number> = {
        warmStartStep: index,
        'warmstart/loss': result.loss,
        'warmstart/learning_rate': learningRate,
        'warmstart/dropped_overlength': dropped,
      };
      if (report) {
        // Does the policy read its images yet? The teacher's answers scored with and without them.
        const shift = await imageReliance(
          policy,
          renderPrompt,
          learnt.slice(0, relianceProbe),
          config.objective.temperature,
        );
        if (shift.answers > 0) {
          metrics['warmstart/image_reliance'] = shift.meanAbsoluteShift;
          reliance = `, image reliance ${shift.meanAbsoluteShift.toFixed(3)} nats`;
        }
      }
      await appendFile(metricsFile, `${JSON.stringify(metrics)}\n`);
    }
    if (report) {
      log(
        `warm start ${index}/${config.warmStart.steps}  loss ${loss}${reliance} (imitating ${teacher.name}` +
          `${droppedTotal > 0 ? `; ${droppedTotal} answers longer than maxCompletionLength skipped so far` : ''})`,
      );
    }
    if (
      checkpoints !== undefined &&
      checkpoints.every > 0 &&
      index % checkpoints.every === 0 &&
      index < config.warmStart.steps
    ) {
      const state: WarmStartState = { step: index, droppedTotal };
      await writeCheckpoint(checkpoints.folder, index, policy, warmStartStateFile, state, 1);
    }
  }
  return signal?.aborted !== true && progress.lastUpdate !== undefined;
}

/**
 * What a warm start's result depends on, hashed: the warm-start section, the policy (model, size,
 * engine options, starting checkpoint), the dataset, the prompt, the teacher sampler, the run seed (the
 * initial weights and the teacher's draws derive from it), the batch size, the length limit that drops
 * answers, and ekipl's version. Two runs with the same key start from byte-identical weights.
 */
export function warmStartKey(resolved: ResolvedConfig): string {
  const { config } = resolved;
  const teacherName = config.warmStart.teacher ?? resolved.plugins.auxiliary[0]?.name;
  const teacher =
    resolved.plugins.teacher ?? resolved.plugins.auxiliary.find((entry) => entry.name === teacherName);
  const material = {
    ekipl: version,
    warmStart: config.warmStart,
    batchSize: warmStartBatchSize(config),
    seed: config.run.seed,
    policy: { use: config.policy.use, options: resolved.plugins.policy.options },
    dataset: { use: config.dataset.use, options: resolved.plugins.dataset.options },
    prompt: config.prompt,
    teacher:
      teacher === undefined ? null : { name: teacher.name, use: teacher.use, options: teacher.options },
    maxCompletionLength: config.objective.maxCompletionLength,
  };
  return createHash('sha256').update(JSON.stringify(material)).digest('hex').slice(0, 16);
}

/** The folder of a config's cached warm starts: `<outputDir>/warm-starts/` next to the config. */
export function warmStartCacheFolder(resolved: ResolvedConfig): string {
  return resolve(resolved.configDirectory, resolved.config.run.outputDir, 'warm-starts');
}

/** The cached warm start for this key, when one was finished: its folder (with `checkpoint/`). */
export async function findWarmStart(folder: string, key: string): Promise<string | undefined> {
  const directory = join(folder, key);
  const finished = await stat(join(directory, 'checkpoint', 'state.json')).then(
    () => true,
    () => false,
  );
  return finished ? directory : undefined;
}

/**
 * Runs the warm start and stores it under `folder/key` (written to a temporary folder and renamed, so
 * a cached warm start is always whole): `checkpoint/` and its `metrics.jsonl`. The temporary folder
 * holds its periodic checkpoint (`checkpoints/`, handed to `train`); one left by a process that died is
 * taken over, so a killed warm start goes on from its checkpoint. Returns the folder, or undefined when
 * nothing was trained (stopped early, or no teacher).
 */
export async function storeWarmStart(
  folder: string,
  key: string,
  components: RunComponents,
  train: (metricsFile: string, checkpointFolder: string) => Promise<boolean>,
): Promise<string | undefined> {
  const partial = join(folder, `.${key}.${process.pid}.partial`);
  await rm(partial, { recursive: true, force: true });
  await adoptAbandoned(folder, key, partial);
  await mkdir(join(partial, 'checkpoints'), { recursive: true });
  try {
    const complete = await train(join(partial, 'metrics.jsonl'), join(partial, 'checkpoints'));
    if (!complete || components.policy.save === undefined) {
      await rm(partial, { recursive: true, force: true });
      return undefined;
    }
    await components.policy.save(join(partial, 'checkpoint'));
    await rm(join(partial, 'checkpoints'), { recursive: true, force: true });
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
  const directory = join(folder, key);
  await rm(directory, { recursive: true, force: true });
  await rename(partial, directory);
  return directory;
}

/**
 * The temporary folders of this key's warm starts whose process is gone: the one that got furthest (by
 * its checkpoint's step) becomes `partial`, the others are removed. A folder of a live process (another
 * run training the same warm start now) is left alone.
 */
async function adoptAbandoned(folder: string, key: string, partial: string): Promise<void> {
  const pattern = new RegExp(`^\\.${key}\\.(\\d+)\\.partial$`);
  const abandoned: { directory: string; step: number }[] = [];
  for (const name of await readdir(folder).catch(() => [] as string[])) {
    const pid = Number(pattern.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid || processAlive(pid)) continue;
    const directory = join(folder, name);
    abandoned.push({
      directory,
      step: Math.max(0, ...(await checkpointSteps(join(directory, 'checkpoints')))),
    });
  }
  abandoned.sort((a, b) => b.step - a.step);
  const [furthest, ...rest] = abandoned;
  if (furthest !== undefined && furthest.step > 0) {
    // Another process starting the same warm start at this moment may take it first: then start afresh.
    await rename(furthest.directory, partial).catch(() => {});
  } else if (furthest !== undefined) rest.push(furthest);
  for (const { directory } of rest) await rm(directory, { recursive: true, force: true });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Appends a cached warm start's metric lines to a run's metrics.jsonl, so the run shows its warm start. */
export async function copyWarmStartMetrics(cached: string, runDirectory: string): Promise<void> {
  const text = await readFile(join(cached, 'metrics.jsonl'), 'utf8').catch(() => '');
  if (text !== '') await appendFile(join(runDirectory, 'metrics.jsonl'), text);
}
