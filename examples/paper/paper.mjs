// The paper's comparisons on the embedded benchmark (`npm run paper`): from the shipped warm start, every
// arm of arms.yaml x seed through `ekipl ablate`, pass@k of the warm start and of the final GRPO and
// EKIPL policies through `ekipl eval`, then docs/results.md written from the measured files (results.mjs).
// Resumable: run it again and finished runs and evaluations are kept, an interrupted run resumes.
//
//   node examples/paper/paper.mjs [--out DIR] [--seeds 3] [--first-seed 1] [--jobs 2] [--arms a,b]
//     [--results docs/results.md] [--limit 200] (= run.evalLimit, for the arms' evaluations too)
//     [--pass-at-limit 100] [--rebuild-warm-start]
//     [--compare-seeds 1,2,3]   (a section on whether another invocation's seeds order the arms alike)
//     [--config examples/paper/benchmark.yaml --warm-start-config examples/paper/warm-start.yaml]
//     [--set path=value ...]   (applied to the warm start, every arm and every evaluation)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { commit, writeResults } from './results.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const bin = join(root, 'apps/runner/dist/bin.js');
const options = {
  out: { type: 'string', default: join(here, 'runs') },
  config: { type: 'string', default: join(here, 'benchmark.yaml') },
  'warm-start-config': { type: 'string', default: join(here, 'warm-start.yaml') },
  seeds: { type: 'string', default: '3' },
  'first-seed': { type: 'string', default: '1' },
  jobs: { type: 'string', default: String(Math.max(1, Math.min(2, cpus().length))) },
  arms: { type: 'string' },
  results: { type: 'string', default: join(root, 'docs/results.md') },
  limit: { type: 'string' },
  'pass-at-limit': { type: 'string', default: '100' },
  'pass-at': { type: 'string', default: '1,2,4,8,16,32' },
  'rebuild-warm-start': { type: 'boolean', default: false },
  'compare-seeds': { type: 'string' },
  set: { type: 'string', multiple: true, default: [] },
};

/** Bad input ends the invocation before any work, with one line and exit 2, as ekipl's own commands do. */
function refuse(message) {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({ options }));
} catch (error) {
  refuse(
    `${error.message} (options: ${Object.keys(options)
      .map((name) => `--${name}`)
      .join(' ')})`,
  );
}
const integers = (flag) => {
  const text = values[flag];
  if (!/^\d+(,\d+)*$/.test(text) || text.split(',').some((part) => Number(part) < 1)) {
    refuse(`--${flag}: expected positive integers separated by commas, got ${JSON.stringify(text)}`);
  }
  return text.split(',').map(Number);
};
const integer = (flag) => {
  const text = values[flag];
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    refuse(`--${flag}: expected a positive integer, got ${JSON.stringify(text)}`);
  }
  return Number(text);
};
const seedCount = integer('seeds');
const firstSeed = integer('first-seed');
integer('jobs');
integer('pass-at-limit');
if (values.limit !== undefined) integer('limit');
integers('pass-at');
const compareSeeds = values['compare-seeds'] === undefined ? [] : integers('compare-seeds');
for (const override of values.set) {
  if (!/^[^=]+=/.test(override)) refuse(`--set ${override}: expected path=value`);
}
const allArms = parse(readFileSync(join(here, 'arms.yaml'), 'utf8'));
const armNames = values.arms === undefined ? Object.keys(allArms) : values.arms.split(',');
const unknown = armNames.filter((name) => !Object.hasOwn(allArms, name));
if (unknown.length > 0) {
  refuse(`--arms: no arm ${unknown.join(', ')} in arms.yaml (it has ${Object.keys(allArms).join(', ')})`);
}

const out = resolve(values.out);
const benchmark = resolve(values.config);
// The shipped warm start belongs to benchmark.yaml; another config builds its own from its warm-start config.
const ownBenchmark = benchmark === join(here, 'benchmark.yaml');
// warmStart.* overrides shape the warm start only (benchmark.yaml's runs start from its checkpoint).
const warmStartArgs = values.set.flatMap((override) => ['--set', override]);
const setArgs = values.set
  .filter((override) => !override.startsWith('warmStart.'))
  .flatMap((override) => ['--set', override]);
// --limit is how many tasks of each held-out split every greedy evaluation reads: the warm start's here
// and each arm's inside its run (run.evalLimit), so that Table 1 compares them on the same tasks.
if (values.limit !== undefined) setArgs.push('--set', `run.evalLimit=${values.limit}`);
for (const flag of ['config', 'warm-start-config']) {
  if (!existsSync(resolve(values[flag]))) refuse(`--${flag}: ${values[flag]}: file not found`);
}
/** The config resolved by `ekipl validate`, defaults filled in: a bad file or --set ends the invocation. */
function validated(file, overrides) {
  const result = spawnSync(process.execPath, [bin, 'validate', '-c', file, ...overrides], {
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    process.stderr.write(result.stderr);
    process.exit(result.status === 2 ? 2 : 1);
  }
  return parse(result.stdout);
}
// The shipped warm start, or one built from warm-start.yaml (same model and data) under --out.
const shipped = join(here, 'warm-start', 'checkpoint');
const rebuildWarmStart =
  values['rebuild-warm-start'] || !ownBenchmark || !existsSync(join(shipped, 'model.safetensors'));
const warmStart = rebuildWarmStart ? join(out, 'warm-start', 'checkpoint') : shipped;
const warmStartBuilt = existsSync(join(warmStart, 'model.safetensors'));
if (!warmStartBuilt) validated(resolve(values['warm-start-config']), warmStartArgs);
// Every arm and evaluation runs the benchmark from the warm start: checked as they will run it, before
// any work, or right after the warm start is built (until then there is no checkpoint to check against).
const checkBenchmark = () =>
  validated(benchmark, [...setArgs, '--set', `policy.options.checkpoint=${warmStart}`]);
let config = warmStartBuilt ? checkBenchmark() : undefined;

// Whether this invocation made any of the measured files (a run, an evaluation), not only the page.
let measured = false;

// Ctrl-C: the command in progress is passed one SIGINT (ablate's runs finish their step and checkpoint;
// an evaluation or the warm start just stops), and the invocation ends once it has; again: at once.
// Each command runs in a process group of its own, so it hears a Ctrl-C only from here, once.
let running;
let stopping = false;
process.once('SIGINT', () => {
  stopping = true;
  process.stderr.write(
    '\n[paper] stopping: the runs in progress finish their step and checkpoint (Ctrl-C again to quit at once)\n',
  );
  running?.kill('SIGINT');
  process.once('SIGINT', () => {
    running?.kill('SIGINT');
    process.exit(130);
  });
});

function ekipl(args, logFile) {
  if (stopping) process.exit(130);
  if (args[0] !== 'ablate') measured = true;
  return new Promise((done) => {
    const child = spawn(process.execPath, [bin, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    running = child;
    let log = '';
    child.stdout.on('data', (chunk) => {
      log += chunk;
    });
    child.stderr.on('data', (chunk) => {
      log += chunk;
      // Progress of the child (ablate's per-run lines, warm-start steps) shows as it happens.
      for (const line of String(chunk).split('\n')) {
        if (/^\S.*(starting|resuming)$/.test(line.trim())) measured = true;
        if (/^\S.*(starting|resuming|finished|failed|warm start \d+\/)/.test(line)) {
          process.stderr.write(`  ${line.trim()}\n`);
        }
      }
    });
    child.on('close', (code) => {
      running = undefined;
      if (logFile !== undefined) writeFileSync(logFile, log);
      if (stopping) {
        process.stderr.write('[paper] stopped: the same command again goes on from there\n');
        process.exit(130);
      }
      if (code === 0) done(log);
      else {
        process.stderr.write(
          `ekipl ${args[0]} failed (exit ${code}):\n${log.trim().split('\n').slice(-12).join('\n')}\n`,
        );
        process.exit(code === 2 ? 2 : 1);
      }
    });
  });
}

const step = (text) => process.stderr.write(`[paper] ${text}\n`);
const started = Date.now();
// The code that runs is the checkout as it is now, whatever changes while it runs.
const revision = commit(root);

// 1. The warm start: the shipped checkpoint, or rebuilt from warm-start.yaml.
if (!warmStartBuilt) {
  step(`building the warm start (ekipl sft -c ${relative(root, resolve(values['warm-start-config']))})`);
  // sft also caches the warm start under <run.outputDir>/warm-starts; pointing that at --out keeps
  // every file of an invocation in its own folder (the CI-sized test's among them, off the checkout).
  await ekipl(
    [
      'sft',
      '-c',
      resolve(values['warm-start-config']),
      '--out',
      join(out, 'warm-start'),
      '--set',
      `run.outputDir=${out}`,
      ...warmStartArgs,
    ],
    join(out, 'warm-start.log'),
  );
  config = checkBenchmark();
}
step(`warm start: ${relative(root, warmStart)}`);
const limit = String(config.run.evalLimit);
// A resumed invocation keeps what it measured, so it must measure the same way: the page compares
// the warm start's evaluations with the arms' (ablate refuses an arm's run of another config itself).
const settingsFile = join(out, 'evals', 'settings.json');
const settings = {
  '--config': relative(root, benchmark),
  'warm start': relative(root, warmStart),
  '--limit': limit,
  '--set': values.set.join(' '),
  '--pass-at': values['pass-at'],
  '--pass-at-limit': values['pass-at-limit'],
};
if (existsSync(settingsFile)) {
  const measuredWith = JSON.parse(readFileSync(settingsFile, 'utf8'));
  const changed = Object.keys(settings).filter((key) => measuredWith[key] !== settings[key]);
  if (changed.length > 0) {
    const shownOut = relative(root, out).startsWith('..') ? out : relative(root, out);
    const shown = (value) => (value === undefined || value === '' ? 'none' : value);
    refuse(
      `${shownOut} was measured with other options (evals/settings.json): ${changed
        .map((key) => `${key} ${shown(measuredWith[key])}, now ${shown(settings[key])}`)
        .join('; ')}. Give the options it was measured with, or another --out`,
    );
  }
}
mkdirSync(join(out, 'evals'), { recursive: true });
writeFileSync(settingsFile, `${JSON.stringify(settings, null, 2)}\n`);

// 2. What the warm start scores: greedy with real and blanked images, pass@k; the tasks for the prior.
async function evaluate(name, checkpoint, extra) {
  const file = join(out, 'evals', `${name}.json`);
  if (existsSync(file)) return;
  step(`eval ${name}`);
  await ekipl(['eval', '-c', benchmark, '--checkpoint', checkpoint, '--out', file, ...extra, ...setArgs]);
}
const passAt = ['--pass-at', values['pass-at'], '--limit', values['pass-at-limit']];
await evaluate('warm-start', warmStart, ['--limit', limit]);
await evaluate('warm-start-blank', warmStart, ['--limit', limit, '--blank-images']);
await evaluate('warm-start-pass', warmStart, passAt);
for (const [split, count] of [
  ['train', '2000'],
  ['id', limit],
  ['ood', limit],
]) {
  if (existsSync(join(out, 'tasks', split, 'tasks.jsonl'))) continue;
  await ekipl([
    'tasks',
    '-c',
    benchmark,
    '--split',
    split,
    '--limit',
    count,
    '--out',
    join(out, 'tasks', split),
    ...setArgs,
  ]);
}

// 3. Every arm x seed from the warm start.
const armsFile = join(out, 'arms.yaml');
writeFileSync(
  armsFile,
  stringify(
    Object.fromEntries(
      armNames.map((name) => [
        name,
        allArms[name].map((setting) => setting.replaceAll('@warm-start', warmStart)),
      ]),
    ),
  ),
);
const seeds = Array.from({ length: seedCount }, (_, i) => firstSeed + i);
step(`${armNames.length} arms x seeds ${seeds.join(', ')} (ekipl ablate, ${values.jobs} at a time)`);
await ekipl(
  [
    'ablate',
    '-c',
    benchmark,
    '--arms',
    armsFile,
    '--seeds',
    String(seedCount),
    '--first-seed',
    String(firstSeed),
    '--jobs',
    values.jobs,
    '--out',
    join(out, 'ablate'),
    '--set',
    `policy.options.checkpoint=${warmStart}`,
    ...setArgs,
  ],
  join(out, 'ablate.log'),
);

// 4. pass@k of the final policies of GRPO and EKIPL (Fig. 5).
for (const arm of ['grpo', 'ekipl'].filter((name) => armNames.includes(name))) {
  for (const seed of seeds) {
    await evaluate(
      `${arm}-seed-${seed}-pass`,
      join(out, 'ablate', arm, `seed-${seed}`, 'checkpoint'),
      passAt,
    );
  }
}

// 5. The results page, from the files alone.
const command = ['npm run paper', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(
  ' ',
);
// Which code made the files: every invocation that measured something, kept beside them.
const provenanceFile = join(out, 'provenance.json');
const provenance = existsSync(provenanceFile) ? JSON.parse(readFileSync(provenanceFile, 'utf8')) : [];
if (measured || provenance.length === 0) {
  provenance.push({ command, revision, date: new Date().toISOString().slice(0, 10) });
  writeFileSync(provenanceFile, `${JSON.stringify(provenance, null, 2)}\n`);
}
await writeResults({
  compareSeeds,
  out,
  results: resolve(values.results),
  arms: armNames,
  seeds,
  root,
  warmStart,
  config: benchmark,
  provenance,
});
step(
  `${relative(root, resolve(values.results))} written in ${Math.round((Date.now() - started) / 60000)} min`,
);
