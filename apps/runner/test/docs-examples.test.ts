import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type EstimatorGroup,
  loadPlugin,
  type PluginDefinition,
  type PluginKind,
  type Task,
} from '@ekipl/core';
import {
  createFakeTask,
  datasetConformance,
  estimatorConformance,
  instantiatePlugin,
  rewardConformance,
  samplerConformance,
  selectorConformance,
} from '@ekipl/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { validateConfigFile } from '../src/index.js';

// Every `// name.mjs` code block of docs/writing-a-plugin.md, written to a folder where `@ekipl/core`
// resolves, loaded as a config would load it and put through its kind's conformance suite: the guide's
// examples cannot rot.
const repositoryRoot = join(import.meta.dirname, '..', '..', '..');
const guide = readFileSync(join(repositoryRoot, 'docs', 'writing-a-plugin.md'), 'utf8');
const examples = new Map(
  [...guide.matchAll(/```js\n\/\/ ([\w-]+\.mjs)\n([\s\S]*?)```/g)].map((match) => [match[1]!, match[2]!]),
);
const folder = mkdtempSync(join(tmpdir(), 'ekipl-guide-'));
mkdirSync(join(folder, 'node_modules', '@ekipl'), { recursive: true });
symlinkSync(join(repositoryRoot, 'packages', 'core'), join(folder, 'node_modules', '@ekipl', 'core'));
for (const [name, code] of examples) writeFileSync(join(folder, name), code);
afterAll(() => rmSync(folder, { recursive: true, force: true }));

async function load<K extends PluginKind>(name: string, kind: K): Promise<PluginDefinition<K, unknown>> {
  return (await loadPlugin(`./${name}`, {
    builtins: [],
    configDirectory: folder,
    expectedKind: kind,
  })) as PluginDefinition<K, unknown>;
}

// The smallest PNG: one grey pixel.
const png = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==',
  'base64',
);

describe('docs/writing-a-plugin.md', () => {
  it('has one example per plugin kind', async () => {
    const kinds = await Promise.all(
      [...examples.keys()].map(
        async (name) => (await loadPlugin(`./${name}`, { builtins: [], configDirectory: folder })).kind,
      ),
    );
    expect(kinds.sort()).toEqual(['auxiliary', 'dataset', 'estimator', 'policy', 'reward', 'selector']);
  });

  it('the reward scores parts and keeps the reward contract', async () => {
    const { instance } = await instantiatePlugin(await load('tag-presence.mjs', 'reward'));
    const task = createFakeTask('t', '3');
    expect(
      await instance.score({ source: 'policy', text: '<think>x</think><answer>3</answer>' }, task),
    ).toEqual({
      value: 1,
      parts: { think: 1, answer: 1 },
    });
    expect(await instance.score({ source: 'policy', text: '<answer>3</answer>' }, task)).toMatchObject({
      value: 0.5,
    });
    await rewardConformance(instance, { tasks: [task], range: [0, 1] });
  });

  it('the selector keeps its floor of policy samples and the selector contract', async () => {
    const { instance } = await instantiatePlugin(await load('policy-floor.mjs', 'selector'), {
      minPolicy: 2,
    });
    const pool = ['policy', 'policy', 'expert', 'expert', 'expert', 'expert'].map((source, index) => ({
      source,
      text: String(index),
      index,
      reward: source === 'policy' ? 0 : 2,
      rewardParts: {},
    }));
    const chosen = instance.select(pool, 4, (await import('@ekipl/core')).Random.fromSeed(1));
    expect(chosen.filter((action) => action.source === 'policy')).toHaveLength(2);
    await selectorConformance(instance);
  });

  it('the estimator gives (pi_old / mu)^power, by hand, and keeps the estimator contract', async () => {
    const { instance } = await instantiatePlugin(await load('tempered-is.mjs', 'estimator'), { power: 0.5 });
    const group: EstimatorGroup = {
      mixture: { policy: 0.5, expert: 0.5 },
      actions: [
        {
          source: 'expert',
          oldLogProb: Math.log(0.2),
          tokens: 3,
          behaviorLogProbs: { expert: Math.log(0.6) },
        },
      ],
    };
    // mu = 0.5 x 0.2 + 0.5 x 0.6 = 0.4, w = (0.2 / 0.4)^0.5
    expect(instance.weights(group).weights[0]).toBeCloseTo(Math.sqrt(0.5), 12);
    await estimatorConformance(instance);
  });

  it('the auxiliary sampler answers right at accuracy 1 and keeps the sampler contract', async () => {
    const { instance } = await instantiatePlugin(
      await load('noisy-teacher.mjs', 'auxiliary'),
      { accuracy: 1 },
      { name: 'teacher' },
    );
    const tasks = [createFakeTask('a', '3'), createFakeTask('b', '5')];
    const result = await instance.sample(
      tasks.map((task) => ({ task, prompt: { system: '', user: task.question, images: [] } })),
      2,
      { seed: 1 },
    );
    expect(
      result.actions.map((actions) =>
        actions.map((action) => action.text.match(/<answer>(.*)<\/answer>/)?.[1]),
      ),
    ).toEqual([
      ['3', '3'],
      ['5', '5'],
    ]);
    await samplerConformance(
      (await instantiatePlugin(await load('noisy-teacher.mjs', 'auxiliary'))).instance,
      { tasks },
    );
  });

  it('the dataset reads its files and keeps the dataset contract', async () => {
    writeFileSync(join(folder, 'grey.png'), png);
    const line = (id: number) =>
      JSON.stringify({ id, question: 'How many objects?', answer: id, image: 'grey.png' });
    writeFileSync(join(folder, 'train.jsonl'), `${[1, 2, 3].map(line).join('\n')}\n`);
    writeFileSync(join(folder, 'id.jsonl'), `${line(4)}\n`);
    const { instance } = await instantiatePlugin(
      await load('jsonl-tasks.mjs', 'dataset'),
      { files: { train: 'train.jsonl', id: 'id.jsonl' } },
      { configDirectory: folder },
    );
    const tasks: Task[] = [];
    for await (const task of instance.tasks('train', { limit: 2 })) tasks.push(task);
    expect(tasks.map((task) => [task.id, task.answer, task.images[0]?.mediaType])).toEqual([
      ['1', '1', 'image/png'],
      ['2', '2', 'image/png'],
    ]);
    await datasetConformance(instance, { limit: 5 });
  });

  it("the policy's samples score as they were generated, and its text round-trips", async () => {
    const { instance } = await instantiatePlugin(await load('uniform-bytes.mjs', 'policy'), {
      meanLength: 10,
    });
    const prompt = { system: '', user: 'q', images: [] };
    const [samples] = await instance.generate([prompt], 4, {
      temperature: 1,
      topP: 1,
      topK: 0,
      maxTokens: 64,
      seed: 3,
    });
    const scores = await instance.score(
      samples!.map((sample) => ({ prompt, tokens: sample.tokens })),
      'current',
      1,
    );
    expect(scores).toEqual(samples!.map((sample) => sample.logProbs));
    expect(instance.decode(instance.encode('<answer>7</answer>'))).toBe('<answer>7</answer>');
  });

  it('a config using all six validates, and a bad option is reported with its line and field', async () => {
    const config = join(folder, 'run.yaml');
    const text = (power: number) => `run: { steps: 2, batchSize: 1, groupSize: 2 }
dataset: { use: ./jsonl-tasks.mjs, options: { files: { train: train.jsonl, id: id.jsonl } } }
policy: { use: ./uniform-bytes.mjs }
auxiliary: [{ use: ./noisy-teacher.mjs }]
reward: [{ use: ./tag-presence.mjs }]
selector: { use: ./policy-floor.mjs }
estimator: { use: ./tempered-is.mjs, options: { power: ${power} } }
`;
    writeFileSync(config, text(0.5));
    expect((await validateConfigFile(config)).exitCode).toBe(0);
    writeFileSync(config, text(2));
    const outcome = await validateConfigFile(config);
    expect(outcome.exitCode).toBe(2);
    expect(outcome.stderr).toContain('run.yaml:7:56: estimator.options.power: must be <= 1, got number 2');
  });
});
