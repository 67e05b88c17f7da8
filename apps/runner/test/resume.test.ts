import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@ekipl/core';
import { startMockProviderServer } from '@ekipl/testkit';
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
      steps: 2,
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

  it('records --steps in config.yaml as run.steps, so a resume with another length is refused like any other change', async () => {
    const file = join(scratch, 'resume.yaml');
    writeFileSync(file, config);
    const run = join(scratch, 'length');
    await train({ config: file, out: run, steps: 2 });
    const recorded = readFileSync(join(run, 'config.yaml'), 'utf8');
    expect(recorded).toMatch(/^ {2}steps: 2$/m);
    expect(JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')).overrides).toEqual(['run.steps=2']);
    const metrics = readFileSync(join(run, 'metrics.jsonl'), 'utf8');
    for (const steps of [undefined, 4]) {
      const error = await train({
        config: file,
        out: run,
        resume: true,
        ...(steps === undefined ? {} : { steps }),
      }).catch((caught: unknown) => caught);
      expect(ConfigError.isInstance(error)).toBe(true);
      expect((error as ConfigError).issues[0]).toMatchObject({
        path: 'run.steps',
        message: `the run was made with 2, this invocation gives ${steps ?? 10}`,
        file: join(run, 'config.yaml'),
      });
      expect((error as ConfigError).issues).toHaveLength(2);
    }
    expect(readFileSync(join(run, 'metrics.jsonl'), 'utf8')).toBe(metrics);
    // The same length is accepted; the run is finished, so it is left as it is (not started over).
    const lines: string[] = [];
    const again = await train({
      config: file,
      out: run,
      resume: true,
      steps: 2,
      log: (line) => lines.push(line),
    });
    expect(again).toMatchObject({ steps: 2, interrupted: false });
    expect(again.evaluation['eval/id/accuracy']).toBeTypeOf('number');
    expect(lines).toEqual([`${run} finished all 2 steps: nothing to resume`]);
    expect(readFileSync(join(run, 'metrics.jsonl'), 'utf8')).toBe(metrics);
  }, 60_000);

  it('cuts eval-answers.jsonl back to the checkpoint too: a run killed after its last evaluation resumes to the same files', async () => {
    const file = join(scratch, 'resume.yaml');
    writeFileSync(file, config);
    const run = join(scratch, 'late-kill');
    await train({ config: file, out: run, steps: 6 });
    const answers = readFileSync(join(run, 'eval-answers.jsonl'), 'utf8');
    expect(
      answers
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line).step),
    ).toEqual([0, 0, 4, 4, 6, 6]);
    const metrics = metricsWithoutTimings(run);
    // Killed after the final evaluation, before status.json: the newest checkpoint is step 4.
    rmSync(join(run, 'status.json'));
    const lines: string[] = [];
    await train({ config: file, out: run, steps: 6, resume: true, log: (line) => lines.push(line) });
    expect(lines).toContain(`resuming from ${join(run, 'checkpoints', 'step-4')} (step 4)`);
    expect(readFileSync(join(run, 'eval-answers.jsonl'), 'utf8')).toBe(answers);
    expect(metricsWithoutTimings(run)).toEqual(metrics);
  }, 60_000);

  it('uses --steps for schedules that default to the run length: CHORD decays over the steps given', async () => {
    const file = join(scratch, 'chord.yaml');
    writeFileSync(
      file,
      config.replace(
        'objective: { maxCompletionLength: 200, learningRate: 1.0e-3 }',
        'objective: { maxCompletionLength: 200, learningRate: 1.0e-3, offPolicySupervised: { weight: 0.5, decayTo: 0.1 } }',
      ),
    );
    const run = join(scratch, 'chord');
    await train({ config: file, out: run, steps: 3 });
    const weights = metricsWithoutTimings(run).flatMap(
      (line) => (line as Record<string, number>)['train/supervised_weight'] ?? [],
    );
    // From 0.5 at step 1 to 0.1 at step 3, not at the file's step 10.
    expect(weights.map((weight) => Number(weight.toFixed(6)))).toEqual([0.5, 0.3, 0.1]);
  }, 60_000);

  it('refuses --resume on a folder that holds no run, and creates nothing there', async () => {
    const file = join(scratch, 'resume.yaml');
    writeFileSync(file, config);
    const mistyped = join(scratch, 'no-such-run');
    const error = await train({ config: file, out: mistyped, resume: true }).catch(
      (caught: unknown) => caught,
    );
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as ConfigError).issues).toEqual([
      {
        path: '--out',
        message: `${mistyped} holds no run (no config.yaml): --resume continues a run that ekipl train started there; without --resume, a new run starts`,
      },
    ]);
    expect(existsSync(mistyped)).toBe(false);
  });

  it('a stop (Ctrl-C) lets the step finish whole, external calls included, and checkpoints there: --resume goes on from that step to the uninterrupted run', async () => {
    const server = await startMockProviderServer({ apiKey: 'sk-test-resume', latencyMs: 100 });
    process.env['OPENAI_API_KEY'] = 'sk-test-resume';
    const file = join(scratch, 'stopped.yaml');
    writeFileSync(
      file,
      config.replace(
        /^auxiliary: .*$/m,
        `auxiliary:
  - { use: oracle, name: expert, samples: 2, options: { accuracy: 0.7, style: terse } }
  - { use: openai, name: gpt, samples: 1, options: { model: gpt-4o, baseURL: '${server.openaiBaseURL}', maxRetries: 0, cache: { enabled: false } } }`,
      ),
    );
    try {
      const uninterrupted = join(scratch, 'not-stopped');
      await train({ config: file, out: uninterrupted, steps: 6 });
      // Stopped while step 3's request to the provider is in flight (one chat request a step).
      const stopped = join(scratch, 'stopped');
      const controller = new AbortController();
      const answered = server.requests.filter(({ method }) => method === 'POST').length;
      const stopAtThirdRequest = setInterval(() => {
        if (server.requests.filter(({ method }) => method === 'POST').length - answered >= 3)
          controller.abort();
      }, 1);
      const first = await train({ config: file, out: stopped, steps: 6, signal: controller.signal });
      clearInterval(stopAtThirdRequest);
      expect(first).toMatchObject({ steps: 3, interrupted: true });
      expect(existsSync(join(stopped, 'checkpoints', 'step-3', 'run-state.json'))).toBe(true);
      const samples = readFileSync(join(stopped, 'samples.jsonl'), 'utf8').trim().split('\n');
      const lastStep = JSON.parse(samples.at(-1)!) as { step: number; candidates: { source: string }[] };
      expect(lastStep.step).toBe(3);
      expect(lastStep.candidates.map(({ source }) => source)).toContain('gpt');
      expect(existsSync(join(stopped, 'warnings.log'))).toBe(false);
      // Evaluated where it stopped (step 3, off the every-4 schedule), once.
      const evaluated = metricsWithoutTimings(stopped).flatMap((line) => {
        const record = line as Record<string, number>;
        return 'eval/id/accuracy' in record ? [record['step']] : [];
      });
      expect(evaluated).toEqual([0, 3]);

      const lines: string[] = [];
      await train({ config: file, out: stopped, steps: 6, resume: true, log: (line) => lines.push(line) });
      expect(lines).toContain(`resuming from ${join(stopped, 'checkpoints', 'step-3')} (step 3)`);
      const weights = (run: string) => readFileSync(join(run, 'checkpoint', 'model.safetensors'));
      expect(weights(stopped).equals(weights(uninterrupted))).toBe(true);
      expect(metricsWithoutTimings(stopped)).toEqual(metricsWithoutTimings(uninterrupted));
      for (const name of ['samples.jsonl', 'eval-answers.jsonl']) {
        expect(readFileSync(join(stopped, name), 'utf8')).toBe(
          readFileSync(join(uninterrupted, name), 'utf8'),
        );
      }
    } finally {
      await server.close();
    }
  }, 120_000);

  it("refuses a new run into a folder that holds one (it appended to the old run's files): --resume or another --out", async () => {
    const file = join(scratch, 'resume.yaml');
    writeFileSync(file, config);
    const run = join(scratch, 'taken');
    await train({ config: file, out: run, steps: 1 });
    const metrics = readFileSync(join(run, 'metrics.jsonl'), 'utf8');
    const error = await train({ config: file, out: run, steps: 1 }).catch((caught: unknown) => caught);
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as ConfigError).issues).toEqual([
      {
        path: '--out',
        message: `${run} already holds a run (config.yaml): give --resume to go on with it, or another --out (or remove the folder to start it over)`,
      },
    ]);
    expect(readFileSync(join(run, 'metrics.jsonl'), 'utf8')).toBe(metrics);
  }, 60_000);
});
