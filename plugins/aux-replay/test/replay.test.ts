import { type AuxiliarySampler, Random, type Task } from '@ekipl/core';
import { instantiatePlugin, samplerConformance } from '@ekipl/testkit';
import { describe, expect, it } from 'vitest';
import { replay, replayText } from '../src/index.js';

const task = (metadata: Record<string, unknown>, answer = '<answer>2</answer>'): Task => ({
  id: 'r',
  family: 'counting',
  images: [],
  question: 'q',
  answer,
  split: 'train',
  metadata,
});

describe('replay', () => {
  it('wraps a plain chain-of-thought with the task answer (tags stripped)', () => {
    expect(replayText('  There are 3 objects, one is removed. ', '<answer>2</answer>')).toBe(
      '<think>There are 3 objects, one is removed.</think><answer>2</answer>',
    );
    expect(replayText('Count them.', '7')).toBe('<think>Count them.</think><answer>7</answer>');
  });

  it('keeps a chain-of-thought already in the answer format', () => {
    const formatted = '<think>3 - 1 = 2</think><answer>2</answer>';
    expect(replayText(`\n${formatted}\n`, '2')).toBe(formatted);
  });

  it('one action per task with a cot; tasks without one are counted as missing', async () => {
    const sampler = (await replay.create(replay.options.parse({}), {
      name: 'cot',
      random: Random.fromSeed(1),
      configDirectory: '.',
      warn: () => {},
    })) as AuxiliarySampler;
    const prompt = { system: '', user: 'q', images: [] };
    const result = await sampler.sample(
      [
        { prompt, task: task({ cot: 'Two remain.' }) },
        { prompt, task: task({}) },
      ],
      4,
      { seed: 1 },
    );
    expect(result.actions).toEqual([
      [
        {
          source: 'cot',
          text: '<think>Two remain.</think><answer>2</answer>',
          cost: { usd: 0 },
          latencyMs: 0,
        },
      ],
      [],
    ]);
    expect(result.metrics).toEqual({ missing: 1 });
  });
});

describe('conformance', () => {
  it("passes testkit's sampler suite", async () => {
    const { instance } = await instantiatePlugin(replay);
    await samplerConformance(instance, { tasks: [task({ cot: 'Two remain.' }), task({})] });
  });
});
