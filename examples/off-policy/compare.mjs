// The off-policy comparison of issue 10: a warm start, then every arm x seed from it, and a table of
// the final held-out evaluation (mean +- std over seeds) beside the warm start's. Arms differ from
// base.yaml only in the settings named below. Usage (after npm run build):
//   node examples/off-policy/compare.mjs [--out DIR] [--seeds 3] [--jobs 2] [--arms grpo,uncorrected,...]
// Re-running skips runs whose status.json says finished.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const bin = resolve(here, '../../apps/runner/dist/bin.js');
const { values } = parseArgs({
  options: {
    out: { type: 'string', default: join(here, 'runs') },
    seeds: { type: 'string', default: '3' },
    jobs: { type: 'string', default: '2' },
    arms: { type: 'string' },
  },
});
const out = resolve(values.out);
const base = parse(readFileSync(join(here, 'base.yaml'), 'utf8'));

/** Each arm: what it changes in base.yaml; every EKIPL arm says how it treats negative advantages on external texts. */
const objective = (config, changes) => ({ ...config, objective: { ...config.objective, ...changes } });
const keep = { offPolicyNegatives: 'keep' };
const mask = { offPolicyNegatives: 'mask' };
const allArms = {
  grpo: (config) => ({ ...config, auxiliary: [] }),
  'uncorrected-keep': (config) => objective(config, keep),
  'uncorrected-mask': (config) => objective(config, mask), // every default
  'exact-is-keep': (config) => objective({ ...config, estimator: { use: 'exact-is' } }, keep),
  'exact-is-mask': (config) => objective({ ...config, estimator: { use: 'exact-is' } }, mask),
  'snis-keep': (config) => objective({ ...config, estimator: { use: 'snis' } }, keep),
  'snis-mask': (config) => objective({ ...config, estimator: { use: 'snis' } }, mask),
  'luffy-keep': (config) => objective(config, { ...keep, offPolicyShaping: { gamma: 0.1 } }),
  'luffy-mask': (config) => objective(config, { ...mask, offPolicyShaping: { gamma: 0.1 } }),
  'rl-plus-mask': (config) => objective(config, { ...mask, offPolicyMis: {} }),
  'chord-mask': (config) => objective(config, { ...mask, offPolicySupervised: {} }),
  'ampo-mask': (config) => objective({ ...config, selector: { use: 'ampo' } }, mask),
};
const arms = values.arms === undefined ? Object.keys(allArms) : values.arms.split(',');
const seeds = Array.from({ length: Number(values.seeds) }, (_, i) => i + 1);

function run(configFile, directory) {
  return new Promise((done) => {
    mkdirSync(directory, { recursive: true });
    const child = spawn(process.execPath, [bin, 'train', '-c', configFile, '--out', directory], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr.on('data', (chunk) => {
      log += chunk;
    });
    child.on('close', (code) => {
      writeFileSync(join(directory, 'train.log'), log);
      if (code !== 0)
        process.stderr.write(
          `${directory} failed (exit ${code}):\n${log.split('\n').slice(-8).join('\n')}\n`,
        );
      done(code);
    });
  });
}

const finished = (directory) =>
  existsSync(join(directory, 'status.json')) &&
  JSON.parse(readFileSync(join(directory, 'status.json'), 'utf8')).state === 'finished';

// 1. The warm start, once.
const warmDirectory = join(out, 'warm-start');
if (!finished(warmDirectory)) {
  mkdirSync(out, { recursive: true });
  const file = join(out, 'warm-start.yaml');
  writeFileSync(
    file,
    stringify({ ...base, run: { ...base.run, name: 'warm-start', steps: 0, evalEvery: 1 } }),
  );
  process.stderr.write('warm start ...\n');
  if ((await run(file, warmDirectory)) !== 0) process.exit(1);
}

// 2. Every arm x seed from the warm start's checkpoint, `jobs` at a time.
const queue = arms.flatMap((arm) => seeds.map((seed) => ({ arm, seed })));
async function worker() {
  for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
    const directory = join(out, `${job.arm}-s${job.seed}`);
    if (finished(directory)) continue;
    const config = allArms[job.arm]({
      ...base,
      run: { ...base.run, name: `${job.arm}-s${job.seed}`, seed: job.seed },
      policy: {
        ...base.policy,
        options: { ...base.policy.options, checkpoint: join(warmDirectory, 'checkpoint') },
      },
      warmStart: { steps: 0 },
    });
    mkdirSync(directory, { recursive: true });
    const file = join(directory, 'input.yaml');
    writeFileSync(file, stringify(config));
    const started = Date.now();
    const code = await run(file, directory);
    process.stderr.write(
      `${job.arm} seed ${job.seed}: exit ${code} in ${Math.round((Date.now() - started) / 1000)} s\n`,
    );
  }
}
await Promise.all(Array.from({ length: Number(values.jobs) }, worker));

// 3. The table: the last evaluation of each run (mean +- std over seeds), and the warm start's.
const evaluations = (directory) =>
  readFileSync(join(directory, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
    .filter((line) => 'eval/id/accuracy' in line);
const keys = ['eval/id/accuracy', 'eval/id/format', 'eval/ood/accuracy', 'eval/ood/format'];
const stats = (numbers) => {
  const mean = numbers.reduce((a, b) => a + b, 0) / numbers.length;
  const std =
    numbers.length > 1
      ? Math.sqrt(numbers.reduce((a, b) => a + (b - mean) ** 2, 0) / (numbers.length - 1))
      : 0;
  return `${mean.toFixed(3)} +- ${std.toFixed(3)}`;
};
// The answer prior: always the most common answer of the training split (2000 tasks), scored on the
// evaluated tasks (a perfectly formatted answer, so only its accuracy is shown).
const { syntheticCounting } = await import('@ekipl/datasets');
const { Random } = await import('@ekipl/core');
const dataset = await syntheticCounting.create(syntheticCounting.options.parse(base.dataset.options), {
  name: 'synthetic-counting',
  random: Random.fromSeed(0),
  configDirectory: here,
  warn: () => {},
});
const answers = async (split, limit) => {
  const result = [];
  for await (const task of dataset.tasks(split, { limit })) result.push(task.answer);
  return result;
};
const counts = new Map();
for (const answer of await answers('train', 2000)) counts.set(answer, (counts.get(answer) ?? 0) + 1);
const prior = [...counts].sort((a, b) => b[1] - a[1])[0][0];
const priorAccuracy = async (split) => {
  const truth = await answers(split, base.run.evalLimit);
  return (truth.filter((answer) => answer === prior).length / truth.length).toFixed(3);
};
const rows = [
  [`answer prior (always "${prior}")`, await priorAccuracy('id'), '', await priorAccuracy('ood'), ''],
  ['warm start (1 run)', ...keys.map((key) => evaluations(warmDirectory)[0][key].toFixed(3))],
];
for (const arm of arms) {
  const last = seeds
    .map((seed) => join(out, `${arm}-s${seed}`))
    .filter(finished)
    .map((directory) => evaluations(directory).at(-1));
  if (last.length === 0) continue;
  rows.push([`${arm} (${last.length} seeds)`, ...keys.map((key) => stats(last.map((line) => line[key])))]);
}
const header = ['run', 'id accuracy', 'id format', 'ood accuracy', 'ood format'];
const table = [header, header.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
writeFileSync(join(out, 'summary.md'), `${table}\n`);
process.stdout.write(`${table}\n`);
