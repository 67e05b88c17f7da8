import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@ekipl/core';
import { afterAll, describe, expect, it } from 'vitest';
import { train } from '../src/index.js';

const scratch = mkdtempSync(join(tmpdir(), 'ekipl-aux-local-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const size =
  '{ dimension: 16, layers: 1, heads: 2, visionDimension: 8, visionLayers: 1, visionHeads: 2, imageSize: 16, patchSize: 8 }';
// Two local experts, one on each backend, with exact densities: the appendix's estimators get the true
// mixture density, so nothing is filled in.
const config = (estimator: string, experts: string) => `
run: { name: local, steps: 2, batchSize: 2, groupSize: 3, evalEvery: 0, checkpointEvery: 0 }
dataset: { use: synthetic-counting, options: { imageSize: 16 } }
policy: { use: tfjs, options: { workers: 1, seed: 1, size: ${size} } }
auxiliary: ${experts}
reward: [{ use: format }, { use: accuracy }]
estimator: { use: ${estimator} }
objective: { maxCompletionLength: 64, learningRate: 1.0e-3 }
`;
const localExperts = `
  - { use: local, name: tfjs-expert, samples: 2, options: { maxTokens: 24, policy: { use: tfjs, options: { workers: 1, seed: 2, size: ${size} } } } }
  - { use: local, name: onnx-expert, samples: 2, options: { maxTokens: 24, policy: { use: onnx, options: { seed: 3, size: ${size} } } } }`;

async function steps(name: string, estimator: string, experts: string) {
  const file = join(scratch, `${name}.yaml`);
  writeFileSync(file, config(estimator, experts));
  const result = await train({ config: file, out: join(scratch, name) });
  return readFileSync(join(result.runDirectory, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, number>)
    .filter((line) => 'reward/mean' in line);
}

describe('aux-local experts in a run', () => {
  it('exact-is and snis with local experts on tfjs and ONNX: no fallbacks, ESS per step', async () => {
    for (const estimator of ['exact-is', 'snis']) {
      const lines = await steps(estimator, estimator, localExperts);
      expect(lines).toHaveLength(2);
      for (const line of lines) {
        expect(line['estimator/fallbacks_own']).toBe(0);
        expect(line['estimator/fallbacks_cross']).toBe(0);
        expect(line['aux/tfjs-expert/received']).toBe(4);
        expect(line['aux/onnx-expert/received']).toBe(4);
        expect(line['estimator/ess_mean']).toBeGreaterThan(0);
        expect(line['estimator/ess_mean']).toBeLessThanOrEqual(3 + 1e-9);
      }
    }
    // Beside an oracle (no densities) the same estimator has to fill some in: what local removes.
    const mixed = await steps(
      'mixed',
      'exact-is',
      `
  - { use: local, name: tfjs-expert, samples: 2, options: { maxTokens: 24, policy: { use: tfjs, options: { workers: 1, seed: 2, size: ${size} } } } }
  - { use: oracle, name: oracle, samples: 2, options: { accuracy: 1, style: brief } }`,
    );
    expect(
      mixed.some((line) => line['estimator/fallbacks_own']! + line['estimator/fallbacks_cross']! > 0),
    ).toBe(true);
  }, 120_000);

  it('a model option that names no policy plugin is a config error under the expert', async () => {
    const file = join(scratch, 'bad.yaml');
    writeFileSync(
      file,
      config('exact-is', `[{ use: local, name: expert, options: { policy: { use: oracle } } }]`),
    );
    const error = await train({ config: file, out: join(scratch, 'bad') }).catch((caught: unknown) => caught);
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/auxiliary\[0\]\.options\.policy\.use: .*oracle.*policy/);
  });
});
