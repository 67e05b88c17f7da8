import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, definePlugin, formatAnswer, type Prompt, z } from '@ekipl/core';
import { createFakeDataset, createFakePolicy, createFakeTask } from '@ekipl/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinPlugins, evaluateCheckpoint, evaluationTable } from '../src/index.js';

const scratch = mkdtempSync(join(tmpdir(), 'ekipl-eval-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// Tasks whose answer the scripted policy can read from the prompt ("scene 7" -> 7).
const tasks = ['3', '5', '7', '9'].flatMap((answer) =>
  (['id', 'ood'] as const).map((split) => ({
    ...createFakeTask(`${split}-${answer}`, answer),
    split,
    question: `scene ${answer}`,
  })),
);
const answerOf = (prompt: { user: string }) => /scene (\d)/.exec(prompt.user)![1]!;
// Samples 0 and 1 of every prompt are right, 2..4 wrong: n = 5, c = 2 on every task.
const scripted = definePlugin({
  kind: 'policy',
  name: 'scripted',
  options: z.strictObject({}),
  create: () =>
    createFakePolicy({
      script: (prompt, sample) => formatAnswer('counting.', sample < 2 ? answerOf(prompt) : '0'),
      positions: 64,
    }),
});
const scenes = definePlugin({
  kind: 'dataset',
  name: 'scenes',
  options: z.strictObject({}),
  create: () => createFakeDataset(tasks),
});
const builtins = [
  ...builtinPlugins,
  { name: 'scripted', kind: 'policy' as const, packageName: 'test', load: async () => scripted },
  { name: 'scenes', kind: 'dataset' as const, packageName: 'test', load: async () => scenes },
];

describe('ekipl eval', () => {
  it('greedy metrics and pass@k per split: n = 5, c = 2 gives 0.4, 0.7, 0.9, 1, 1 end to end', async () => {
    const file = join(scratch, 'eval.yaml');
    writeFileSync(
      file,
      `
run: { evalLimit: 4 }
dataset: { use: scenes }
policy: { use: scripted }
prompt: { templates: { default: '{question}' } }
`,
    );
    const result = await evaluateCheckpoint({ config: file, passAt: [1, 2, 3, 4, 5], builtins });
    expect(result.splits.map((split) => [split.split, split.tasks, split.samples])).toEqual([
      ['id', 4, 5],
      ['ood', 4, 5],
    ]);
    for (const split of result.splits) {
      // Greedy is sample 0: right and well formed.
      expect(split.greedy).toMatchObject({ accuracy: 1, format: 1, reward: 2 });
      expect([1, 2, 3, 4, 5].map((k) => Number(split.passAt[k]!.toFixed(12)))).toEqual([0.4, 0.7, 0.9, 1, 1]);
    }
    const table = evaluationTable(result).split('\n');
    // The scripted policy ignores its images: an image reliance of 0.
    expect(table[0]).toBe(
      'split  tasks  reward  format  accuracy  pass@1  pass@2  pass@3  pass@4  pass@5  image_reliance',
    );
    expect(table[1]).toBe(
      'id     4      2.000   1.000   1.000     0.400   0.700   0.900   1.000   1.000   0.000',
    );
  });

  it('an unknown split and pass@k without an accuracy reward are config errors', async () => {
    const file = join(scratch, 'eval.yaml');
    await expect(evaluateCheckpoint({ config: file, splits: ['test'], builtins })).rejects.toThrow(
      /dataset: no split test \(this dataset has id, ood\)/,
    );
    const noAccuracy = join(scratch, 'format-only.yaml');
    writeFileSync(noAccuracy, `${readFileSync(file, 'utf8')}reward: [{ use: format }]\n`);
    await expect(evaluateCheckpoint({ config: noAccuracy, passAt: [1], builtins })).rejects.toThrow(
      /reward: pass@k counts correct samples: it needs a reward named accuracy/,
    );
  });

  it('a missing checkpoint is a config error naming the policy section, before any work', async () => {
    const file = join(scratch, 'tfjs.yaml');
    writeFileSync(file, 'policy: { use: tfjs, options: { workers: 1 } }\n');
    const error = await evaluateCheckpoint({ config: file, checkpoint: join(scratch, 'gone') }).catch(
      (caught: unknown) => caught,
    );
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /tfjs\.yaml: policy: tfjs: checkpoint .*gone has no state\.json: not a checkpoint directory/,
    );
  });
});

describe('perception: blank images and image reliance', () => {
  // Reads the answer from its image when it has one, and is 1 nat per token less sure with a blank one.
  const seeing = definePlugin({
    kind: 'policy',
    name: 'seeing',
    options: z.strictObject({}),
    create: () => {
      const blank = (prompt: Prompt) => prompt.images.every((image) => image.data.length > 4);
      const policy = createFakePolicy({
        script: (prompt) => formatAnswer('counting.', blank(prompt) ? '0' : answerOf(prompt)),
        positions: 64,
      });
      const score = policy.score.bind(policy);
      policy.score = async (requests, which, temperature) => {
        const scores = await score(requests, which, temperature);
        return scores.map((row, i) => (blank(requests[i]!.prompt) ? row.map((value) => value - 1) : row));
      };
      return policy;
    },
  });
  const seeingBuiltins = [
    ...builtins,
    { name: 'seeing', kind: 'policy' as const, packageName: 'test', load: async () => seeing },
  ];

  it('--blank-images evaluates the question alone; a policy that reads its images loses its accuracy and shows its reliance', async () => {
    const file = join(scratch, 'seeing.yaml');
    writeFileSync(
      file,
      'run: { evalLimit: 4 }\ndataset: { use: scenes }\npolicy: { use: seeing }\nprompt: { templates: { default: "{question}" } }\n',
    );
    const real = await evaluateCheckpoint({ config: file, builtins: seeingBuiltins });
    expect(real.blankImages).toBe(false);
    for (const split of real.splits) {
      expect(split.greedy['accuracy']).toBe(1);
      // 1 nat per token of the completion (its bytes and end-of-sequence) when the image is blanked.
      const tokens = new TextEncoder().encode(formatAnswer('counting.', '3')).length + 1;
      expect(split.imageReliance).toBeCloseTo(tokens, 10);
    }
    const blank = await evaluateCheckpoint({ config: file, builtins: seeingBuiltins, blankImages: true });
    expect(blank.blankImages).toBe(true);
    for (const split of blank.splits) {
      expect(split.greedy['accuracy']).toBe(0);
      expect(split.imageReliance).toBeUndefined();
      expect(split.answers).toBeUndefined(); // only when asked for
    }
    // --answers: each task's greedy answer beside what it expects, to see which tasks fail.
    const answered = await evaluateCheckpoint({
      config: file,
      builtins: seeingBuiltins,
      blankImages: true,
      answers: true,
    });
    const [first] = answered.splits;
    expect(first!.answers).toHaveLength(first!.tasks);
    const answer = first!.answers![0]!;
    expect(answer.text).toBe(formatAnswer('counting.', '0'));
    expect(answer.expected).not.toBe('0');
    expect(answer.rewards['accuracy']).toBe(0);
    expect(answer.question.length).toBeGreaterThan(0);
    expect(answer.id).toMatch(/\S/);
  });
});
