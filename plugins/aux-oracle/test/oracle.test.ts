import { type AuxiliarySampler, Random, type Task } from '@ekipl/core';
import { instantiatePlugin, samplerConformance } from '@ekipl/testkit';
import { describe, expect, it } from 'vitest';
import { oracle } from '../src/index.js';

const task: Task = {
  id: 'counting-train-0',
  family: 'counting',
  images: [],
  question: 'Subtract all red cubes. How many objects are left?',
  answer: '4',
  split: 'train',
  metadata: {
    reasoning: [
      'The scene has 5 objects.',
      'Subtracting all red cubes removes 1.',
      '5 - 1 = 4 objects are left.',
    ],
    distractors: ['5', '3'],
  },
};

async function create(options: Record<string, unknown>, name = 'oracle') {
  return (await oracle.create(oracle.options.parse(options), {
    name,
    random: Random.fromSeed(1),
    configDirectory: '.',
    warn: () => {},
  })) as AuxiliarySampler;
}

const answers = async (sampler: AuxiliarySampler, seed: number, n = 50) =>
  (
    await sampler.sample([{ prompt: { system: '', user: task.question, images: [] }, task }], n, { seed })
  ).actions[0]!.map((action) => action.text);

describe('oracle', () => {
  it('at accuracy 1 always reasons to the right answer, in the answer format', async () => {
    const texts = await answers(await create({ accuracy: 1 }), 1);
    expect(new Set(texts)).toEqual(
      new Set([
        '<think>The scene has 5 objects. Subtracting all red cubes removes 1. 5 - 1 = 4 objects are left. So the answer is 4.</think><answer>4</answer>',
      ]),
    );
  });

  it('at accuracy 0 gives only distractors, reached without the last step', async () => {
    const texts = await answers(await create({ accuracy: 0 }), 1);
    for (const text of texts) {
      expect(text).toMatch(
        /^<think>The scene has 5 objects\. Subtracting all red cubes removes 1\. So the answer is (5|3)\.<\/think><answer>(5|3)<\/answer>$/,
      );
    }
    expect(new Set(texts.map((text) => text.at(-10)))).toEqual(new Set(['5', '3']));
  });

  it('brief style is the answer alone', async () => {
    const brief = await create({ accuracy: 1, style: 'brief' });
    expect(await answers(brief, 1, 3)).toEqual(Array(3).fill('<think>Answer: 4.</think><answer>4</answer>'));
  });

  it('terse style is one line; the share of right answers follows `accuracy`; the seed reproduces it', async () => {
    const terse = await create({ accuracy: 0.6, style: 'terse' });
    const texts = await answers(terse, 7, 1000);
    expect(texts.find((text) => text.endsWith('<answer>4</answer>'))).toBe(
      '<think>5 - 1 = 4 objects are left. Answer: 4.</think><answer>4</answer>',
    );
    const right = texts.filter((text) => text.endsWith('<answer>4</answer>')).length / texts.length;
    expect(right).toBeGreaterThan(0.55); // 0.6 +- 3.1 standard errors
    expect(right).toBeLessThan(0.65);
    expect(await answers(terse, 7, 1000)).toEqual(texts);
    expect(await answers(terse, 8, 1000)).not.toEqual(texts);
  });

  it('two oracles named differently draw different answers from the same seed, and name their actions', async () => {
    const a = await create({ accuracy: 0.5 }, 'gpt-like');
    const b = await create({ accuracy: 0.5 }, 'gemini-like');
    expect(await answers(a, 3)).not.toEqual(await answers(b, 3));
    const result = await a.sample([{ prompt: { system: '', user: '', images: [] }, task }], 2, { seed: 1 });
    expect(result.actions[0]!.map((action) => [action.source, action.cost])).toEqual([
      ['gpt-like', { usd: 0 }],
      ['gpt-like', { usd: 0 }],
    ]);
  });

  it('refuses tasks without scene facts, naming the task and the alternative', async () => {
    const bare = { ...task, metadata: {} };
    await expect(
      (await create({})).sample([{ prompt: { system: '', user: '', images: [] }, task: bare }], 1, {
        seed: 1,
      }),
    ).rejects.toThrow(/task counting-train-0 has no scene facts .* use aux-replay/);
  });
});

describe('conformance', () => {
  it("passes testkit's sampler suite, terse and verbose", async () => {
    const tasks: Task[] = [task, { ...task, id: 'counting-train-1', answer: '5' }];
    for (const style of ['terse', 'verbose', 'brief']) {
      const { instance } = await instantiatePlugin(oracle, { accuracy: 0.5, style });
      await samplerConformance(instance, { tasks, n: 3 });
    }
  });
});
