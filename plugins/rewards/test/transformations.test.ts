import { describe, expect, it } from 'vitest';
import { accuracy, parseTransformations, transformationScore } from '../src/index.js';
import { createReward, task, value } from './helpers.js';

// Reason-RFT's func_accuracy_reward: item = (distinct / all predicted calls) / max(distinct predicted,
// distinct truth); greedy passes exact 1, func+object 0.5, func+value 0.5, func 0.25.
const cases: [name: string, predicted: string, truth: string, expected: number][] = [
  ['exact single call', 'change_color(1, red)', 'change_color(1, red)', 1],
  [
    'exact, other order',
    'change_size(2, small), change_color(1, red)',
    'change_color(1, red), change_size(2, small)',
    1,
  ],
  ['same func and object: 0.5', 'change_color(1, blue)', 'change_color(1, red)', 0.5],
  ['same func and value: 0.5', 'change_color(2, red)', 'change_color(1, red)', 0.5],
  ['same func only: 0.25', 'change_color(2, blue)', 'change_color(1, red)', 0.25],
  ['nothing in common: 0', 'change_shape(1, cube)', 'change_color(1, red)', 0],
  ['one of two found: 1 x 1/2', 'change_color(1, red)', 'change_color(1, red), change_size(2, small)', 0.5],
  ['one extra call: 1 x 1/2', 'change_color(1, red), change_size(3, large)', 'change_color(1, red)', 0.5],
  [
    'a repeat halves the credit: (1/2) / 1',
    'change_color(1, red), change_color(1, red)',
    'change_color(1, red)',
    0.5,
  ],
  [
    'a repeat among two: item (2/3) / 2, two exact -> 2/3',
    'change_color(1, red), change_color(1, red), change_size(2, small)',
    'change_color(1, red), change_size(2, small)',
    2 / 3,
  ],
  ['empty answer', '', 'change_color(1, red)', 0],
  ['malformed: no comma', 'change_color(1 red)', 'change_color(1, red)', 0],
  ['malformed: empty value', 'change_color(1, )', 'change_color(1, red)', 0],
  ['malformed: no function name', '(1, red)', 'change_color(1, red)', 0],
  ['malformed: unclosed', 'change_color(1, red', 'change_color(1, red)', 0],
  [
    'one good call and one malformed: 1 x 1/2',
    'change_color(1, red), change_size(2 small)',
    'change_color(1, red), change_size(2, small)',
    0.5,
  ],
  ['quoted value', "change_material(0, 'metal')", 'change_material(0, metal)', 1],
  [
    'inside answer tags',
    '<think>The cube turned red.</think><answer>change_color(1, red)</answer>',
    'change_color(1, red)',
    1,
  ],
  [
    'two func+object pairs: 2 x 0.5 x 1/2',
    'change_color(1, blue), change_color(2, red)',
    'change_color(1, red), change_color(2, blue)',
    0.5,
  ],
  [
    'func only, crossed: 2 x 0.25 x 1/2',
    'change_size(1, red), change_color(2, small)',
    'change_color(1, red), change_size(2, small)',
    0.25,
  ],
  [
    'exact beats partial in greedy order: 1 x 1/2',
    'change_color(1, red), change_color(1, blue)',
    'change_color(1, blue)',
    0.5,
  ],
  ['spaces around arguments are accepted', 'change_size( 2 , small )', 'change_size(2, small)', 1],
];

describe('TRANCE transformation scoring (Reason-RFT rules)', () => {
  for (const [name, predicted, truth, expected] of cases) {
    it(name, async () => {
      expect(transformationScore(predicted, truth)).toBeCloseTo(expected, 12);
      const reward = await createReward(accuracy);
      expect(await value(reward, predicted, task('spatial', truth))).toBeCloseTo(expected, 12);
    });
  }

  it('parses calls in order, keeping repeats', () => {
    expect(
      parseTransformations("change_color(1, red), change_material(0, 'metal'); change_color(1, red)"),
    ).toEqual([
      { func: 'change_color', object: '1', value: 'red' },
      { func: 'change_material', object: '0', value: 'metal' },
      { func: 'change_color', object: '1', value: 'red' },
    ]);
  });
});
