import {
  definePlugin,
  extractAnswer,
  firstAnswerTag,
  specificationVersion,
  type Task,
  tagContents,
  z,
} from '@ekipl/core';
/**
 * Perception rewards of seed 004 ("From Sight to Insight", later "Disentangling Perception and
 * Reasoning in Multimodal LLMs via Reward Design", arXiv 2601.00215), as reported secondhand in
 * reference/sight-to-insight-abstract.txt:
 * - a tag reward for a non-answer tag: tanh(#unique sentences) - tanh(#duplicate sentences) of its
 *   content (0 when the tag is absent), rewarding longer, non-repetitive descriptions and reasoning;
 * - `visual`: the same over `<visual>` blocks inside `<think>`;
 * - the answer: accuracy (the `accuracy` reward's rules), or for `continuous` numeric partial credit
 *   0 if |d| > 5 else 1 / (1 + |d|) (non-numeric answers fall back to accuracy).
 * Presets are the paper's six weightings. Interpretation: No-Accuracy's 0.1 "on the tag" rewards the
 * presence of a non-empty `<answer>` tag, not its correctness.
 * Range: tag parts in (-1, 1), answer parts in [0, 1]; the presets' weights sum to 1, so their total is
 * in [-1, 1] (custom `weights`: within minus / plus the sum of their absolute values).
 */
import { accuracyScore } from './accuracy.js';
import { parseNumber } from './parse-number.js';
import { type Tolerance, toleranceSchema } from './tolerance.js';

export type PerceptionPart =
  | 'image-description'
  | 'think'
  | 'rethink'
  | 'visual'
  | 'answer'
  | 'continuous-answer'
  | 'answer-tag';

export const perceptionPresets = {
  vanilla: { think: 0.1, answer: 0.9 },
  'only-accuracy': { answer: 1 },
  mixture: { 'image-description': 0.06, think: 0.06, rethink: 0.08, answer: 0.8 },
  continuous: { 'image-description': 0.06, think: 0.06, rethink: 0.08, 'continuous-answer': 0.8 },
  'visual-fusion': { think: 0.1, visual: 0.1, answer: 0.8 },
  'no-accuracy': { 'image-description': 0.3, think: 0.3, rethink: 0.3, 'answer-tag': 0.1 },
} as const satisfies Record<string, Partial<Record<PerceptionPart, number>>>;

export type PerceptionPreset = keyof typeof perceptionPresets;

/** Sentences of a text: split after . ! ? and at line breaks, trimmed, empty ones dropped. */
export function sentences(text: string): string[] {
  const result: string[] = [];
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    const character = text[i];
    if (
      i === text.length ||
      character === '\n' ||
      character === '.' ||
      character === '!' ||
      character === '?'
    ) {
      const sentence = text.slice(start, i).trim();
      if (sentence !== '') result.push(sentence.toLowerCase());
      start = i + 1;
    }
  }
  return result;
}

/** tanh(unique sentences) - tanh(duplicate sentences) over the blocks' content; 0 with no block. */
export function tagScore(blocks: readonly string[]): number {
  if (blocks.length === 0) return 0;
  const all = blocks.flatMap(sentences);
  const unique = new Set(all).size;
  return Math.tanh(unique) - Math.tanh(all.length - unique);
}

/** Numeric partial credit: 0 if |pred - gt| > 5, else 1 / (1 + |pred - gt|). */
export function continuousCredit(predicted: number, truth: number): number {
  const difference = Math.abs(predicted - truth);
  return difference > 5 ? 0 : 1 / (1 + difference);
}

export function perceptionParts(
  text: string,
  task: Task,
  tolerance: Tolerance,
): Record<PerceptionPart, number> {
  const thinkBlocks = tagContents(text, 'think');
  const answer = accuracyScore(text, task, tolerance);
  const predicted = parseNumber(extractAnswer(text));
  const truth = parseNumber(extractAnswer(task.answer));
  return {
    'image-description': tagScore(tagContents(text, 'image-description')),
    think: tagScore(thinkBlocks),
    rethink: tagScore(tagContents(text, 'rethink')),
    visual: tagScore(thinkBlocks.flatMap((block) => tagContents(block, 'visual'))),
    answer,
    'continuous-answer':
      predicted !== undefined && truth !== undefined ? continuousCredit(predicted, truth) : answer,
    'answer-tag': (firstAnswerTag(text)?.trim() ?? '') === '' ? 0 : 1,
  };
}

const partNames = [
  'image-description',
  'think',
  'rethink',
  'visual',
  'answer',
  'continuous-answer',
  'answer-tag',
] as const;

export const perception = definePlugin({
  kind: 'reward',
  name: 'perception',
  description: 'tag rewards tanh(unique) - tanh(duplicate sentences) + answer credit, by preset (seed 004)',
  options: z.strictObject({
    preset: z
      .enum(Object.keys(perceptionPresets) as [PerceptionPreset, ...PerceptionPreset[]])
      .default('mixture')
      .describe(
        'Which reward parts count and their weights, as named in seed 004 (see the presets in the README).',
      ),
    weights: z
      .partialRecord(z.enum(partNames), z.number())
      .optional()
      .describe("Replaces the preset's weights when given."),
    tolerance: toleranceSchema,
  }),
  create: (options, context) => {
    const weights: Partial<Record<PerceptionPart, number>> =
      options.weights ?? perceptionPresets[options.preset];
    return {
      specificationVersion,
      name: context.name,
      score(action, task) {
        const parts = perceptionParts(action.text, task, options.tolerance);
        let value = 0;
        const weighted: Record<string, number> = {};
        for (const [part, weight] of Object.entries(weights) as [PerceptionPart, number][]) {
          value += weight * parts[part];
          weighted[part] = parts[part];
        }
        return { value, parts: weighted };
      },
    };
  },
});
