import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type BuiltinPlugin,
  ConfigError,
  type ConfigIssue,
  mean,
  type ResolvedConfig,
  sampleStd,
} from '@ekipl/core';
import { defineCommand } from 'citty';
import { isMap, isNode, isScalar, LineCounter, parseDocument } from 'yaml';
import { binPath } from '../bin-path.js';
import { builtinPlugins } from '../builtin-plugins.js';
import { stopOnInterrupt } from '../interrupt.js';
import { loadCommandConfig } from '../load-command-config.js';
import { reportCommandError } from '../report-error.js';
import { configChanges, readJsonLines, runBatchSize, runStatus } from '../run-files.js';
import { repeatedFlag, setFlags } from '../set-flags.js';
import { writeReport } from './report.js';

export interface AblateOptions {
  config: string;
  /** `path=v1,v2,...` per grid axis; every combination is an arm. */
  grid: readonly string[];
  /**
   * Named arms (`ekipl ablate --arms FILE`): each a list of `path=value` overrides. Crossed with the
   * grid when both are given; without it, the grid's arms alone.
   */
  arms?: Readonly<Record<string, readonly string[]>>;
  seeds: number;
  /** The first seed (default 1): `--first-seed 4 --seeds 3` repeats an ablation on seeds 4-6. */
  firstSeed?: number;
  /** Child runs at once. */
  jobs: number;
  out?: string;
  /** `--set` overrides applied to every run. */
  overrides?: readonly string[];
  builtins?: readonly BuiltinPlugin[];
  log?: (line: string) => void;
  /**
   * Stops the ablation: no run starts, and each run in progress is sent SIGINT, so it finishes its step
   * and checkpoints there (`ekipl train`'s Ctrl-C); the same call again goes on from those checkpoints.
   */
  signal?: AbortSignal;
}

export interface AblationRun {
  arm: string;
  /** The arm's overrides (`path=value`). */
  settings: string[];
  seed: number;
  directory: string;
  /** `interrupted`: stopped at a checkpoint (`signal`, or a SIGINT of its own), resumed by the next call. */
  state: 'finished' | 'skipped' | 'failed' | 'interrupted';
  /** The child's last log lines, for a failed run. */
  logTail?: string;
}

export interface AblateResult {
  directory: string;
  runs: AblationRun[];
  /** summary.md's table; empty when the ablation was stopped (`signal`), which writes no summary. */
  summary: string;
  /** Stopped by `signal` before every run finished. */
  interrupted: boolean;
}

/** A run whose evaluations count in the summary: finished now or before. */
const measured = (run: AblationRun) => run.state === 'finished' || run.state === 'skipped';

const keepConfigValue = '@config';

/**
 * The arms: the cartesian product of the grid axes, each a list of `path=value` overrides. The value
 * `@config` keeps the config's own setting, so the method as configured can be one arm beside its
 * ablations: `--grid auxiliary=@config,none` is EKIPL against plain GRPO.
 */
export function gridArms(grid: readonly string[]): string[][] {
  let arms: string[][] = [[]];
  for (const axis of grid) {
    const equals = axis.indexOf('=');
    if (equals <= 0 || equals === axis.length - 1) {
      throw new ConfigError([{ path: '--grid', message: `${axis}: expected path=value1,value2,...` }]);
    }
    const path = axis.slice(0, equals);
    const values = axis.slice(equals + 1).split(',');
    arms = arms.flatMap((arm) =>
      values.map((value) => (value === keepConfigValue ? arm : [...arm, `${path}=${value}`])),
    );
  }
  return arms;
}

/** A folder name for an arm: its settings with characters a path cannot hold replaced. */
function armName(settings: readonly string[]): string {
  return settings.length === 0 ? 'base' : settings.join(',').replace(/[^\w.=,+-]/g, '_');
}

interface Arm {
  name: string;
  settings: string[];
}

/** Named arms crossed with the grid's; a named arm keeps its name (plus the grid's settings, if any). */
export function ablationArms(
  grid: readonly string[],
  named?: Readonly<Record<string, readonly string[]>>,
): Arm[] {
  const gridSettings = gridArms(grid);
  if (named === undefined) return gridSettings.map((settings) => ({ name: armName(settings), settings }));
  return Object.entries(named).flatMap(([name, settings]) =>
    gridSettings.map((extra) => ({
      name: extra.length === 0 ? name : `${name},${armName(extra)}`,
      settings: [...settings, ...extra],
    })),
  );
}

/**
 * Reads an arms file: a YAML or JSON mapping of arm name to a list of `path=value` overrides, e.g.
 * `grpo: [auxiliary=none]`, `snis: [estimator.use=snis]`, `ekipl: []`.
 */
export async function readArmsFile(file: string): Promise<Record<string, string[]>> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new ConfigError([
      { file, path: '', message: `cannot read the arms file (${error.code ?? error.message})` },
    ]);
  });
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines });
  const at = (node: unknown) => {
    const offset = isNode(node) ? node.range?.[0] : undefined;
    return offset === undefined
      ? {}
      : { line: lines.linePos(offset).line, column: lines.linePos(offset).col };
  };
  if (document.errors.length > 0) {
    const error = document.errors[0]!;
    throw new ConfigError([
      { file, path: '', message: error.message.split('\n')[0]!, ...at({ range: error.pos }) },
    ]);
  }
  if (!isMap(document.contents)) {
    throw new ConfigError([
      { file, path: '', message: 'expected a mapping of arm name to a list of path=value' },
    ]);
  }
  const problems: ConfigIssue[] = [];
  const arms: Record<string, string[]> = {};
  for (const pair of document.contents.items) {
    const name = String(isScalar(pair.key) ? pair.key.value : pair.key);
    const settings: unknown = isNode(pair.value) ? pair.value.toJSON() : pair.value;
    if (!/^[\w.=,+-]+$/.test(name)) {
      problems.push({
        file,
        path: name,
        message: 'an arm name may hold letters, digits and _ . = , + - only',
        ...at(pair.key),
      });
    } else if (
      !Array.isArray(settings) ||
      settings.some((setting) => typeof setting !== 'string' || setting.indexOf('=') <= 0)
    ) {
      problems.push({
        file,
        path: name,
        message: 'expected a list of path=value strings',
        ...at(pair.value),
      });
    } else arms[name] = settings as string[];
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return arms;
}

/**
 * `ekipl ablate -c CONFIG --grid path=v1,v2 [--grid ...] --seeds N`: every arm x seed as a child
 * `ekipl train` (`jobs` at once). Every arm's config is validated before any run starts, so a grid path
 * that does not exist stops it at once. Finished runs are skipped and unfinished ones resumed when it is
 * run again (a run whose config.yaml differs from its arm's config now is a ConfigError, before any run
 * starts); a run that crashes is reported with its log's last lines and the others go on. Writes
 * `summary.md` and `summary.csv`: every evaluation metric per arm, mean +- std over seeds, at the last
 * evaluation and at each run's best; with a GRPO arm in the grid (`auxiliary=none`), the prompts each
 * arm saw before an evaluation first matched GRPO's final accuracy, per split; and `report.html`, the
 * arms overlaid as mean +- std (`ekipl report`).
 */
export async function ablate(options: AblateOptions): Promise<AblateResult> {
  const log = options.log ?? (() => {});
  const builtins = options.builtins ?? builtinPlugins;
  const base = options.overrides ?? [];
  const arms = ablationArms(options.grid, options.arms);
  const firstSeed = options.firstSeed ?? 1;
  // Every arm must be a valid config before anything runs.
  let resolvedBase: ResolvedConfig | undefined;
  for (const { settings } of arms) {
    const resolved = await loadCommandConfig({
      config: options.config,
      builtins,
      overrides: [...base, ...settings],
    });
    resolvedBase ??= resolved;
  }
  const config = resolvedBase!;
  const directory = resolve(
    options.out ??
      resolve(
        config.configDirectory,
        config.config.run.outputDir,
        `ablate-${config.config.run.name}-${new Date().toISOString().replace(/[:.]/g, '-')}`,
      ),
  );
  await mkdir(directory, { recursive: true });
  const queue = arms.flatMap(({ name, settings }) =>
    Array.from({ length: options.seeds }, (_, i) => ({ name, settings, seed: firstSeed + i })),
  );
  // A run already in the folder is skipped (finished) or resumed: it must be the run this invocation
  // would start, or the summary would mix configs under one arm's name.
  const changed: ConfigIssue[] = [];
  for (const job of queue) {
    const runDirectory = join(directory, job.name, `seed-${job.seed}`);
    if (!existsSync(join(runDirectory, 'config.yaml'))) continue;
    const expected = await loadCommandConfig({
      config: options.config,
      builtins,
      overrides: [...base, ...job.settings, `run.seed=${job.seed}`],
    });
    changed.push(...(await configChanges(runDirectory, expected.config)));
  }
  if (changed.length > 0) {
    throw new ConfigError([
      ...changed,
      {
        path: '',
        message: `${directory} holds runs of another config: ablate skips finished runs and resumes the others, so give the config, arms and --set flags that made them, or another --out`,
      },
    ]);
  }
  const runs: AblationRun[] = [];
  const worker = async () => {
    for (
      let job = queue.shift();
      job !== undefined && options.signal?.aborted !== true;
      job = queue.shift()
    ) {
      const arm = job.name;
      const runDirectory = join(directory, arm, `seed-${job.seed}`);
      const run: AblationRun = {
        arm,
        settings: job.settings,
        seed: job.seed,
        directory: runDirectory,
        state: 'finished',
      };
      runs.push(run);
      if ((await runStatus(runDirectory))?.state === 'finished') {
        run.state = 'skipped';
        continue;
      }
      // A run begun before (interrupted, failed) goes on from its newest checkpoint, or starts over
      // cleanly (`--resume` without one) rather than appending to its old files.
      const begun = existsSync(join(runDirectory, 'config.yaml'));
      const resume = existsSync(join(runDirectory, 'checkpoints'));
      const args = [
        binPath,
        'train',
        '-c',
        resolve(options.config),
        '--out',
        runDirectory,
        ...[...base, ...job.settings, `run.seed=${job.seed}`].flatMap((override) => ['--set', override]),
        ...(begun ? ['--resume'] : []),
      ];
      log(`${arm} seed ${job.seed}: ${resume ? 'resuming' : 'starting'}`);
      const { code, output } = await runChild(args, options.signal);
      await mkdir(runDirectory, { recursive: true });
      await writeFile(join(runDirectory, 'train.log'), output);
      // A stopped run exits 130 with its state in status.json; it is resumed, not reported as failed.
      if (code === 130 && (await runStatus(runDirectory))?.state === 'interrupted') {
        run.state = 'interrupted';
        log(`${arm} seed ${job.seed}: stopped at a checkpoint`);
      } else if (code !== 0) {
        run.state = 'failed';
        run.logTail = output.trim().split('\n').slice(-8).join('\n');
        log(`${arm} seed ${job.seed}: failed (exit ${code}):\n${run.logTail}`);
      } else log(`${arm} seed ${job.seed}: finished`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.jobs) }, worker));
  if (options.signal?.aborted === true) return { directory, runs, summary: '', interrupted: true };
  runs.sort(
    (a, b) =>
      arms.findIndex((arm) => arm.name === a.arm) - arms.findIndex((arm) => arm.name === b.arm) ||
      a.seed - b.seed,
  );
  const { markdown, csv } = await summarise(runs);
  await writeFile(join(directory, 'summary.md'), markdown);
  await writeFile(join(directory, 'summary.csv'), csv);
  // One page for the whole ablation: each arm as mean +- std over its seeds.
  if (runs.some(measured)) {
    await writeReport({ paths: [directory], out: join(directory, 'report.html') });
  }
  return { directory, runs, summary: markdown, interrupted: false };
}

/**
 * One child `ekipl train`, in a process group of its own: a Ctrl-C at the terminal reaches the ablation
 * alone, which passes it on once (`signal`), so a child never takes it for the second, quit-at-once one.
 */
function runChild(
  args: string[],
  signal: AbortSignal | undefined,
): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const stop = () => child.kill('SIGINT');
    if (signal?.aborted === true) stop();
    else signal?.addEventListener('abort', stop, { once: true });
    // The ablation quitting at once (a second Ctrl-C) takes its runs with it: theirs is a second SIGINT.
    process.on('exit', stop);
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('close', (code) => {
      signal?.removeEventListener('abort', stop);
      process.removeListener('exit', stop);
      done({ code: code ?? 1, output });
    });
  });
}

/**
 * Every `eval/...` metric of a run: its last evaluation, its best (the maximum over evaluations), and
 * the series of evaluations by step.
 */
async function evaluations(runDirectory: string): Promise<{
  last: Record<string, number>;
  best: Record<string, number>;
  series: { step: number; metrics: Record<string, number> }[];
}> {
  const lines = (await readJsonLines(join(runDirectory, 'metrics.jsonl'))).filter((line) =>
    Object.keys(line).some((key) => key.startsWith('eval/')),
  ) as Record<string, number>[];
  const last: Record<string, number> = {};
  const best: Record<string, number> = {};
  for (const line of lines) {
    for (const [key, value] of Object.entries(line)) {
      if (!key.startsWith('eval/')) continue;
      last[key] = value;
      best[key] = Math.max(best[key] ?? Number.NEGATIVE_INFINITY, value);
    }
  }
  return { last, best, series: lines.map((line) => ({ step: line['step'] ?? 0, metrics: line })) };
}

/** mean +- sample std (core's, as the advantages use them). */
function meanStd(values: readonly number[]): { mean: number; std: number } {
  const average = mean(values);
  return { mean: average, std: sampleStd(values, average) };
}

async function summarise(runs: readonly AblationRun[]): Promise<{ markdown: string; csv: string }> {
  const byArm = new Map<string, AblationRun[]>();
  for (const run of runs) byArm.set(run.arm, [...(byArm.get(run.arm) ?? []), run]);
  const rows: {
    arm: string;
    seeds: number;
    failed: number;
    stats: Map<string, { mean: number; std: number }>;
    reach: Map<string, string>;
  }[] = [];
  const keys = new Set<string>();
  // The GRPO baseline: the arm without external samplers, when the grid has one.
  const baselineArm = runs.find((run) =>
    run.settings.some((setting) => /^auxiliary=(none|\[\])$/.test(setting.replace(/\s/g, ''))),
  )?.arm;
  const baselineFinal = new Map<string, number>();
  if (baselineArm !== undefined) {
    const baselineRuns = (byArm.get(baselineArm) ?? []).filter(measured);
    const lasts = await Promise.all(baselineRuns.map(async (run) => (await evaluations(run.directory)).last));
    for (const key of new Set(lasts.flatMap((last) => Object.keys(last)))) {
      if (key.endsWith('/accuracy'))
        baselineFinal.set(key, meanStd(lasts.map((last) => last[key] ?? 0)).mean);
    }
  }
  const reachKeys = [...baselineFinal.keys()].sort();
  for (const [arm, armRuns] of byArm) {
    const done = armRuns.filter(measured);
    const results = await Promise.all(done.map((run) => evaluations(run.directory)));
    const batchSizes = await Promise.all(done.map((run) => runBatchSize(run.directory)));
    // Prompts seen until an evaluation first matched the baseline's final accuracy (Fig. 3's question).
    const reach = new Map<string, string>();
    for (const key of reachKeys) {
      const seen: number[] = [];
      for (const [i, result] of results.entries()) {
        const hit = result.series.find(
          (point) => (point.metrics[key] ?? Number.NEGATIVE_INFINITY) >= baselineFinal.get(key)!,
        );
        if (hit !== undefined) seen.push(hit.step * batchSizes[i]!);
      }
      const { mean, std } = seen.length > 0 ? meanStd(seen) : { mean: Number.NaN, std: Number.NaN };
      reach.set(
        key,
        seen.length === 0
          ? `not reached (0/${results.length})`
          : `${Math.round(mean)} +- ${Math.round(std)} (${seen.length}/${results.length})`,
      );
    }
    const stats = new Map<string, { mean: number; std: number }>();
    for (const which of ['last', 'best'] as const) {
      const metricKeys = new Set(results.flatMap((result) => Object.keys(result[which])));
      for (const key of metricKeys) {
        const values = results.map((result) => result[which][key]).filter((value) => value !== undefined);
        const name = `${which} ${key.slice('eval/'.length)}`;
        keys.add(name);
        stats.set(name, meanStd(values as number[]));
      }
    }
    rows.push({ arm, seeds: done.length, failed: armRuns.length - done.length, stats, reach });
  }
  const columns = [...keys].sort((a, b) =>
    a.startsWith('last') === b.startsWith('last') ? a.localeCompare(b) : a.startsWith('last') ? -1 : 1,
  );
  const cell = (stat: { mean: number; std: number } | undefined) =>
    stat === undefined ? '' : `${stat.mean.toFixed(3)} +- ${stat.std.toFixed(3)}`;
  const reachColumns = reachKeys.map((key) => `prompts to GRPO's final ${key.slice('eval/'.length)}`);
  const header = ['arm', 'seeds', 'failed', ...columns, ...reachColumns];
  const markdown = [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map(
      (row) =>
        `| ${[
          row.arm,
          row.seeds,
          row.failed,
          ...columns.map((column) => cell(row.stats.get(column))),
          ...reachKeys.map((key) => row.reach.get(key) ?? ''),
        ].join(' | ')} |`,
    ),
  ].join('\n');
  const csvHeader = [
    'arm',
    'seeds',
    'failed',
    ...columns.flatMap((column) => [`${column} mean`, `${column} std`]),
    ...reachColumns,
  ];
  const quote = (value: unknown) =>
    typeof value === 'string' && /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : String(value);
  const csv = [
    csvHeader.map(quote).join(','),
    ...rows.map((row) =>
      [
        row.arm,
        row.seeds,
        row.failed,
        ...columns.flatMap((column) => {
          const stat = row.stats.get(column);
          return stat === undefined ? ['', ''] : [String(stat.mean), String(stat.std)];
        }),
        ...reachKeys.map((key) => row.reach.get(key) ?? ''),
      ]
        .map(quote)
        .join(','),
    ),
  ].join('\n');
  return { markdown: `${markdown}\n`, csv: `${csv}\n` };
}

function positiveInteger(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new ConfigError([
      { path: flag, message: `expected a positive integer, got ${JSON.stringify(text)}` },
    ]);
  }
  return value;
}

export default defineCommand({
  meta: { name: 'ablate', description: 'Train every grid combination x seed and summarise the evaluations' },
  args: {
    config: { type: 'string', alias: 'c', description: 'Config file (YAML or JSON)', required: true },
    grid: {
      type: 'string',
      description:
        "A grid axis, path=v1,v2 (repeatable; @config keeps the config's value): --grid auxiliary=@config,none",
    },
    arms: {
      type: 'string',
      description: 'Named arms: a YAML file mapping each name to a list of path=value overrides',
    },
    seeds: { type: 'string', description: 'Seeds per arm (default 3)' },
    'first-seed': { type: 'string', description: 'First seed (default 1): repeat on other seeds' },
    jobs: { type: 'string', description: 'Runs at once (default 1)' },
    out: { type: 'string', description: 'Ablation directory (default: <outputDir>/ablate-<name>-<time>)' },
    set: { type: 'string', description: 'Override a config field in every run, path=value (repeatable)' },
  },
  async run({ args, rawArgs }) {
    const interrupt = stopOnInterrupt(
      'stopping: no run starts; those in progress finish their step and checkpoint',
    );
    try {
      const result = await ablate({
        config: args.config,
        grid: repeatedFlag(rawArgs, 'grid'),
        ...(args.arms === undefined ? {} : { arms: await readArmsFile(args.arms) }),
        seeds: positiveInteger(args.seeds, '--seeds', 3),
        firstSeed: positiveInteger(args['first-seed'], '--first-seed', 1),
        jobs: positiveInteger(args.jobs, '--jobs', 1),
        ...(args.out === undefined ? {} : { out: args.out }),
        overrides: setFlags(rawArgs),
        log: (line) => process.stderr.write(`${line}\n`),
        signal: interrupt.signal,
      });
      if (result.interrupted) {
        const count = (state: AblationRun['state']) =>
          result.runs.filter((run) => run.state === state).length;
        process.stderr.write(
          `stopped: ${count('finished') + count('skipped')} runs finished, ${count('interrupted')} stopped at a checkpoint, ${count('failed')} failed; the same command again goes on from there: ${result.directory}\n`,
        );
        process.exitCode = 130;
        return;
      }
      process.stdout.write(result.summary);
      const failed = result.runs.filter((run) => run.state === 'failed');
      process.stderr.write(
        `${result.runs.length - failed.length} of ${result.runs.length} runs finished${failed.length > 0 ? `, ${failed.length} failed` : ''}: ${result.directory}\n`,
      );
      if (failed.length > 0) process.exitCode = 1;
    } catch (error) {
      process.exitCode = reportCommandError(error);
    } finally {
      interrupt.release();
    }
  },
});
