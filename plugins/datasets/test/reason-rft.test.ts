import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Dataset, Random, type Task } from '@ekipl/core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inferFamily, reasonRft } from '../src/index.js';

// A fixture in the published Reason-RFT-CoT layout: JSON arrays (or JSON lines) of records with id,
// image (a path, a list of paths, or {path} objects) relative to an image folder, problem, cot, and
// answer or solution.
const root = mkdtempSync(join(tmpdir(), 'ekipl-reason-rft-'));
const images = join(root, 'images');

beforeAll(async () => {
  mkdirSync(join(images, 'trance'), { recursive: true });
  const square = (color: string) =>
    sharp({ create: { width: 8, height: 8, channels: 3, background: color } });
  await square('#ff0000').png().toFile(join(images, 'clevr_0.png'));
  await square('#00ff00').jpeg().toFile(join(images, 'geo_0.jpg'));
  await square('#0000ff')
    .png()
    .toFile(join(images, 'trance', 'init_0.png'));
  await square('#ffff00')
    .png()
    .toFile(join(images, 'trance', 'fin_0.png'));
  writeFileSync(join(images, 'broken.png'), 'this is not an image');
  writeFileSync(
    join(root, 'clevr-math-train.json'),
    JSON.stringify([
      {
        id: 'clevr_0',
        image: 'clevr_0.png',
        problem: 'Subtract all red cubes. How many objects are left?',
        cot: 'There are 3 objects...',
        solution: '<answer>2</answer>',
      },
      { id: 7, image: [{ path: 'clevr_0.png' }], problem: 'How many objects are there?', answer: 3 },
    ]),
  );
  writeFileSync(
    join(root, 'trance-test-id.jsonl'),
    [
      {
        id: 'trance_0',
        image: ['trance/init_0.png', 'trance/fin_0.png'],
        problem: "Initial objects: ('0', 'cube', 'small', 'red', 'metal')",
        answer: 'change_color(0, yellow)',
      },
      { id: 'geo_0', image: { path: 'geo_0.jpg' }, problem: 'What is the angle?', answer: 'B' },
    ]
      .map((record) => JSON.stringify(record))
      .join('\n'),
  );
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function open(options: Record<string, unknown>, warnings: string[] = []): Promise<Dataset> {
  return (await reasonRft.create(reasonRft.options.parse(options), {
    name: 'reason-rft',
    random: Random.fromSeed(1),
    configDirectory: root,
    warn: (message) => warnings.push(message),
  })) as Dataset;
}

async function collect(dataset: Dataset, split: string): Promise<Task[]> {
  const tasks: Task[] = [];
  for await (const task of dataset.tasks(split)) tasks.push(task);
  return tasks;
}

describe('reason-rft loader', () => {
  it('loads the published layout: string / {path} images, solution or answer, cot kept, family from the file name', async () => {
    const dataset = await open({
      files: { train: 'clevr-math-train.json', id: 'trance-test-id.jsonl' },
      imageRoot: 'images',
    });
    expect(dataset.splits).toEqual(['train', 'id']);
    const train = await collect(dataset, 'train');
    expect(train.map((task) => [task.id, task.family, task.answer, task.images.length])).toEqual([
      ['clevr_0', 'counting', '<answer>2</answer>', 1],
      ['7', 'counting', '3', 1],
    ]);
    expect(train[0]!.metadata!['cot']).toBe('There are 3 objects...');
    expect(train[0]!.images[0]!.mediaType).toBe('image/png');
    const id = await collect(dataset, 'id');
    // The TRANCE record carries its initial and final state; the family of a mixed file comes from its name.
    expect(id[0]!.images.map((image) => image.data.length > 0)).toEqual([true, true]);
    expect(id[0]!.family).toBe('spatial');
    expect(id[1]!.images[0]!.mediaType).toBe('image/jpeg');
    const decoded = await sharp(Buffer.from(id[0]!.images[1]!.data)).raw().toBuffer();
    expect([...decoded.subarray(0, 3)]).toEqual([255, 255, 0]);
  });

  it('infers families from the published file names, and asks for one when it cannot', async () => {
    expect(inferFamily('CLEVR-Math/train.json')).toBe('counting');
    expect(inferFamily('trance-left-test.json')).toBe('spatial');
    expect(inferFamily('geomath-train.json')).toBe('structure');
    expect(inferFamily('data.json')).toBeUndefined();
    await expect(open({ files: { train: 'data.json' }, imageRoot: 'images' })).rejects.toThrow(
      /cannot tell the task family of data\.json/,
    );
  });

  const badRecords: [name: string, record: unknown, message: RegExp][] = [
    [
      'a record that is not an object',
      'just text',
      /bad\.json: record 1: record: expected an object, got string/,
    ],
    [
      'a missing problem',
      { id: 'p', image: 'clevr_0.png', answer: '1' },
      /record 1 \(id "p"\): problem: missing or not a non-empty string/,
    ],
    [
      'a missing answer',
      { id: 'a', image: 'clevr_0.png', problem: 'q' },
      /record 1 \(id "a"\): answer: missing: neither "answer" nor "solution"/,
    ],
    [
      'a missing image file',
      { id: 'm', image: 'nope.png', problem: 'q', answer: '1' },
      /record 1 \(id "m"\): image: file not found: .*nope\.png/,
    ],
    [
      'an unreadable image',
      { id: 'u', image: 'broken.png', problem: 'q', answer: '1' },
      /record 1 \(id "u"\): image: not a readable image: .*broken\.png/,
    ],
    [
      'an image field of the wrong type',
      { id: 't', image: 5, problem: 'q', answer: '1' },
      /record 1 \(id "t"\): image: expected a path, a list of paths/,
    ],
    [
      'the second of two images missing',
      { id: 's', image: ['clevr_0.png', 'gone.png'], problem: 'q', answer: '1' },
      /record 1 \(id "s"\): image\[1\]: file not found/,
    ],
    [
      'a cot that is not text',
      { id: 'c', image: 'clevr_0.png', problem: 'q', answer: '1', cot: 4 },
      /record 1 \(id "c"\): cot: expected a string, got number/,
    ],
  ];
  for (const [name, record, message] of badRecords) {
    it(`names the file, record and field of ${name}`, async () => {
      writeFileSync(
        join(root, 'bad.json'),
        JSON.stringify([{ image: 'clevr_0.png', problem: 'ok', answer: '1' }, record]),
      );
      const dataset = await open({ files: { train: 'bad.json' }, imageRoot: 'images', family: 'counting' });
      await expect(collect(dataset, 'train')).rejects.toThrow(message);
    });
  }

  it('onInvalid: skip keeps the good records, counts the bad ones and warns once', async () => {
    writeFileSync(
      join(root, 'mixed.json'),
      JSON.stringify([
        { image: 'clevr_0.png', problem: 'ok', answer: '1' },
        ...badRecords.map(([, record]) => record),
        { problem: 'text only', answer: '2' },
      ]),
    );
    const warnings: string[] = [];
    const dataset = await open(
      { files: { train: 'mixed.json' }, imageRoot: 'images', family: 'counting', onInvalid: 'skip' },
      warnings,
    );
    const tasks = await collect(dataset, 'train');
    expect(tasks.map((task) => task.question)).toEqual(['ok', 'text only']);
    expect(warnings).toEqual([
      expect.stringMatching(
        /^skipped 8 invalid record\(s\) of mixed\.json; first: .*record 1: record: expected an object/,
      ),
    ]);
  });

  it('a missing split file or image folder is an error when the dataset is created, naming the option', async () => {
    await expect(open({ files: { train: 'nope-counting.json' }, imageRoot: 'images' })).rejects.toThrow(
      /^split train: no file .*nope-counting\.json \(options\.files\.train\)$/,
    );
    await expect(open({ files: { train: 'clevr-math-train.json' }, imageRoot: 'pictures' })).rejects.toThrow(
      /^no image folder .*pictures \(options\.imageRoot\)$/,
    );
  });

  it('a file that is not JSON says where', async () => {
    writeFileSync(join(root, 'broken.jsonl'), '{"problem": "a", "answer": "1"}\n{oops\n');
    const dataset = await open({ files: { train: 'broken.jsonl' }, imageRoot: 'images', family: 'counting' });
    await expect(collect(dataset, 'train')).rejects.toThrow(/broken\.jsonl:2: not valid JSON/);
  });
});
