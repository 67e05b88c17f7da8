import { writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import {
  type BuiltinPlugin,
  ConfigError,
  createComponents,
  createPromptTemplate,
  disposeComponents,
  Random,
  stepSettings,
} from '@ekipl/core';
import { defineCommand } from 'citty';
import { evaluatePolicy, type SplitEvaluation } from '../evaluation.js';
import { loadCommandConfig } from '../load-command-config.js';
import { reportCommandError } from '../report-error.js';
import { setFlags } from '../set-flags.js';

export interface EvalOptions {
  config: string;
  /** A checkpoint directory to evaluate instead of the config's `policy.options.checkpoint`. */
  checkpoint?: string;
  splits?: readonly string[];
  /** Tasks per split; default `run.evalLimit`. */
  limit?: number;
  passAt?: readonly number[];
  /** `path=value` overrides of the config (`--set`). */
  overrides?: readonly string[];
  /** Every image replaced by a flat grey one: what the question alone earns. */
  blankImages?: boolean;
  /** Keep every task's greedy answer in the results (`--answers`). */
  answers?: boolean;
  builtins?: readonly BuiltinPlugin[];
}

export interface EvalResult {
  config: string;
  checkpoint: string | null;
  /** The images were blanked (`--blank-images`). */
  blankImages: boolean;
  splits: SplitEvaluation[];
}

/**
 * `ekipl eval -c CONFIG`: greedy accuracy, format and every reward on the test splits, and pass@k
 * (n = the largest k samples per task at the run's sampling settings; unbiased estimator).
 */
export async function evaluateCheckpoint(options: EvalOptions): Promise<EvalResult> {
  const resolved = await loadCommandConfig(options);
  const checkpoint =
    options.checkpoint === undefined
      ? ((resolved.plugins.policy.options['checkpoint'] as string | undefined) ?? null)
      : resolve(options.checkpoint);
  if (options.checkpoint !== undefined) resolved.plugins.policy.options['checkpoint'] = checkpoint;
  const components = await createComponents(resolved, Random.fromSeed(resolved.config.run.seed));
  try {
    const known = components.dataset.splits;
    const unknown = (options.splits ?? []).filter((split) => !known.includes(split));
    if (unknown.length > 0) {
      throw new ConfigError([
        { path: 'dataset', message: `no split ${unknown.join(', ')} (this dataset has ${known.join(', ')})` },
      ]);
    }
    if ((options.passAt ?? []).length > 0 && !components.rewards.some(({ name }) => name === 'accuracy')) {
      throw new ConfigError([
        { path: 'reward', message: 'pass@k counts correct samples: it needs a reward named accuracy' },
      ]);
    }
    const settings = stepSettings(resolved.config);
    const splits = await evaluatePolicy(components, createPromptTemplate(resolved.config.prompt), {
      ...(options.splits === undefined ? {} : { splits: options.splits }),
      limit: options.limit ?? resolved.config.run.evalLimit,
      ...(options.passAt === undefined ? {} : { passAt: options.passAt }),
      sampling: settings.sampling,
      seed: resolved.config.run.seed,
      blankImages: options.blankImages === true,
      answers: options.answers === true,
    });
    return {
      config: resolved.file ?? options.config,
      checkpoint:
        checkpoint === null || isAbsolute(checkpoint)
          ? checkpoint
          : resolve(resolved.configDirectory, checkpoint),
      blankImages: options.blankImages === true,
      splits,
    };
  } finally {
    await disposeComponents(components);
  }
}

/** The results as a plain-text table: one row per split, greedy metrics then pass@k. */
export function evaluationTable(result: EvalResult): string {
  const greedyNames = [...new Set(result.splits.flatMap((split) => Object.keys(split.greedy)))];
  const ks = [...new Set(result.splits.flatMap((split) => Object.keys(split.passAt).map(Number)))].sort(
    (a, b) => a - b,
  );
  const reliance = result.splits.some((split) => split.imageReliance !== undefined);
  const header = [
    'split',
    'tasks',
    ...greedyNames,
    ...ks.map((k) => `pass@${k}`),
    ...(reliance ? ['image_reliance'] : []),
  ];
  const rows = result.splits.map((split) => [
    split.split,
    String(split.tasks),
    ...greedyNames.map((name) => (split.greedy[name] ?? Number.NaN).toFixed(3)),
    ...ks.map((k) => (split.passAt[k] ?? Number.NaN).toFixed(3)),
    ...(reliance ? [(split.imageReliance ?? Number.NaN).toFixed(3)] : []),
  ]);
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => row[i]!.length)));
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function integerList(text: string | undefined, flag: string): number[] | undefined {
  if (text === undefined) return undefined;
  const values = text.split(',').map((part) => Number(part.trim()));
  if (values.some((value) => !Number.isInteger(value) || value < 1)) {
    throw new ConfigError([
      { path: flag, message: `expected positive integers separated by commas, got ${JSON.stringify(text)}` },
    ]);
  }
  return values;
}

export default defineCommand({
  meta: { name: 'eval', description: 'Evaluate a checkpoint: greedy accuracy and format, pass@k, per split' },
  args: {
    config: { type: 'string', alias: 'c', description: 'Config file (YAML or JSON)', required: true },
    checkpoint: {
      type: 'string',
      description: "Checkpoint directory (default: the config's policy checkpoint)",
    },
    split: { type: 'string', description: 'Splits, comma-separated (default: every test split)' },
    limit: { type: 'string', description: 'Tasks per split (default: run.evalLimit)' },
    'pass-at': { type: 'string', description: 'k values for pass@k, e.g. 1,2,4,8,16,32' },
    out: {
      type: 'string',
      description:
        "Where to write the results as JSON (default: the run's eval.json, or eval-blank.json, for <run>/checkpoint; else in the current folder)",
    },
    'blank-images': {
      type: 'boolean',
      description:
        'Replace every image with a flat grey one: what the question alone earns (results in eval-blank.json)',
    },
    answers: {
      type: 'boolean',
      description:
        "Keep each task's greedy answer in the results (id, question, expected answer, text, rewards): which tasks it gets right",
    },
    set: { type: 'string', description: 'Override a config field, path=value (repeatable)' },
  },
  async run({ args, rawArgs }) {
    try {
      const limit = integerList(args.limit, '--limit');
      const passAt = integerList(args['pass-at'], '--pass-at');
      const result = await evaluateCheckpoint({
        config: args.config,
        ...(args.checkpoint === undefined ? {} : { checkpoint: args.checkpoint }),
        ...(args.split === undefined ? {} : { splits: args.split.split(',').map((split) => split.trim()) }),
        ...(limit === undefined ? {} : { limit: limit[0]! }),
        ...(passAt === undefined ? {} : { passAt }),
        overrides: setFlags(rawArgs),
        blankImages: args['blank-images'] === true,
        answers: args.answers === true,
      });
      const name = args['blank-images'] === true ? 'eval-blank.json' : 'eval.json';
      // Beside a run's checkpoint, eval.json lands in the run directory, where `ekipl report` finds it.
      const out = resolve(
        args.out ??
          (args.checkpoint !== undefined && basename(resolve(args.checkpoint)) === 'checkpoint'
            ? join(dirname(resolve(args.checkpoint)), name)
            : name),
      );
      await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
      process.stdout.write(`${evaluationTable(result)}\n`);
      process.stderr.write(`results written to ${out}\n`);
    } catch (error) {
      process.exitCode = reportCommandError(error);
    }
  },
});
