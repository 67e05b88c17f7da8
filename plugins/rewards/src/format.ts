import { definePlugin, specificationVersion, z } from '@ekipl/core';

const isWhitespace = (character: string) => /\s/.test(character);

/**
 * Reason-RFT's format rule: 1 if the whole text matches `<think>.*?</think>\s*<answer>.*?</answer>`
 * (Python `re.fullmatch` with DOTALL), else 0. With fullmatch, that is: the text starts with `<think>`,
 * ends with `</answer>`, and somewhere between, a `</think>` is followed by optional whitespace and
 * `<answer>`. Checked in one linear scan instead of a backtracking regex (which is quadratic or worse on
 * texts with thousands of tags).
 */
export function formatScore(text: string): number {
  const thinkOpen = '<think>';
  const thinkClose = '</think>';
  const answerOpen = '<answer>';
  const answerClose = '</answer>';
  if (!text.startsWith(thinkOpen) || !text.endsWith(answerClose)) return 0;
  const lastAnswerOpenEnd = text.length - answerClose.length; // <answer> must end at or before this
  for (
    let closeAt = text.indexOf(thinkClose, thinkOpen.length);
    closeAt >= 0;
    closeAt = text.indexOf(thinkClose, closeAt + 1)
  ) {
    let position = closeAt + thinkClose.length;
    while (position < text.length && isWhitespace(text[position]!)) position++;
    if (text.startsWith(answerOpen, position) && position + answerOpen.length <= lastAnswerOpenEnd) return 1;
  }
  return 0;
}

export const format = definePlugin({
  kind: 'reward',
  name: 'format',
  description: '1 if the text is <think>...</think> then <answer>...</answer> (Reason-RFT), else 0',
  options: z.strictObject({}),
  create: (_, context) => ({
    specificationVersion,
    name: context.name,
    score: (action) => formatScore(action.text),
  }),
});
