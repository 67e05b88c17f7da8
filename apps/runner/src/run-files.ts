import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';

/** The records of a JSON-lines file of a run (metrics.jsonl, samples.jsonl); none when it is absent. */
export async function readJsonLines(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Prompts a run trained on per step: its resolved `run.batchSize` (config.yaml). */
export async function runBatchSize(runDirectory: string): Promise<number> {
  const text = await readFile(join(runDirectory, 'config.yaml'), 'utf8').catch(() => '');
  return (parse(text) as { run?: { batchSize?: number } } | null)?.run?.batchSize ?? 1;
}
