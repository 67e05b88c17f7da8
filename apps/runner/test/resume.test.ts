import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@ekipl/core';
import { afterAll, describe, expect, it } from 'vitest';
import { train } from '../src/index.js';

const scratch = mkdtempSync(join(tmpdir(), 'ekipl-resume-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const bin = join(import.meta.dirname, '..', 'dist', 'bin.js');

const config = `
run: { name: resume, seed: 5, steps: 10, batchSize: 1, groupSize: 2, evalEvery: 4, evalLimit: 2, checkpointEvery: 2, keepCheckpoints: 2 }
dataset: { use: synthetic-counting, options: { imageSize: 16 } }
policy:
  use: tfjs
  options: { workers: 1, size: { dimension: 16, layers: 1, heads: 2, visionDimension: 8, visionLayers: 1, visionHeads: 2, imageSize: 16, patchSize: 8 } }
auxiliary: [{ use: oracle, name: expert, samples: 2, options: { accuracy: 0.7, style: terse } }]
warmStart: { steps: 2, batchSize: 2 }
objective: { maxCompletionLength: 200, learningRate: 1.0e-3 }
prompt: { templates: { default: '{question}' } }
`;

/** metrics.jsonl without wall-clock figures (time/*, throughput/*), which differ between any two runs. */
function metricsWithoutTimings(run: string): unknown[] {
  return readFileSync(join(run, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) =>
      Object.fromEntries(
        Object.entries(JSON.parse(line) as Record<string, number>).filter(
          ([key]) => !key.startsWith('time/') && !key.startsWith('throughput/'),
        ),
      ),
    );
}

describe('ekipl train --resume', () => {
  it('kill -9 after a checkpoint, resume: the same final weights and every non-timing metric as an uninterrupted run', async () => {
    const file = join(scratch, 'resume.yaml');
    writeFileSync(file, config);
    const uninterrupted = join(scratch, 'uninterrupted');
    await train({ config: file, out: uninterrupted });

    // The same run in a child process, killed (SIGKILL: no handler runs) once its first checkpoint exists.
    const killed = join(scratch, 'killed');
    const child = spawn(process.execPath, [bin, 'train', '-c', file, '--out', killed], { stdio: 'ignore' });
    const exited = new Promise((done) => child.on('exit', done));
    while (!existsSync(join(killed, 'checkpoints', 'step-2', 'run-state.json'))) {
      await new Promise((wait) => setTimeout(wait, 5));
    }
    child.kill('SIGKILL');
    await exited;
    expect(existsSync(join(killed, 'status.json'))).toBe(false); // it did not get to finish
    expect(existsSync(join(killed, 'checkpoint'))).toBe(false);

    const lines: string[] = [];
    const result = await train({ config: file, out: killed, resume: true, log: (line) => lines.push(line) });
    expect(result.steps).toBe(10);
    expect(lines.some((line) => /^resuming from .*checkpoints\/step-(2|4|6|8) \(step \d\)$/.test(line))).toBe(
      true,
    );
    const weights = (run: string) => readFileSync(join(run, 'checkpoint', 'model.safetensors'));
    expect(weights(killed).equals(weights(uninterrupted))).toBe(true);
    const optimizer = (run: string) => readFileSync(join(run, 'checkpoint', 'optimizer.safetensors'));
    expect(optimizer(killed).equals(optimizer(uninterrupted))).toBe(true);
    expect(metricsWithoutTimings(killed)).toEqual(metricsWithoutTimings(uninterrupted));
    expect(readFileSync(join(killed, 'samples.jsonl'), 'utf8')).toBe(
      readFileSync(join(uninterrupted, 'samples.jsonl'), 'utf8'),
    );
    // Only the newest two periodic checkpoints are kept: 6 and 8 (10 is the final one, in checkpoint/).
    expect(existsSync(join(killed, 'checkpoints', 'step-8'))).toBe(true);
    expect(existsSync(join(killed, 'checkpoints', 'step-6'))).toBe(true);
    expect(existsSync(join(killed, 'checkpoints', 'step-4'))).toBe(false);
    expect(JSON.parse(readFileSync(join(killed, 'status.json'), 'utf8'))).toMatchObject({
      state: 'finished',
      steps: 10,
    });
  }, 120_000);

  it("refuses a config that is not the run's, naming each changed field where config.yaml has it, and leaves the run as it was", async () => {
    const file = join(scratch, 'resume.yaml');
    writeFileSync(file, config);
    const run = join(scratch, 'changed');
    await train({ config: file, out: run, steps: 2 });
    const metrics = readFileSync(join(run, 'metrics.jsonl'), 'utf8');
    const error = await train({
      config: file,
      out: run,
      resume: true,
      overrides: ['run.evalLimit=3', 'objective.learningRate=2e-3'],
    }).catch((caught: unknown) => caught);
    expect(ConfigError.isInstance(error)).toBe(true);
    const issues = (error as ConfigError).issues;
    const lineOf = (key: string) =>
      readFileSync(join(run, 'config.yaml'), 'utf8')
        .split('\n')
        .findIndex((line) => line.trimStart().startsWith(`${key}:`)) + 1;
    expect(issues.slice(0, 2)).toEqual([
      {
        path: 'run.evalLimit',
        message: 'the run was made with 2, this invocation gives 3',
        file: join(run, 'config.yaml'),
        line: lineOf('evalLimit'),
        column: 14,
      },
      {
        path: 'objective.learningRate',
        message: 'the run was made with 0.001, this invocation gives 0.002',
        file: join(run, 'config.yaml'),
        line: lineOf('learningRate'),
        column: 17,
      },
    ]);
    expect(issues[2]!.message).toMatch(/^--resume continues .* give another --out$/);
    expect(issues).toHaveLength(3);
    expect(readFileSync(join(run, 'metrics.jsonl'), 'utf8')).toBe(metrics);
  }, 60_000);
});
