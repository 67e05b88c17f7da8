import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFakeTask } from '@ekipl/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { keptImageSteps, writeSampleImages } from '../src/sample-images.js';

const scratch = mkdtempSync(join(tmpdir(), 'ekipl-images-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('prompt images of the samples', () => {
  it('writes each group image of a step, and keeps only the newest steps', async () => {
    const tasks = [createFakeTask('a', '1'), createFakeTask('b', '2')];
    for (let step = 1; step <= keptImageSteps + 2; step++) {
      expect(await writeSampleImages(scratch, step, tasks)).toEqual([
        `images/step-${step}/0.png`,
        `images/step-${step}/1.png`,
      ]);
    }
    const kept = readdirSync(join(scratch, 'images')).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
    expect(kept).toEqual(Array.from({ length: keptImageSteps }, (_, i) => `step-${i + 3}`));
    expect(existsSync(join(scratch, 'images', 'step-3', '1.png'))).toBe(true);
    // A task without an image (or of an unknown type) has none.
    expect(await writeSampleImages(scratch, 99, [{ ...tasks[0]!, images: [] }])).toEqual([undefined]);
  });
});
