import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ConfigIssue,
  type ConfigPath,
  formatPath,
  parseConfigText,
  stringifyConfig,
  type ValidatedConfig,
} from '@ekipl/core';
import { parse } from 'yaml';
import { writeAtomically } from './write-atomically.js';

/** The records of a JSON-lines file of a run (metrics.jsonl, samples.jsonl); none when it is absent. */
export async function readJsonLines(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Rewrites a JSON-lines file with only the records `keep` accepts (a resume cutting a run's files back). */
export async function keepJsonLines(
  file: string,
  keep: (record: Record<string, unknown>) => boolean,
): Promise<void> {
  const kept = (await readJsonLines(file)).filter(keep).map((record) => JSON.stringify(record));
  await writeAtomically(file, kept.length === 0 ? '' : `${kept.join('\n')}\n`);
}

/** The metrics.jsonl lines of a run's evaluations (`eval/...` keys, at their `step`), oldest first. */
export async function evaluationLines(runDirectory: string): Promise<Record<string, number>[]> {
  return (await readJsonLines(join(runDirectory, 'metrics.jsonl'))).filter(
    (line) => 'step' in line && Object.keys(line).some((key) => key.startsWith('eval/')),
  ) as Record<string, number>[];
}

/** How a run ended (its `status.json`): undefined while it has none (still running, or killed). */
export async function runStatus(runDirectory: string): Promise<{ state: string; steps: number } | undefined> {
  const text = await readFile(join(runDirectory, 'status.json'), 'utf8').catch(() => '');
  return text === '' ? undefined : (JSON.parse(text) as { state: string; steps: number });
}

/** Prompts a run trained on per step: its resolved `run.batchSize` (config.yaml). */
export async function runBatchSize(runDirectory: string): Promise<number> {
  const text = await readFile(join(runDirectory, 'config.yaml'), 'utf8').catch(() => '');
  return (parse(text) as { run?: { batchSize?: number } } | null)?.run?.batchSize ?? 1;
}

/**
 * Every field where a run directory's config.yaml differs from `config` (the resolved config an
 * invocation would run now), each located in that file; none when the run has no config.yaml yet.
 * A resumed run is promised the weights of an uninterrupted one, and a finished run that is skipped
 * stands for its arm: neither may silently be another config's.
 */
export async function configChanges(runDirectory: string, config: ValidatedConfig): Promise<ConfigIssue[]> {
  const file = join(runDirectory, 'config.yaml');
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return [];
  const { raw: stored, source } = parseConfigText(text, file);
  // Through YAML both ways, so that only what a config file can say is compared (no undefined fields).
  const current: unknown = parse(stringifyConfig(config));
  const issues: ConfigIssue[] = [];
  const compare = (before: unknown, now: unknown, path: ConfigPath) => {
    if (isPlainObject(before) && isPlainObject(now)) {
      for (const key of new Set([...Object.keys(before), ...Object.keys(now)])) {
        compare(before[key], now[key], [...path, key]);
      }
      return;
    }
    if (Array.isArray(before) && Array.isArray(now) && before.length === now.length) {
      for (const [index, item] of before.entries()) compare(item, now[index], [...path, index]);
      return;
    }
    if (JSON.stringify(before) === JSON.stringify(now)) return;
    const position = source.locate(path, 'value');
    issues.push({
      path: formatPath(path),
      message: `the run was made with ${shown(before)}, this invocation gives ${shown(now)}`,
      file,
      ...(position === undefined ? {} : { line: position.line, column: position.column }),
    });
  };
  compare(stored, current, []);
  return issues;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A config value in a message: JSON, cut short; absent when the field is not set. */
function shown(value: unknown): string {
  if (value === undefined) return 'no value';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
