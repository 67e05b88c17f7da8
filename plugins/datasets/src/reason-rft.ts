/**
 * The published Reason-RFT-CoT files, read as they are: a JSON array (or JSON lines) of records with
 *   id, image (a path, a list of paths, or {path} objects, relative to the image root; TRANCE records
 *   have two), problem, cot (optional), and answer or solution (Reason-RFT's reward reads `solution`).
 * A malformed record, a missing image or an unreadable image is reported with the file, the record's
 * index and id, and the field; `onInvalid: skip` skips such records, counts them and warns once.
 */
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { EkiplError, type Task, type TaskFamily, type TaskImage, type TaskSplit } from '@ekipl/core';
import sharp from 'sharp';

export class DatasetRecordError extends EkiplError {
  constructor(
    readonly file: string,
    readonly record: number,
    readonly field: string,
    message: string,
    id?: string,
  ) {
    super(
      `${file}: record ${record}${id === undefined ? '' : ` (id ${JSON.stringify(id)})`}: ${field}: ${message}`,
    );
    this.name = 'DatasetRecordError';
  }
}

export interface ReasonRftSplitOptions {
  /** The split's JSON file. */
  file: string;
  /** Folder the records' image paths are relative to. */
  imageRoot: string;
  family: TaskFamily;
  split: TaskSplit;
  onInvalid: 'fail' | 'skip';
}

/**
 * The family a file holds, from its path as written in the config (the published folders and files
 * say clevr-math / trance / geo...), if recognisable.
 */
export function inferFamily(file: string): TaskFamily | undefined {
  const name = file.toLowerCase();
  if (/trance|spatial|transformation/.test(name)) return 'spatial';
  if (/clevr|count/.test(name)) return 'counting';
  if (/geo|struct|chart|math/.test(name)) return 'structure';
  return undefined;
}

/** Parses the file's records (array or JSON lines); a file that is neither is one error naming its line. */
export async function readRecords(file: string): Promise<unknown[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new EkiplError(
      `${file}: cannot read the dataset file (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) {
    try {
      const parsed = JSON.parse(text) as unknown;
      if (Array.isArray(parsed)) return parsed;
    } catch (error) {
      throw new EkiplError(`${file}: not valid JSON: ${(error as Error).message}`);
    }
  }
  return text.split('\n').flatMap((line, i) => {
    if (line.trim() === '') return [];
    try {
      return [JSON.parse(line) as unknown];
    } catch (error) {
      throw new EkiplError(
        `${file}:${i + 1}: not valid JSON (expected a JSON array or one record per line): ${(error as Error).message}`,
      );
    }
  });
}

/** Yields one split's tasks; `skipped` counts records left out under `onInvalid: skip`. */
export async function* reasonRftTasks(
  options: ReasonRftSplitOptions,
  limit: number | undefined,
  onSkip: (error: DatasetRecordError) => void,
): AsyncGenerator<Task> {
  const records = await readRecords(options.file);
  let yielded = 0;
  for (const [index, record] of records.entries()) {
    if (limit !== undefined && yielded >= limit) return;
    try {
      yield await toTask(record, index, options);
      yielded++;
    } catch (error) {
      if (!(error instanceof DatasetRecordError) || options.onInvalid === 'fail') throw error;
      onSkip(error);
    }
  }
}

async function toTask(record: unknown, index: number, options: ReasonRftSplitOptions): Promise<Task> {
  const file = options.file;
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    throw new DatasetRecordError(
      file,
      index,
      'record',
      `expected an object, got ${Array.isArray(record) ? 'a list' : typeof record}`,
    );
  }
  const fields = record as Record<string, unknown>;
  const rawId = fields['id'];
  const id = typeof rawId === 'string' || typeof rawId === 'number' ? String(rawId) : undefined;
  const fail = (field: string, message: string) => new DatasetRecordError(file, index, field, message, id);
  const problem = fields['problem'];
  if (typeof problem !== 'string' || problem.trim() === '')
    throw fail('problem', 'missing or not a non-empty string');
  const answerField = fields['answer'] !== undefined ? 'answer' : 'solution';
  const answer = fields[answerField];
  if (typeof answer !== 'string' && typeof answer !== 'number')
    throw fail('answer', 'missing: neither "answer" nor "solution" is a string or number');
  const cot = fields['cot'];
  if (cot !== undefined && typeof cot !== 'string') throw fail('cot', `expected a string, got ${typeof cot}`);
  const paths = imagePaths(fields['image']);
  if (paths === undefined) throw fail('image', 'expected a path, a list of paths, or {"path": ...} objects');
  const images: TaskImage[] = [];
  for (const [i, path] of paths.entries()) {
    const field = paths.length === 1 ? 'image' : `image[${i}]`;
    const location = resolve(options.imageRoot, path);
    let data: Buffer;
    try {
      data = await readFile(location);
    } catch {
      throw fail(field, `file not found: ${location}`);
    }
    let format: string | undefined;
    try {
      format = (await sharp(data).metadata()).format;
    } catch {
      format = undefined;
    }
    if (format === undefined) throw fail(field, `not a readable image: ${location}`);
    images.push({
      data: new Uint8Array(data),
      mediaType: format === 'jpeg' ? 'image/jpeg' : `image/${format}`,
    });
  }
  return {
    id: id ?? `${basename(file)}#${index}`,
    family: options.family,
    images,
    question: problem,
    answer: String(answer),
    split: options.split,
    metadata: { source: file, record: index, ...(cot === undefined ? {} : { cot }) },
  };
}

function imagePaths(image: unknown): string[] | undefined {
  if (image === undefined || image === null || image === '') return [];
  const one = (item: unknown): string | undefined => {
    if (typeof item === 'string' && item !== '') return item;
    if (item !== null && typeof item === 'object' && typeof (item as { path?: unknown }).path === 'string') {
      return (item as { path: string }).path;
    }
    return undefined;
  };
  const list = Array.isArray(image) ? image.map(one) : [one(image)];
  return list.every((path): path is string => path !== undefined) ? list : undefined;
}
