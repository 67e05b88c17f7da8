import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AnyPluginDefinition,
  type AuxiliarySampler,
  type Dataset,
  Random,
  type RewardFn,
  reasonRftPromptTemplate,
  type Task,
} from '@ekipl/core';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinPlugins, escapeHtml, writeTasks } from '../src/index.js';

const scratch = mkdtempSync(join(tmpdir(), 'ekipl-runner-tasks-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function instance<T>(name: string, options: Record<string, unknown> = {}): Promise<T> {
  const plugin: AnyPluginDefinition = await builtinPlugins.find((entry) => entry.name === name)!.load();
  return (await plugin.create(plugin.options.parse(options), {
    name,
    random: Random.fromSeed(1),
    configDirectory: scratch,
    warn: () => {},
  })) as T;
}

describe('ekipl tasks', () => {
  it('writes the images, tasks.jsonl and an index.html with every text escaped', async () => {
    const config = join(scratch, 'counting.yaml');
    writeFileSync(
      config,
      'run: { seed: 3 }\ndataset: { use: synthetic-structure, options: { imageSize: 48 } }\n',
    );
    const out = join(scratch, 'out');
    const result = await writeTasks({ config, split: 'ood', limit: 4, out });
    expect(result.tasks).toBe(4);
    const files = readdirSync(out).sort();
    expect(files.filter((file) => file.endsWith('.png'))).toHaveLength(4);
    const records = readFileSync(join(out, 'tasks.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(records.map((record) => record.id)).toEqual([
      'structure-ood-0',
      'structure-ood-1',
      'structure-ood-2',
      'structure-ood-3',
    ]);
    for (const record of records) expect(files).toContain(record.images[0]);
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    expect(html).toContain(`<img src="${records[0].images[0]}"`);
    expect(html).toContain(escapeHtml(records[1].question));
  });

  it('takes --set overrides like the other commands (another dataset seed, other tasks)', async () => {
    const config = join(scratch, 'seeded.yaml');
    writeFileSync(config, 'dataset: { use: synthetic-counting, options: { imageSize: 32 } }\n');
    const questions = async (out: string, overrides: string[]) => {
      await writeTasks({ config, split: 'id', limit: 3, out: join(scratch, out), overrides });
      return readFileSync(join(scratch, out, 'tasks.jsonl'), 'utf8');
    };
    const plain = await questions('plain', []);
    expect(await questions('same', ['dataset.options.imageSize=32'])).toBe(plain);
    expect(await questions('other-seed', ['dataset.options.seed=7'])).not.toBe(plain);
  });

  it('escapes dataset text: a question carrying markup shows as text', () => {
    expect(escapeHtml('<img src=x onerror="alert(1)">&')).toBe(
      '&#60;img src=x onerror=&#34;alert(1)&#34;&#62;&#38;',
    );
  });

  it('reports an unknown dataset plugin with its position, like validate', async () => {
    const config = join(scratch, 'bad.yaml');
    writeFileSync(config, 'dataset:\n  use: synthetic-countin\n');
    await expect(writeTasks({ config, split: 'id', limit: 1, out: join(scratch, 'bad') })).rejects.toThrow(
      /bad\.yaml:2:8: dataset\.use: unknown plugin "synthetic-countin" \(did you mean "synthetic-counting"\?\)/,
    );
  });
});

describe('the oracle on the synthetic datasets', () => {
  const families = ['synthetic-counting', 'synthetic-structure', 'synthetic-spatial'];
  const tasksByFamily = new Map<string, Task[]>();
  async function tasksOf(name: string): Promise<Task[]> {
    if (!tasksByFamily.has(name)) {
      const dataset = await instance<Dataset>(name);
      const tasks: Task[] = [];
      for await (const task of dataset.tasks('train', { limit: 200 })) tasks.push(task);
      tasksByFamily.set(name, tasks);
    }
    return tasksByFamily.get(name)!;
  }

  async function meanRewards(name: string, accuracy: number) {
    const tasks = await tasksOf(name);
    const oracle = await instance<AuxiliarySampler>('oracle', { accuracy });
    const format = await instance<RewardFn>('format');
    const accuracyReward = await instance<RewardFn>('accuracy');
    const requests = tasks.map((task) => ({ prompt: reasonRftPromptTemplate(task), task }));
    const { actions } = await oracle.sample(requests, 1, { seed: 11 });
    let formatTotal = 0;
    let accuracyTotal = 0;
    for (const [i, task] of tasks.entries()) {
      const action = actions[i]![0]!;
      formatTotal += Number(await format.score(action, task));
      accuracyTotal += Number(await accuracyReward.score(action, task));
    }
    return { format: formatTotal / tasks.length, accuracy: accuracyTotal / tasks.length };
  }

  for (const name of families) {
    it(`${name}: accuracy 1.0 scores 1.0 on accuracy and format over 200 tasks`, async () => {
      expect(await meanRewards(name, 1)).toEqual({ format: 1, accuracy: 1 });
    });
    it(`${name}: accuracy 0.6 scores 0.6 +- 0.1`, async () => {
      const result = await meanRewards(name, 0.6);
      expect(result.format).toBe(1);
      expect(Math.abs(result.accuracy - 0.6)).toBeLessThanOrEqual(0.1);
    });
  }
});
