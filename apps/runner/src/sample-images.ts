import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Task } from '@ekipl/core';

/** Steps whose prompt images a run keeps (the newest), for the report's sample table. */
export const keptImageSteps = 10;

const extensions: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp' };

/**
 * Writes the first image of each of a step's tasks to `<run>/images/step-<N>/<group>.<ext>` and drops
 * the folder of the step `keptImageSteps` before, so a run holds only its newest prompt images (a long
 * run on real photos would otherwise hold gigabytes). Returns each group's path, relative to the run.
 */
export async function writeSampleImages(
  runDirectory: string,
  step: number,
  tasks: readonly Task[],
): Promise<(string | undefined)[]> {
  const folder = join(runDirectory, 'images', `step-${step}`);
  await mkdir(folder, { recursive: true });
  const paths = await Promise.all(
    tasks.map(async (task, group) => {
      const image = task.images[0];
      const extension = image === undefined ? undefined : extensions[image.mediaType];
      if (image === undefined || extension === undefined) return undefined;
      const name = `${group}.${extension}`;
      await writeFile(join(folder, name), image.data);
      return `images/step-${step}/${name}`;
    }),
  );
  await rm(join(runDirectory, 'images', `step-${step - keptImageSteps}`), { recursive: true, force: true });
  return paths;
}
