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

export interface ImageReliance {
  /** Mean over texts of |log p(text | images) - log p(text | blank images)|, in nats. */
  meanAbsoluteShift: number;
  /** Mean of the signed shift: > 0 when the real images make the answers more likely. */
  meanShift: number;
  /** Texts scored (those of tasks with images). */
  answers: number;
}

/**
 * How much the policy's answers depend on its images: each whole completion's log-prob (teacher
 * forced, at `temperature`) with the task's images and with them blanked. The whole text, not only the
 * answer tag: a policy that reasons first reads the image while writing its reasoning (the count), and
 * its answer then follows from the text. A policy that ignores its images gives ~0.
 */
export async function imageReliance(
  policy: PolicyBackend,
  renderPrompt: PromptTemplate,
  items: readonly { task: Task; text: string }[],
  temperature: number,
): Promise<ImageReliance> {
  const scored = items.filter((item) => item.task.images.length > 0);
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
  scored.forEach((_, i) => {
    let shift = 0;
    for (let t = 0; t < real[i]!.length; t++) shift += real[i]![t]! - blank[i]![t]!;
    absolute += Math.abs(shift);
    signed += shift;
  });
  return {
    meanAbsoluteShift: absolute / scored.length,
    meanShift: signed / scored.length,
    answers: scored.length,
  };
}
