import { firstAnswerTag, Random } from '@ekipl/core';
import { rewardConformance } from '@ekipl/testkit';
import { describe, expect, it } from 'vitest';
import {
  accuracy,
  continuousCredit,
  format,
  formatScore,
  perception,
  perceptionPresets,
  sentences,
  tagScore,
  toleranceScore,
} from '../src/index.js';
import { createReward, task, value } from './helpers.js';

describe('format (Reason-RFT: fullmatch <think>.*?</think>\\s*<answer>.*?</answer>, dotall)', () => {
  const cases: [string, number][] = [
    ['<think>a</think><answer>3</answer>', 1],
    ['<think>a\nb</think>\n\n<answer>3</answer>', 1],
    ['<think></think><answer></answer>', 1],
    ['<think>a</think>b</think> <answer>3</answer>', 1], // the first .*? may span a </think>
    ['<think>a</think><answer>3</answer>more</answer>', 1], // the second .*? may span an </answer>
    [' <think>a</think><answer>3</answer>', 0], // fullmatch: nothing before
    ['<think>a</think><answer>3</answer>\n', 0], // nor after
    ['<think>a</think>x<answer>3</answer>', 0],
    ['<answer>3</answer>', 0],
    ['<think>a</think><answer>3', 0],
    ['<think>a<answer>3</answer>', 0],
    ['', 0],
  ];
  for (const [text, expected] of cases) {
    it(`${JSON.stringify(text)} -> ${expected}`, async () => {
      expect(await value(await createReward(format), text, task('counting', '3'))).toBe(expected);
    });
  }

  it('agrees with the reference regular expression on 5000 random tag soups', () => {
    const reference = /^<think>.*?<\/think>\s*<answer>.*?<\/answer>$/s;
    const random = Random.fromSeed('format-differential');
    const pieces = ['<think>', '</think>', '<answer>', '</answer>', ' ', '\n', 'x', '<', '>', '/', 'think'];
    for (let trial = 0; trial < 5000; trial++) {
      const text = Array.from({ length: random.int(9) }, () => random.pick(pieces)).join('');
      expect(formatScore(text), text).toBe(reference.test(text) ? 1 : 0);
    }
  });
});

describe('answer extraction (Reason-RFT: first <answer>(.*?)</answer>, no dotall)', () => {
  it('agrees with the reference regular expression on 5000 random texts', () => {
    const reference = /<answer>(.*?)<\/answer>/;
    const random = Random.fromSeed('extract-differential');
    const pieces = ['<answer>', '</answer>', '\n', ' ', '3', 'x', '<', '>'];
    for (let trial = 0; trial < 5000; trial++) {
      const text = Array.from({ length: random.int(10) }, () => random.pick(pieces)).join('');
      expect(firstAnswerTag(text), JSON.stringify(text)).toBe(reference.exec(text)?.[1]);
    }
  });
});

describe('accuracy', () => {
  it('counting: numbers compare as numbers, tagged or not', async () => {
    const reward = await createReward(accuracy);
    const three = task('counting', '3');
    for (const text of [
      '3',
      '3.0',
      ' 3 ',
      '<answer> 3 </answer>',
      '<think>2 + 1</think><answer>3.0</answer>',
      '+3',
      '3e0',
    ]) {
      expect(await value(reward, text, three), text).toBe(1);
    }
    for (const text of [
      '4',
      'three',
      'The answer is 3',
      '<answer>3 cubes</answer>',
      '<answer>\n3</answer>x',
    ]) {
      expect(await value(reward, text, three), text).toBe(0);
    }
  });

  it('multiple choice: letters case-insensitive, (B) and B agree, the option text counts', async () => {
    const reward = await createReward(accuracy);
    const question = task('structure', 'B', ['30 degrees', '45 degrees', '60 degrees', '90 degrees']);
    for (const text of [
      'B',
      'b',
      '(B)',
      'B.',
      '<answer>(b)</answer>',
      '45 degrees',
      'B. 45 degrees',
      '(B) 45 Degrees',
    ]) {
      expect(await value(reward, text, question), text).toBe(1);
    }
    for (const text of ['C', 'Because', '60 degrees', 'A. 45 degrees', '']) {
      expect(await value(reward, text, question), text).toBe(0);
    }
    expect(await value(reward, '<answer>B</answer>', task('counting', '(B)'))).toBe(1);
  });

  it("structure numeric: Reason-RFT's tolerance curve (1 within 5 %, 0 beyond 20 %, half-cosine between)", async () => {
    const reward = await createReward(accuracy);
    const ten = task('structure', '10');
    expect(await value(reward, '10.4', ten)).toBe(1); // 4 %
    expect(await value(reward, '10.5', ten)).toBe(1); // 5 %: normalised 0, cos 0 -> 1
    expect(await value(reward, '11.25', ten)).toBeCloseTo(0.5, 12); // (1.25 - 0.5) / 1.5 = 0.5 -> (cos(pi/2) + 1) / 2
    expect(await value(reward, '12', ten)).toBeCloseTo(0, 12); // 20 %: normalised 1 -> (cos(pi) + 1) / 2
    expect(await value(reward, '12.5', ten)).toBe(0); // 25 %
    expect(await value(reward, '7.75', ten)).toBeCloseTo(
      toleranceScore(7.75, 10, { full: 0.05, zero: 0.2 }),
      12,
    );
    expect(toleranceScore(0, 0, { full: 0.05, zero: 0.2 })).toBe(1); // departure: Reason-RFT's 0/0 gives 0
    expect(toleranceScore(0.1, 0, { full: 0.05, zero: 0.2 })).toBe(0);
  });

  it('rejects a tolerance whose zero point is below its full-credit point', () => {
    expect(() => accuracy.options.parse({ tolerance: { full: 0.3, zero: 0.2 } })).toThrow(
      /tolerance.zero must be above/,
    );
  });
});

describe('perception (seed 004)', () => {
  it('tag score: tanh(unique sentences) - tanh(duplicate sentences)', () => {
    expect(sentences('The cube is red. The cube is red. It is big!')).toEqual([
      'the cube is red',
      'the cube is red',
      'it is big',
    ]);
    // 2 unique, 1 duplicate: tanh(2) - tanh(1) = 0.20243342412005205
    expect(tagScore(['The cube is red. The cube is red. It is big!'])).toBeCloseTo(0.20243342412005205, 12);
    expect(tagScore([])).toBe(0);
  });

  it('vanilla: 0.1 think + 0.9 accuracy', async () => {
    const reward = await createReward(perception, { preset: 'vanilla' });
    // think: 2 unique sentences -> tanh(2) = 0.9640275800758169; 0.1 x 0.96403 + 0.9 x 1 = 0.9964027580075817
    const result = await reward.score(
      { source: 'policy', text: '<think>One. Two.</think><answer>3</answer>' },
      task('counting', '3'),
    );
    expect(result).toEqual({
      value: expect.closeTo(0.9964027580075817, 12),
      parts: { think: expect.closeTo(0.9640275800758169, 12), answer: 1 },
    });
  });

  it('mixture: 0.06 image-description + 0.06 think + 0.08 rethink + 0.8 answer', async () => {
    const reward = await createReward(perception);
    const text =
      '<image-description>A red cube.</image-description><think>One. Two.</think><answer>3</answer>';
    // 0.06 tanh(1) + 0.06 tanh(2) + 0.08 x 0 (no rethink) + 0.8 x 1 = 0.9035373041618949
    expect(await value(reward, text, task('counting', '3'))).toBeCloseTo(0.9035373041618949, 12);
  });

  it('continuous credit: 0 if |d| > 5 else 1 / (1 + |d|)', async () => {
    expect(continuousCredit(5, 3)).toBeCloseTo(1 / 3, 12);
    expect(continuousCredit(9, 3)).toBe(0);
    expect(continuousCredit(8, 3)).toBeCloseTo(1 / 6, 12);
    const reward = await createReward(perception, { preset: 'continuous' });
    const result = await reward.score(
      { source: 'policy', text: '<answer>5</answer>' },
      task('counting', '3'),
    );
    expect(typeof result === 'number' ? undefined : result.parts['continuous-answer']).toBeCloseTo(1 / 3, 12);
  });

  it('visual-fusion scores <visual> inside <think>; no-accuracy rewards the answer tag, not its correctness', async () => {
    const fusion = await createReward(perception, { preset: 'visual-fusion' });
    const text = '<think>Look. <visual>A red cube. A blue ball.</visual></think><answer>2</answer>';
    const result = await fusion.score({ source: 'policy', text }, task('counting', '2'));
    expect(typeof result === 'number' ? undefined : result.parts['visual']).toBeCloseTo(Math.tanh(2), 12);
    const noAccuracy = await createReward(perception, { preset: 'no-accuracy' });
    const wrong = await noAccuracy.score(
      { source: 'policy', text: '<answer>7</answer>' },
      task('counting', '2'),
    );
    expect(typeof wrong === 'number' ? undefined : wrong.parts['answer-tag']).toBe(1);
  });

  it('every preset weighs to 1', () => {
    for (const [name, weights] of Object.entries(perceptionPresets)) {
      expect(
        Object.values(weights).reduce((sum: number, weight: number) => sum + weight, 0),
        name,
      ).toBeCloseTo(1, 12);
    }
  });
});

describe('totality: conformance fuzz over random and adversarial strings', () => {
  const tasks = [
    task('counting', '3'),
    task('structure', '12.5'),
    task('structure', 'C', ['a', 'b', 'c', 'd']),
    task('spatial', 'change_color(1, red), change_size(2, small)'),
  ];
  it('format stays in [0, 1]', async () => {
    await rewardConformance(await createReward(format), { tasks, range: [0, 1] });
  });
  it('accuracy stays in [0, 1]', async () => {
    await rewardConformance(await createReward(accuracy), { tasks, range: [0, 1] });
  });
  for (const preset of Object.keys(perceptionPresets)) {
    it(`perception ${preset} stays in [-1, 1]`, async () => {
      await rewardConformance(await createReward(perception, { preset }), {
        tasks: tasks.slice(0, 2),
        range: [-1, 1],
        randomTrials: 50,
      });
    });
  }
});
