/**
 * CLEVR-Math-like counting: a scene of objects and an arithmetic question about it.
 *
 * Question kinds (answers are integers):
 * - count:        "How many red cubes are there?"
 * - subtract:     "Subtract all red cubes. How many objects are left?"
 * - multi-hop:    "Subtract all spheres. Subtract all blue objects. How many objects are left?"
 * - add:          "Add 2 small red cubes. How many cubes are there?"
 * - adversarial:  "Subtract all green cylinders. How many objects are left?" when there are none.
 *
 * Splits: train and id draw 3-6 objects and never show the held-out combination (a yellow cylinder by
 * default); ood draws 7-10 objects, each scene holds at least one held-out object, and half its
 * questions are about it.
 */
import type { Random, Task, TaskSplit } from '@ekipl/core';
import { encodePng } from './png.js';
import {
  type ColorName,
  colorNames,
  describeObject,
  drawScene,
  placeObjects,
  type SceneObject,
  type Shape,
  type Size,
  shapes,
  sizeRadius,
} from './scene.js';

/** The kinds of question, in the order they are drawn from. */
export const questionKinds = ['count', 'subtract', 'multi-hop', 'add', 'adversarial'] as const;
export type QuestionKind = (typeof questionKinds)[number];

export interface CountingOptions {
  imageSize: number;
  /** The kinds of question drawn, each equally often (default: all). */
  questions?: readonly QuestionKind[];
  objects: { min: number; max: number };
  oodObjects: { min: number; max: number };
  heldOut: { shape: Shape; color: ColorName };
}

/** A filter on objects: any subset of size, colour and shape. */
export interface ObjectFilter {
  size?: Size;
  color?: ColorName;
  shape?: Shape;
}

/** What the question asks, kept in the task's metadata for oracles and checks. */
export type CountingProgram =
  | { kind: 'count'; filter: ObjectFilter }
  | { kind: 'subtract'; filters: ObjectFilter[] }
  | { kind: 'add'; added: Required<ObjectFilter>; amount: number; counted: ObjectFilter };

const countingSizes: Size[] = ['small', 'large'];

export function matches(object: SceneObject, filter: ObjectFilter): boolean {
  return (
    (filter.size === undefined || object.size === filter.size) &&
    (filter.color === undefined || object.color === filter.color) &&
    (filter.shape === undefined || object.shape === filter.shape)
  );
}

/** "small red cubes", "spheres", "objects"; singular for one: "small red cube". */
export function filterPhrase(filter: ObjectFilter, plural = true): string {
  const noun = filter.shape ?? 'object';
  return [filter.size, filter.color, plural ? `${noun}s` : noun]
    .filter((word) => word !== undefined)
    .join(' ');
}

export async function countingTask(
  random: Random,
  split: TaskSplit,
  index: number,
  options: CountingOptions,
): Promise<Task> {
  const ood = split === 'ood';
  const range = ood ? options.oodObjects : options.objects;
  const isHeldOut = (object: Pick<SceneObject, 'shape' | 'color'>) =>
    object.shape === options.heldOut.shape && object.color === options.heldOut.color;
  let objects: SceneObject[] | undefined;
  while (objects === undefined) {
    const count = range.min + random.int(range.max - range.min + 1);
    const drafts = Array.from({ length: count }, (_, id) => {
      for (;;) {
        const draft = {
          id,
          shape: random.pick(shapes),
          size: random.pick(countingSizes),
          color: random.pick(colorNames),
          material: random.pick(['rubber', 'metal'] as const),
        };
        if (!ood && isHeldOut(draft)) continue;
        return draft;
      }
    });
    if (ood && !drafts.some(isHeldOut)) {
      const target = drafts[random.int(drafts.length)]!;
      target.shape = options.heldOut.shape;
      target.color = options.heldOut.color;
    }
    const positions = placeObjects(
      random,
      drafts.map((draft) => sizeRadius[draft.size]),
    );
    if (positions !== undefined) objects = drafts.map((draft, i) => ({ ...draft, ...positions[i]! }));
  }
  const program = countingProgram(random, objects, options.heldOut, ood, options.questions ?? questionKinds);
  const { question, answer, reasoning } = explain(program, objects);
  const image = await encodePng(drawScene(objects, options.imageSize));
  return {
    id: `counting-${split}-${index}`,
    family: 'counting',
    images: [{ data: image, mediaType: 'image/png' }],
    question,
    answer: String(answer),
    split,
    metadata: {
      scene: objects,
      program,
      reasoning,
      distractors: [answer + 1, answer - 1, answer + 2]
        .filter((value) => value >= 0 && value !== answer)
        .map(String),
    },
  };
}

function countingProgram(
  random: Random,
  objects: readonly SceneObject[],
  heldOut: { shape: Shape; color: ColorName },
  ood: boolean,
  kinds: readonly QuestionKind[],
): CountingProgram {
  // Outside ood, no question names the held-out combination (its scenes never show it either).
  const allowed = (filter: ObjectFilter) =>
    ood || !(filter.shape === heldOut.shape && filter.color === heldOut.color);
  const fromObject = (object: SceneObject): ObjectFilter => {
    // One, two or three attributes of an existing object, so most filters match something.
    const filter: ObjectFilter = {};
    const attributes = random.shuffle(['size', 'color', 'shape'] as const).slice(0, 1 + random.int(3));
    for (const attribute of attributes) (filter as Record<string, string>)[attribute] = object[attribute];
    return filter;
  };
  const heldOutFilter = !ood || random.float() < 0.5 ? undefined : { ...heldOut };
  const someFilter = () => heldOutFilter ?? fromObject(random.pick(objects));
  const kind = random.pick(kinds);
  switch (kind) {
    case 'count':
      return { kind: 'count', filter: someFilter() };
    case 'subtract':
      return { kind: 'subtract', filters: [someFilter()] };
    case 'multi-hop': {
      const first = someFilter();
      let second = fromObject(random.pick(objects));
      for (let attempt = 0; attempt < 20 && filterPhrase(second) === filterPhrase(first); attempt++) {
        second = fromObject(random.pick(objects));
      }
      return { kind: 'subtract', filters: [first, second] };
    }
    case 'add': {
      let added = {
        size: random.pick(countingSizes),
        color: random.pick(colorNames),
        shape: random.pick(shapes),
      };
      while (!allowed(added)) added = { ...added, color: random.pick(colorNames) };
      // Half the time the counted category includes what was added, so the addition matters.
      const related = random.float() < 0.5;
      const counted: ObjectFilter =
        random.float() < 0.5
          ? { shape: related ? added.shape : random.pick(shapes) }
          : { color: related ? added.color : random.pick(colorNames) };
      return { kind: 'add', added, amount: 1 + random.int(3), counted };
    }
    case 'adversarial': {
      for (let attempt = 0; attempt < 50; attempt++) {
        const filter = { color: random.pick(colorNames), shape: random.pick(shapes) };
        if (allowed(filter) && !objects.some((object) => matches(object, filter)))
          return { kind: 'subtract', filters: [filter] };
      }
      return { kind: 'subtract', filters: [someFilter()] };
    }
  }
}

function explain(
  program: CountingProgram,
  objects: readonly SceneObject[],
): { question: string; answer: number; reasoning: string[] } {
  const reasoning = [
    `The scene has ${objects.length} objects: ${objects.map((object) => describeObject(object, false)).join(', ')}.`,
  ];
  switch (program.kind) {
    case 'count': {
      const answer = objects.filter((object) => matches(object, program.filter)).length;
      reasoning.push(`Counting the ${filterPhrase(program.filter)} gives ${answer}.`);
      return { question: `How many ${filterPhrase(program.filter)} are there?`, answer, reasoning };
    }
    case 'subtract': {
      const removed = new Set<SceneObject>();
      for (const filter of program.filters) {
        const matching = objects.filter((object) => matches(object, filter) && !removed.has(object));
        for (const object of matching) removed.add(object);
        reasoning.push(`Subtracting all ${filterPhrase(filter)} removes ${matching.length}.`);
      }
      const answer = objects.length - removed.size;
      reasoning.push(`${objects.length} - ${removed.size} = ${answer} objects are left.`);
      const steps = program.filters.map((filter) => `Subtract all ${filterPhrase(filter)}.`).join(' ');
      return { question: `${steps} How many objects are left?`, answer, reasoning };
    }
    case 'add': {
      const existing = objects.filter((object) => matches(object, program.counted)).length;
      const addedMatch = matches(
        { id: -1, ...program.added, material: 'rubber', x: 0, y: 0 },
        program.counted,
      );
      const answer = existing + (addedMatch ? program.amount : 0);
      reasoning.push(`There are ${existing} ${filterPhrase(program.counted)} now.`);
      reasoning.push(
        addedMatch
          ? `The ${program.amount} added ${filterPhrase(program.added, program.amount !== 1)} count too: ${existing} + ${program.amount} = ${answer}.`
          : `The added ${filterPhrase(program.added, program.amount !== 1)} do not count, so it stays ${answer}.`,
      );
      return {
        question: `Add ${program.amount} ${filterPhrase(program.added, program.amount !== 1)}. How many ${filterPhrase(program.counted)} are there?`,
        answer,
        reasoning,
      };
    }
  }
}
