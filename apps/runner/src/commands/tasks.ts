import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  applyOverrides,
  type BuiltinPlugin,
  ConfigError,
  type ConfigIssue,
  createPluginInstance,
  parseConfigText,
  pluginReferenceSchema,
  Random,
  resolvePluginReference,
  type Task,
} from '@ekipl/core';
import { defineCommand } from 'citty';
import { builtinPlugins } from '../builtin-plugins.js';
import { escapeHtml } from '../escape-html.js';
import { reportCommandError } from '../report-error.js';
import { setFlags } from '../set-flags.js';
import { writeAtomically } from '../write-atomically.js';

export interface WriteTasksOptions {
  config: string;
  split: string;
  limit: number;
  out: string;
  /** `path=value` overrides of the config (`--set`), as every other command takes them. */
  overrides?: readonly string[];
  builtins?: readonly BuiltinPlugin[];
  log?: (line: string) => void;
}

/**
 * `ekipl tasks -c CONFIG --split id --limit 5 --out DIR`: a few tasks of the configured dataset, for a
 * person to look at: their images as PNG files, `tasks.jsonl` (question, choices, answer, files) and
 * `index.html` showing each task's images beside its (escaped) text. Only the dataset section of the
 * config is resolved, so this works before a policy or API keys are set up.
 */
export async function writeTasks(options: WriteTasksOptions): Promise<{ tasks: number; directory: string }> {
  const builtins = options.builtins ?? builtinPlugins;
  const file = resolve(options.config);
  const { raw, source } = parseConfigText(await readConfigText(options.config, file), options.config);
  const sections = applyOverrides(raw ?? {}, options.overrides ?? []) as Record<string, unknown>;
  const issues: ConfigIssue[] = [];
  const reference = pluginReferenceSchema.safeParse(sections['dataset'] ?? { use: 'synthetic-counting' });
  if (!reference.success)
    throw new ConfigError([{ path: 'dataset', message: 'expected { use, options }', file: options.config }]);
  const configDirectory = dirname(file);
  const entry = await resolvePluginReference(
    'dataset',
    reference.data,
    ['dataset'],
    { builtins, configDirectory, source },
    issues,
  );
  if (entry === undefined) throw new ConfigError(issues);
  const seed = (sections['run'] as { seed?: unknown } | undefined)?.seed;
  const dataset = await createPluginInstance(entry, {
    random: Random.fromSeed(typeof seed === 'number' ? seed : 1).split('plugin', 'dataset'),
    configDirectory,
    warn: (message) => options.log?.(`warning: ${message}`),
  });
  if (!dataset.splits.includes(options.split)) {
    throw new ConfigError([
      {
        path: 'split',
        message: `dataset "${entry.name}" has no split "${options.split}" (splits: ${dataset.splits.join(', ')})`,
      },
    ]);
  }
  const directory = resolve(options.out);
  await mkdir(directory, { recursive: true });
  const records: Record<string, unknown>[] = [];
  const cards: string[] = [];
  let index = 0;
  for await (const task of dataset.tasks(options.split, { limit: options.limit })) {
    const files = await writeImages(directory, index, task);
    records.push({
      id: task.id,
      family: task.family,
      split: task.split,
      question: task.question,
      choices: task.choices,
      answer: task.answer,
      images: files,
    });
    cards.push(card(task, files));
    options.log?.(`${index + 1}/${options.limit} ${task.id}`);
    index++;
  }
  await writeAtomically(
    join(directory, 'tasks.jsonl'),
    records.map((record) => JSON.stringify(record)).join('\n') + '\n',
  );
  await writeAtomically(join(directory, 'index.html'), page(`${entry.name} / ${options.split}`, cards));
  return { tasks: index, directory };
}

async function readConfigText(shown: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    throw new ConfigError([{ path: '', message: 'file not found', file: shown }]);
  }
}

async function writeImages(directory: string, index: number, task: Task): Promise<string[]> {
  const safeId = task.id.replace(/[^A-Za-z0-9._-]/g, '_');
  return Promise.all(
    task.images.map(async (image, k) => {
      const extension = image.mediaType === 'image/jpeg' ? 'jpg' : (image.mediaType.split('/')[1] ?? 'bin');
      const name = `${String(index).padStart(3, '0')}-${safeId}-${k}.${extension}`;
      await writeAtomically(join(directory, name), image.data);
      return name;
    }),
  );
}

function card(task: Task, files: string[]): string {
  const images = files.map((file) => `<img src="${escapeHtml(file)}" alt="${escapeHtml(task.id)}">`).join('');
  const choices =
    task.choices === undefined
      ? ''
      : `<ol type="A">${task.choices.map((choice) => `<li>${escapeHtml(choice)}</li>`).join('')}</ol>`;
  return `<section><div>${images}</div><div><h2>${escapeHtml(task.id)} <small>${escapeHtml(task.family)}</small></h2><p>${escapeHtml(task.question)}</p>${choices}<p><b>Answer:</b> ${escapeHtml(task.answer)}</p></div></section>`;
}

function page(title: string, cards: string[]): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}section{display:flex;gap:1.5rem;margin-bottom:2rem}img{width:256px;image-rendering:pixelated;border:1px solid #ccc;margin-right:.5rem}h2{margin:0;font-size:1.1rem}</style>
</head><body><h1>${escapeHtml(title)}</h1>
${cards.join('\n')}
</body></html>
`;
}

export default defineCommand({
  meta: {
    name: 'tasks',
    description: "Write a few of the configured dataset's tasks (images, questions, answers) to a folder",
  },
  args: {
    config: { type: 'string', alias: 'c', description: 'Config file (YAML or JSON)', required: true },
    split: { type: 'string', description: 'Split to read (train, id, ood, ...)', default: 'train' },
    limit: { type: 'string', description: 'How many tasks', default: '5' },
    out: { type: 'string', description: 'Folder to write into', required: true },
    set: { type: 'string', description: 'Override a config field, path=value (repeatable)' },
  },
  async run({ args, rawArgs }) {
    const limit = Number(args.limit);
    if (!Number.isInteger(limit) || limit < 1) {
      process.stderr.write(`error: --limit must be a positive integer, got ${JSON.stringify(args.limit)}\n`);
      process.exitCode = 2;
      return;
    }
    try {
      const result = await writeTasks({
        config: args.config,
        split: args.split,
        limit,
        out: args.out,
        overrides: setFlags(rawArgs),
        log: (line) => process.stderr.write(`${line}\n`),
      });
      process.stdout.write(`wrote ${result.tasks} tasks to ${result.directory} (open index.html)\n`);
    } catch (error) {
      process.exitCode = reportCommandError(error);
    }
  },
});
