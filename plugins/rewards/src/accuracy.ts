import { definePlugin, extractAnswer, specificationVersion, type Task, z } from '@ekipl/core';
import { parseNumber } from './parse-number.js';
import { type Tolerance, toleranceSchema } from './tolerance.js';

export type { Tolerance };

import { transformationScore } from './transformations.js';

/**
 * Reason-RFT's structure-perception curve: d = |pred - gt|; 1 if d < full |gt|, 0 if d > zero |gt|,
 * else (1 + cos(pi (d - full |gt|) / ((zero - full) |gt|))) / 2. Departure: gt = 0 scores 1 exactly
 * when pred = 0 (Reason-RFT divides 0 by 0 there and gives 0).
 */
export function toleranceScore(predicted: number, truth: number, tolerance: Tolerance): number {
  const difference = Math.abs(predicted - truth);
  const scale = Math.abs(truth);
  if (scale === 0) return difference === 0 ? 1 : 0;
  if (difference < tolerance.full * scale) return 1;
  if (difference > tolerance.zero * scale) return 0;
  const normalised = (difference - tolerance.full * scale) / ((tolerance.zero - tolerance.full) * scale);
  return 0.5 * (Math.cos(Math.PI * normalised) + 1);
}

const choiceLetter = /^\(?([A-Za-z])\)?\.?$/;

/** `B`, `b`, `(B)`, `B.`, the choice's own text, or `B. <its text>`: all the same choice. */
export function choiceMatches(
  answer: string,
  truthLetter: string,
  choices: readonly string[] | undefined,
): boolean {
  const letter = choiceLetter.exec(answer)?.[1];
  if (letter !== undefined) return letter.toUpperCase() === truthLetter.toUpperCase();
  const choiceText = choices?.[truthLetter.toUpperCase().charCodeAt(0) - 65]?.trim().toLowerCase();
  if (choiceText === undefined || choiceText === '') return false;
  const normalised = answer.toLowerCase();
  if (normalised === choiceText) return true;
  // `B. 45 degrees`: the letter must be the right one too (`A. 45 degrees` names two different options).
  const prefixed = /^\(?([a-z])\)?[.:]?\s+/.exec(normalised);
  return (
    prefixed !== null &&
    prefixed[1] === truthLetter.toLowerCase() &&
    normalised.slice(prefixed[0].length) === choiceText
  );
}

/**
 * Accuracy in [0, 1] by task family:
 * - `spatial`: TRANCE transformation lists with Reason-RFT's partial credit (transformations.ts);
 * - multiple choice (the task has choices, or its answer is one letter): the same option;
 * - `structure` with a numeric answer: the tolerance curve;
 * - otherwise (counting and any other family): numbers compared as numbers ("3", "3.0", " 3 " agree),
 *   anything else as exact text.
 * The predicted answer is the first single-line `<answer>` tag's content, or the whole text (Reason-RFT).
 * Reason-RFT's symbolic fallback (math_verify) is not reproduced.
 */
export function accuracyScore(text: string, task: Task, tolerance: Tolerance): number {
  const answer = extractAnswer(text);
  const truth = extractAnswer(task.answer);
  if (task.family === 'spatial') return transformationScore(answer, truth);
  const truthLetter = choiceLetter.exec(truth)?.[1];
  if (truthLetter !== undefined && (task.choices !== undefined || truth.length <= 3)) {
    return choiceMatches(answer, truthLetter, task.choices) ? 1 : 0;
  }
  const truthNumber = parseNumber(truth);
  const predictedNumber = parseNumber(answer);
  if (truthNumber !== undefined && predictedNumber !== undefined) {
    if (task.family === 'structure') return toleranceScore(predictedNumber, truthNumber, tolerance);
    return predictedNumber === truthNumber ? 1 : 0;
  }
  return answer === truth ? 1 : 0;
}

export const accuracy = definePlugin({
  kind: 'reward',
  name: 'accuracy',
  description:
    'answer correctness by task family, as Reason-RFT scores it (partial credit where it gives it)',
  options: z.strictObject({
    tolerance: toleranceSchema.describe('Relative-error curve for numeric structure-perception answers.'),
  }),
  create: (options, context) => ({
    specificationVersion,
    name: context.name,
    score: (action, task) => accuracyScore(action.text, task, options.tolerance),
  }),
});
