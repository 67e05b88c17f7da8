import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import {
  type Dataset,
  definePlugin,
  Random,
  specificationVersion,
  type Task,
  type TaskSplit,
  z,
} from '@ekipl/core';
import { countingTask, questionKinds } from './counting.js';
import { type DatasetRecordError, inferFamily, reasonRftTasks } from './reason-rft.js';
import { colorNames, shapes } from './scene.js';
import { spatialTask } from './spatial.js';
import { structureTask } from './structure.js';

export { type CountingProgram, filterPhrase, matches, type ObjectFilter } from './counting.js';
export { encodePng } from './png.js';
export { Canvas, type Rgb } from './raster.js';
export { DatasetRecordError, inferFamily, readRecords } from './reason-rft.js';
export * from './scene.js';
export {
  applyTransformations,
  directions,
  formatTransformations,
  oodView,
  positionStep,
  type SpatialTransformation,
  transformationFunctions,
} from './spatial.js';
export { barLayout, type Diagram, polygonNames } from './structure.js';

const splits: TaskSplit[] = ['train', 'id', 'ood'];

const range = (min: number, max: number) =>
  z
    .strictObject({
      min: z.int().positive().default(min).describe('Fewest objects in a scene.'),
      max: z.int().positive().default(max).describe('Most objects in a scene.'),
    })
    .refine((value) => value.max >= value.min, { message: 'max must be >= min' })
    .prefault({});

/** Options every synthetic dataset has. */
const syntheticOptions = {
  imageSize: z.int().min(16).max(1024).default(64).describe('Side of the square images, in pixels.'),
  seed: z
    .int()
    .default(0)
    .describe(
      "The dataset's own seed: tasks do not change with the run seed, so ablations train on the same data.",
    ),
  sizes: z
    .strictObject({
      train: z.int().positive().default(100_000).describe('Training tasks.'),
      id: z.int().positive().default(500).describe('In-domain test tasks.'),
      ood: z.int().positive().default(500).describe('Out-of-domain test tasks.'),
    })
    .prefault({}),
};

/**
 * A dataset whose task `index` of `split` is generated from its own random stream
 * (`name/seed/split/index`): the same seed gives the same tasks, whatever was read before.
 */
function syntheticDataset(
  name: string,
  seed: number,
  sizes: Record<string, number>,
  generate: (random: Random, split: TaskSplit, index: number) => Promise<Task>,
): Dataset {
  const root = Random.fromSeed(`${name}/${seed}`);
  return {
    specificationVersion,
    name,
    splits,
    async *tasks(split, options = {}) {
      const size = sizes[split];
      if (size === undefined)
        throw new Error(`${name} has no split "${split}" (splits: ${splits.join(', ')})`);
      const count = Math.min(size, options.limit ?? size);
      for (let index = 0; index < count; index++)
        yield await generate(root.split(split, index), split, index);
    },
  };
}

export const syntheticCounting = definePlugin({
  kind: 'dataset',
  name: 'synthetic-counting',
  description: 'CLEVR-Math-like scenes with add / subtract / multi-hop / adversarial counting questions',
  options: z.strictObject({
    ...syntheticOptions,
    objects: range(3, 6).describe('Objects per scene in train and id.'),
    oodObjects: range(7, 10).describe('Objects per scene in ood.'),
    questions: z
      .array(z.enum(questionKinds))
      .min(1)
      .refine((kinds) => new Set(kinds).size === kinds.length, 'names a kind twice')
      .default([...questionKinds])
      .describe(
        'The kinds of question, each drawn equally often: count, subtract, multi-hop (two subtractions), add, adversarial (subtracting what is not there).',
      ),
    heldOut: z
      .strictObject({
        shape: z.enum(shapes).default('cylinder').describe('Shape of the held-out combination.'),
        color: z.enum(colorNames).default('yellow').describe('Colour of the held-out combination.'),
      })
      .prefault({})
      .describe('The attribute combination never shown in train and id, present in every ood scene.'),
  }),
  create: (options) =>
    syntheticDataset('synthetic-counting', options.seed, options.sizes, (random, split, index) =>
      countingTask(random, split, index, options),
    ),
});

export const syntheticStructure = definePlugin({
  kind: 'dataset',
  name: 'synthetic-structure',
  description: 'bar charts, polygons and clock dials with numeric and multiple-choice questions',
  options: z.strictObject(syntheticOptions),
  create: (options) =>
    syntheticDataset('synthetic-structure', options.seed, options.sizes, (random, split, index) =>
      structureTask(random, split, index, options),
    ),
});

export const syntheticSpatial = definePlugin({
  kind: 'dataset',
  name: 'synthetic-spatial',
  description: 'TRANCE-like initial / final scene pairs; the answer is the list of transformations',
  options: z.strictObject({ ...syntheticOptions, objects: range(3, 6) }),
  create: (options) =>
    syntheticDataset('synthetic-spatial', options.seed, options.sizes, (random, split, index) =>
      spatialTask(random, split, index, options),
    ),
});

export const reasonRft = definePlugin({
  kind: 'dataset',
  name: 'reason-rft',
  description: 'the published Reason-RFT-CoT train / test JSON files and image folders',
  options: z.strictObject({
    files: z
      .record(z.string(), z.string().min(1))
      .describe('JSON file per split, relative to the config file: { train: ..., id: ..., ood: ... }.'),
    imageRoot: z
      .string()
      .min(1)
      .describe("Folder the records' image paths are relative to (relative to the config file)."),
    family: z
      .string()
      .min(1)
      .optional()
      .describe("Task family of every split; inferred from each file's name when absent."),
    onInvalid: z
      .enum(['fail', 'skip'])
      .default('fail')
      .describe(
        'A bad record is an error naming the file, record and field; `skip` leaves it out, counts and warns.',
      ),
  }),
  create: (options, context) => {
    const at = (path: string) => (isAbsolute(path) ? path : resolve(context.configDirectory, path));
    const families = Object.fromEntries(
      Object.entries(options.files).map(([split, file]) => {
        const family = options.family ?? inferFamily(file);
        if (family === undefined) {
          throw new Error(
            `reason-rft: cannot tell the task family of ${file} from its name; set options.family`,
          );
        }
        return [split, family];
      }),
    );
    // Missing files are found now, when the config is checked, not at the first step that reads them.
    for (const [split, file] of Object.entries(options.files)) {
      if (!existsSync(at(file)))
        throw new Error(`split ${split}: no file ${at(file)} (options.files.${split})`);
    }
    if (!existsSync(at(options.imageRoot)) || !statSync(at(options.imageRoot)).isDirectory()) {
      throw new Error(`no image folder ${at(options.imageRoot)} (options.imageRoot)`);
    }
    return {
      specificationVersion,
      name: context.name,
      splits: Object.keys(options.files),
      async *tasks(split, { limit } = {}) {
        const file = options.files[split];
        if (file === undefined)
          throw new Error(
            `reason-rft has no file for split "${split}" (files: ${Object.keys(options.files).join(', ')})`,
          );
        const skipped: DatasetRecordError[] = [];
        yield* reasonRftTasks(
          {
            file: at(file),
            imageRoot: at(options.imageRoot),
            family: families[split]!,
            split,
            onInvalid: options.onInvalid,
          },
          limit,
          (error) => skipped.push(error),
        );
        if (skipped.length > 0) {
          context.warn(
            `skipped ${skipped.length} invalid record(s) of ${file}; first: ${skipped[0]!.message}`,
          );
        }
      },
    };
  },
});
