/**
 * TRANCE-like spatial transformation: an initial and a final scene (two images, objects labelled by
 * id); the question lists the initial objects as TRANCE does, `(id, shape, size, color, material)`,
 * and the answer is the list of `func(object_id, value)` calls that turn one into the other, sorted by
 * object id, at most one call per object (so the answer is unambiguous).
 *
 * Functions and values (TRANCE's): change_size small|medium|large, change_color (8 colours),
 * change_material glass|metal|rubber, change_shape cube|sphere|cylinder, change_position front|behind|
 * left|right|front_left|front_right|behind_left|behind_right (front = towards the viewer, +y).
 *
 * Splits: train and id apply 1-3 transformations with the same viewpoint for both images; ood applies
 * 4 and draws the final scene from a shifted viewpoint (offset and zoomed).
 */
import type { Random, Task, TaskSplit } from '@ekipl/core';
import { encodePng } from './png.js';
import {
  colorNames,
  drawScene,
  frontView,
  materials,
  placeObjects,
  type SceneObject,
  shapes,
  sizeRadius,
  sizes,
  type View,
} from './scene.js';

export interface SpatialOptions {
  imageSize: number;
  objects: { min: number; max: number };
}

export const transformationFunctions = [
  'change_size',
  'change_color',
  'change_material',
  'change_shape',
  'change_position',
] as const;
export type TransformationFunction = (typeof transformationFunctions)[number];

export const directions: Record<string, readonly [number, number]> = {
  front: [0, 1],
  behind: [0, -1],
  left: [-1, 0],
  right: [1, 0],
  front_left: [-Math.SQRT1_2, Math.SQRT1_2],
  front_right: [Math.SQRT1_2, Math.SQRT1_2],
  behind_left: [-Math.SQRT1_2, -Math.SQRT1_2],
  behind_right: [Math.SQRT1_2, -Math.SQRT1_2],
};

/** How far change_position moves an object, in image units. */
export const positionStep = 0.22;

export interface SpatialTransformation {
  func: TransformationFunction;
  object: number;
  value: string;
}

export const oodView: View = { dx: 0.04, dy: -0.03, zoom: 0.88 };

export function formatTransformations(transformations: readonly SpatialTransformation[]): string {
  return transformations.map((t) => `${t.func}(${t.object}, ${t.value})`).join(', ');
}

/** The scene after the transformations (positions moved by `positionStep` in their direction). */
export function applyTransformations(
  objects: readonly SceneObject[],
  transformations: readonly SpatialTransformation[],
): SceneObject[] {
  return objects.map((object) => {
    const changed = { ...object };
    for (const t of transformations) {
      if (t.object !== object.id) continue;
      if (t.func === 'change_size') changed.size = t.value as SceneObject['size'];
      if (t.func === 'change_color') changed.color = t.value as SceneObject['color'];
      if (t.func === 'change_material') changed.material = t.value as SceneObject['material'];
      if (t.func === 'change_shape') changed.shape = t.value as SceneObject['shape'];
      if (t.func === 'change_position') {
        const [dx, dy] = directions[t.value]!;
        changed.x += dx * positionStep;
        changed.y += dy * positionStep;
      }
    }
    return changed;
  });
}

export async function spatialTask(
  random: Random,
  split: TaskSplit,
  index: number,
  options: SpatialOptions,
): Promise<Task> {
  const ood = split === 'ood';
  const chainLength = ood ? 4 : 1 + random.int(3);
  for (;;) {
    const count = Math.max(
      chainLength,
      options.objects.min + random.int(options.objects.max - options.objects.min + 1),
    );
    const drafts = Array.from({ length: count }, (_, id) => ({
      id,
      shape: random.pick(shapes),
      size: random.pick(sizes),
      color: random.pick(colorNames),
      material: random.pick(materials),
    }));
    // Room for the largest size everywhere, so a change_size never makes objects overlap.
    const positions = placeObjects(
      random,
      drafts.map(() => sizeRadius.large),
      0.05,
    );
    if (positions === undefined) continue;
    const initial: SceneObject[] = drafts.map((draft, i) => ({ ...draft, ...positions[i]! }));
    const targets = random
      .shuffle(initial.map((object) => object.id))
      .slice(0, chainLength)
      .sort((a, b) => a - b);
    const transformations: SpatialTransformation[] = [];
    for (const id of targets) {
      const transformation = pickTransformation(random, initial, transformations, id);
      if (transformation !== undefined) transformations.push(transformation);
    }
    if (transformations.length !== chainLength) continue;
    const final = applyTransformations(initial, transformations);
    const answer = formatTransformations(transformations);
    const [first, second] = await Promise.all([
      encodePng(drawScene(initial, options.imageSize, { labels: true })),
      encodePng(drawScene(final, options.imageSize, { labels: true, view: ood ? oodView : frontView })),
    ]);
    const objectList = initial
      .map((o) => `(${o.id}, ${o.shape}, ${o.size}, ${o.color}, ${o.material})`)
      .join(', ');
    return {
      id: `spatial-${split}-${index}`,
      family: 'spatial',
      images: [
        { data: first, mediaType: 'image/png' },
        { data: second, mediaType: 'image/png' },
      ],
      question: `The first image is the initial state, the second the final state. Initial objects (id, shape, size, color, material): ${objectList}. Which transformations change the initial state into the final state?`,
      answer,
      split,
      metadata: {
        initial,
        final,
        transformations,
        view: ood ? oodView : frontView,
        reasoning: transformations.map((t) => describeChange(initial[t.object]!, t)),
        distractors: [formatTransformations(zeroCreditDistractor(random, initial, transformations))],
      },
    };
  }
}

function pickTransformation(
  random: Random,
  objects: readonly SceneObject[],
  chosen: readonly SpatialTransformation[],
  id: number,
): SpatialTransformation | undefined {
  const object = objects[id]!;
  for (const func of random.shuffle(transformationFunctions)) {
    if (func === 'change_position') {
      const moved = applyTransformations(objects, chosen);
      for (const direction of random.shuffle(Object.keys(directions))) {
        const candidate: SpatialTransformation = { func, object: id, value: direction };
        const after = applyTransformations(moved, [candidate]);
        if (fitsWithoutOverlap(after)) return candidate;
      }
      continue;
    }
    const current =
      func === 'change_size'
        ? object.size
        : func === 'change_color'
          ? object.color
          : func === 'change_material'
            ? object.material
            : object.shape;
    const values: readonly string[] =
      func === 'change_size'
        ? sizes
        : func === 'change_color'
          ? colorNames
          : func === 'change_material'
            ? materials
            : shapes;
    return { func, object: id, value: random.pick(values.filter((value) => value !== current)) };
  }
  return undefined;
}

function fitsWithoutOverlap(objects: readonly SceneObject[]): boolean {
  const r = sizeRadius.large;
  const inside = objects.every(
    (o) => o.x >= r + 0.02 && o.x <= 1 - r - 0.02 && o.y >= r + 0.02 && o.y <= 1 - r - 0.02,
  );
  return (
    inside &&
    objects.every((a, i) =>
      objects.every((b, j) => j <= i || Math.hypot(a.x - b.x, a.y - b.y) > 2 * r + 0.02),
    )
  );
}

function describeChange(object: SceneObject, t: SpatialTransformation): string {
  const name = `Object ${object.id} (${object.size} ${object.color} ${object.material} ${object.shape})`;
  switch (t.func) {
    case 'change_size':
      return `${name} is ${t.value} in the final state.`;
    case 'change_color':
      return `${name} turned ${t.value}.`;
    case 'change_material':
      return `${name} is made of ${t.value} in the final state.`;
    case 'change_shape':
      return `${name} became a ${t.value}.`;
    case 'change_position':
      return `${name} moved ${t.value.replace('_', ' ')}.`;
  }
}

/** As many calls as the answer, using functions the answer does not use, so the reward gives it 0. */
function zeroCreditDistractor(
  random: Random,
  objects: readonly SceneObject[],
  truth: readonly SpatialTransformation[],
): SpatialTransformation[] {
  const unused = transformationFunctions.filter((func) => !truth.some((t) => t.func === func));
  return truth.map((t, i) => {
    const func = unused[i % unused.length]!;
    const object = objects[(t.object + 1) % objects.length]!;
    const value =
      func === 'change_position'
        ? random.pick(Object.keys(directions))
        : func === 'change_size'
          ? random.pick(sizes.filter((v) => v !== object.size))
          : func === 'change_color'
            ? random.pick(colorNames.filter((v) => v !== object.color))
            : func === 'change_material'
              ? random.pick(materials.filter((v) => v !== object.material))
              : random.pick(shapes.filter((v) => v !== object.shape));
    return { func, object: object.id, value };
  });
}
