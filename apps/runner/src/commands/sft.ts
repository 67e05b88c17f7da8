import { cp } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type BuiltinPlugin,
  ConfigError,
  createComponents,
  createPromptTemplate,
  disposeComponents,
  EkiplError,
  Random,
} from '@ekipl/core';
import { defineCommand } from 'citty';
import { loadCommandConfig } from '../load-command-config.js';
import { reportCommandError } from '../report-error.js';
import { setFlags } from '../set-flags.js';
import {
  findWarmStart,
  runWarmStart,
  storeWarmStart,
  warmStartCacheFolder,
  warmStartKey,
} from '../warm-start.js';

export interface SftOptions {
  config: string;
  /** Also copy the checkpoint to `<out>/checkpoint`. */
  out?: string;
  overrides?: readonly string[];
  builtins?: readonly BuiltinPlugin[];
  log?: (line: string) => void;
}

export interface SftResult {
  key: string;
  /** The cached warm start (`checkpoint/`, `metrics.jsonl`). */
  directory: string;
  /** False when an identical warm start was already there. */
  trained: boolean;
}

/**
 * `ekipl sft -c CONFIG`: the configured warm start alone, stored as an artifact under
 * `<outputDir>/warm-starts/<key>/` where `ekipl train` finds and reuses it (same key: same settings).
 */
export async function sft(options: SftOptions): Promise<SftResult> {
  const log = options.log ?? (() => {});
  const resolved = await loadCommandConfig(options);
  const { config } = resolved;
  const folder = warmStartCacheFolder(resolved);
  const key = warmStartKey(resolved);
  let directory = await findWarmStart(folder, key);
  let trained = false;
  if (directory === undefined) {
    if (config.warmStart.steps === 0) {
      throw new ConfigError([{ path: 'warmStart.steps', message: 'is 0: there is no warm start to run' }]);
    }
    const random = Random.fromSeed(config.run.seed);
    const components = await createComponents(resolved, random, (message) => log(`warning: ${message}`));
    try {
      const progress = { step: 0 };
      const renderPrompt = createPromptTemplate(config.prompt);
      directory = await storeWarmStart(folder, key, components, (metricsFile, checkpointFolder) =>
        runWarmStart(components, renderPrompt, config, metricsFile, random, log, progress, undefined, {
          folder: checkpointFolder,
          every: config.run.checkpointEvery,
        }),
      );
    } finally {
      await disposeComponents(components);
    }
    if (directory === undefined) {
      throw new EkiplError(
        'the warm start learnt nothing: no teacher answer fit objective.maxCompletionLength',
      );
    }
    trained = true;
  }
  if (options.out !== undefined) {
    await cp(join(directory, 'checkpoint'), join(resolve(options.out), 'checkpoint'), { recursive: true });
  }
  return { key, directory, trained };
}

export default defineCommand({
  meta: { name: 'sft', description: 'Run the configured warm start alone and store it for train to reuse' },
  args: {
    config: { type: 'string', alias: 'c', description: 'Config file (YAML or JSON)', required: true },
    out: { type: 'string', description: 'Also copy the checkpoint to <out>/checkpoint' },
    set: { type: 'string', description: 'Override a config field, path=value (repeatable)' },
  },
  async run({ args, rawArgs }) {
    try {
      const result = await sft({
        config: args.config,
        ...(args.out === undefined ? {} : { out: args.out }),
        overrides: setFlags(rawArgs),
        log: (line) => process.stderr.write(`${line}\n`),
      });
      process.stdout.write(
        `${result.trained ? 'warm start stored' : 'warm start already stored'} (key ${result.key}): ${result.directory}\n`,
      );
    } catch (error) {
      process.exitCode = reportCommandError(error);
    }
  },
});
