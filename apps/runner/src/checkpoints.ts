import { readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { PolicyBackend } from '@ekipl/core';
import { writeAtomically } from './write-atomically.js';

// Periodic checkpoints, `<folder>/step-N/`: the policy's files and one JSON file of what else a resume
// needs (`stateFile`). Shared by RL runs (`<run>/checkpoints/`) and warm starts (their temporary folder).

const prefix = 'step-';

/** The steps of the checkpoints in `folder`; none when it does not exist. */
export async function checkpointSteps(folder: string): Promise<number[]> {
  const names = await readdir(folder).catch(() => [] as string[]);
  return names
    .filter((name) => name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length)))
    .map((name) => Number(name.slice(prefix.length)));
}

/** `<folder>/step-N`. */
function checkpointFolder(folder: string, step: number): string {
  return join(folder, `${prefix}${step}`);
}

/**
 * Writes `<folder>/step-<step>`: the policy's files and `stateFile`, in a temporary folder renamed
 * into place, so a checkpoint is whole or absent; then keeps only the newest `keep`.
 */
export async function writeCheckpoint(
  folder: string,
  step: number,
  policy: PolicyBackend,
  stateFile: string,
  state: unknown,
  keep: number,
): Promise<void> {
  if (policy.save === undefined) return;
  const partial = join(folder, `.${prefix}${step}.partial`);
  await rm(partial, { recursive: true, force: true });
  await policy.save(partial);
  await writeAtomically(join(partial, stateFile), `${JSON.stringify(state)}\n`);
  const final = checkpointFolder(folder, step);
  await rm(final, { recursive: true, force: true });
  await rename(partial, final);
  const steps = (await checkpointSteps(folder)).sort((a, b) => b - a);
  for (const old of steps.slice(keep))
    await rm(checkpointFolder(folder, old), { recursive: true, force: true });
}

/** Loads the newest checkpoint in `folder` into the policy: its folder and state; undefined when none. */
export async function loadNewestCheckpoint<State>(
  folder: string,
  policy: PolicyBackend,
  stateFile: string,
): Promise<{ directory: string; state: State } | undefined> {
  const steps = await checkpointSteps(folder);
  if (steps.length === 0 || policy.load === undefined) return undefined;
  const directory = checkpointFolder(folder, Math.max(...steps));
  await policy.load(directory);
  return { directory, state: JSON.parse(await readFile(join(directory, stateFile), 'utf8')) as State };
}
