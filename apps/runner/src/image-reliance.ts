import type { PolicyBackend, PromptTemplate, Task, TaskImage } from '@ekipl/core';

// A 1 x 1 mid-grey PNG: the backend resizes it to a flat grey image of its input size.
const greyPng = Uint8Array.from(
  Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGNoaGgAAAMEAYFL09IQAAAAAElFTkSuQmCC',
    'base64',
  ),
);

/** A flat grey image: what a task looks like to a policy with its images blanked. */
export const blankImage: TaskImage = { data: greyPng, mediaType: 'image/png' };

/** The task with every image replaced by a flat grey one (as many as it had). */
export function blankTask(task: Task): Task {
  return { ...task, images: task.images.map(() => blankImage) };
}

/**
 * Token range [start, end) of the text inside `<answer>...</answer>` in `text`'s completion tokens, or
 * undefined without a closed answer tag. Found by encoding prefixes, so it holds for any tokenizer
 * whose tokens of a prefix are a prefix of the text's (byte-level ones are).
 */
export function answerSpan(policy: PolicyBackend, text: string): { start: number; end: number } | undefined {
  const open = text.lastIndexOf('<answer>');
  const close = text.indexOf('</answer>', open);
  if (open < 0 || close < 0) return undefined;
  const tokensOf = (prefix: string) => policy.encode(prefix).length - 1; // without end-of-sequence
  const start = tokensOf(text.slice(0, open + '<answer>'.length));
  const end = tokensOf(text.slice(0, close));
  return end > start ? { start, end } : undefined;
}

export interface ImageReliance {
  /** Mean over answers of |log p(answer | images) - log p(answer | blank images)|, in nats. */
  meanAbsoluteShift: number;
  /** Mean of the signed shift: > 0 when the real images make the answers more likely. */
  meanShift: number;
  /** Answers with an answer tag that were scored. */
  answers: number;
}

/**
 * How much the policy's answers depend on its images: each text's answer-span log-prob (teacher
 * forced, at `temperature`) with the task's images and with them blanked. A policy that ignores its
 * images gives ~0: the symptom of a warm start that learnt the answer prior, not perception.
 */
export async function imageReliance(
  policy: PolicyBackend,
  renderPrompt: PromptTemplate,
  items: readonly { task: Task; text: string }[],
  temperature: number,
): Promise<ImageReliance> {
  const scored = items
    .map((item) => ({ ...item, span: answerSpan(policy, item.text) }))
    .filter((item) => item.span !== undefined && item.task.images.length > 0);
  if (scored.length === 0) return { meanAbsoluteShift: 0, meanShift: 0, answers: 0 };
  const requests = (blank: boolean) =>
    scored.map(({ task, text }) => ({
      prompt: renderPrompt(blank ? blankTask(task) : task),
      tokens: policy.encode(text),
    }));
  const real = await policy.score(requests(false), 'current', temperature);
  const blank = await policy.score(requests(true), 'current', temperature);
  let absolute = 0;
  let signed = 0;
  scored.forEach(({ span }, i) => {
    let shift = 0;
    for (let t = span!.start; t < span!.end; t++) shift += real[i]![t]! - blank[i]![t]!;
    absolute += Math.abs(shift);
    signed += shift;
  });
  return {
    meanAbsoluteShift: absolute / scored.length,
    meanShift: signed / scored.length,
    answers: scored.length,
  };
}
