import type { Task, TaskFamily } from '@ekipl/core';

/** A task with a placeholder image, for tests whose rewards read only `answer`. */
export function createFakeTask(id: string, answer: string, family: TaskFamily = 'counting'): Task {
  return {
    id,
    family,
    images: [{ data: new Uint8Array([137, 80, 78, 71]), mediaType: 'image/png' }],
    question: `How many objects are there in scene ${id}?`,
    answer,
    split: 'train',
  };
}
