// docs/results.md from the files `paper.mjs` leaves in its output folder, and nothing else: the warm
// start's evaluations, each arm x seed's run directory (metrics.jsonl, config.yaml) and the pass@k files.
// Each table says what it measures; the claims at the end are checked by one rule, stated there.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';
import { parse } from 'yaml';

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const readLines = (file) =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line))
    : [];

export const mean = (xs) => (xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length);
/** Sample standard deviation (n - 1); 0 for a single value. */
export const std = (xs) => {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
};
const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const half = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[half] : (sorted[half - 1] + sorted[half]) / 2;
};
const fixed = (x, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const meanStd = (xs, digits = 3) =>
  xs.length === 0 ? 'n/a' : `${fixed(mean(xs), digits)} +- ${fixed(std(xs), digits)}`;

/**
 * Two sets of per-seed values differ when their means are more than 2 standard errors of the difference
 * apart (sqrt(s_a^2 / n_a + s_b^2 / n_b)); with a single seed each, never.
 */
export function compare(a, b) {
  const difference = mean(a) - mean(b);
  const error = Math.sqrt(std(a) ** 2 / a.length + std(b) ** 2 / b.length);
  const differs = a.length > 1 && b.length > 1 && Math.abs(difference) > 2 * error;
  return { difference, error, verdict: !differs ? 'within noise' : difference > 0 ? 'higher' : 'lower' };
}

/**
 * The pairs of arms whose values differ beyond noise (`compare`) in either of two invocations, with
 * both verdicts and the outcome: `same order` (beyond noise in both, the same way), `beyond noise once`,
 * or `reversed` (beyond noise in both, opposite ways).
 */
export function pairOutcomes(arms, here, there) {
  const pairs = [];
  arms.forEach((a, i) => {
    for (const b of arms.slice(i + 1)) {
      const first = compare(here(a), here(b));
      const second = compare(there(a), there(b));
      if (first.verdict === 'within noise' && second.verdict === 'within noise') continue;
      const outcome =
        first.verdict === second.verdict
          ? 'same order'
          : first.verdict === 'within noise' || second.verdict === 'within noise'
            ? 'beyond noise once'
            : 'reversed';
      pairs.push({ a, b, here: first, there: second, outcome });
    }
  });
  return pairs;
}

/** A markdown table with padded columns (as the repository's formatter writes them). */
function table(header, rows) {
  const cells = [header, ...rows].map((row) => row.map((cell) => String(cell).replace(/\|/g, '\\|')));
  const widths = header.map((_, i) => Math.max(3, ...cells.map((row) => row[i].length)));
  const line = (row) => `| ${row.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
  return [
    line(cells[0]),
    `| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`,
    ...cells.slice(1).map(line),
  ].join('\n');
}

/** One run: its step lines, its evaluation lines, its settings. */
function readRun(directory) {
  const lines = readLines(join(directory, 'metrics.jsonl'));
  const config = parse(readFileSync(join(directory, 'config.yaml'), 'utf8'));
  return {
    steps: lines.filter((line) => 'step' in line && 'reward/mean' in line),
    evaluations: lines.filter(
      (line) => 'step' in line && Object.keys(line).some((key) => key.startsWith('eval/')),
    ),
    config,
  };
}

/** Mean of a metric over the steps in each quarter of training. */
function quarters(steps, key) {
  const last = Math.max(...steps.map((line) => line.step));
  return [0, 1, 2, 3].map((quarter) =>
    mean(
      steps
        .filter((line) => line.step > (quarter * last) / 4 && line.step <= ((quarter + 1) * last) / 4)
        .map((line) => line[key])
        .filter((value) => value !== undefined),
    ),
  );
}

/** Share of the tasks whose answer is the training split's most common answer (always answering it). */
function answerPrior(out, split) {
  const answers = (name) => readLines(join(out, 'tasks', name, 'tasks.jsonl')).map((task) => task.answer);
  const counts = new Map();
  for (const answer of answers('train')) counts.set(answer, (counts.get(answer) ?? 0) + 1);
  const [common] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
  const tasks = answers(split);
  return { answer: common, accuracy: tasks.filter((answer) => answer === common).length / tasks.length };
}

/** The checkout's commit, marked when files differ from it. */
export function commit(root) {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    // Markdown changes nothing that runs: the results page an earlier invocation wrote does not count.
    const changed = execFileSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.trimEnd().endsWith('.md'));
    return changed.length > 0 ? `${sha} (with uncommitted changes)` : sha;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

export async function writeResults({
  out,
  results,
  arms,
  seeds,
  root,
  warmStart,
  config,
  provenance,
  compareSeeds = [],
}) {
  const splits = ['id', 'ood'];
  const runs = new Map(
    arms.map((arm) => [arm, seeds.map((seed) => readRun(join(out, 'ablate', arm, `seed-${seed}`)))]),
  );
  const finalEval = (run, key) => run.evaluations.at(-1)?.[key];
  const perSeed = (arm, key) =>
    runs
      .get(arm)
      .map((run) => finalEval(run, key))
      .filter((value) => value !== undefined);
  const warm = readJson(join(out, 'evals', 'warm-start.json'));
  const blank = readJson(join(out, 'evals', 'warm-start-blank.json'));
  const splitOf = (evaluation, split) => evaluation.splits.find((entry) => entry.split === split);
  // The setup as the EKIPL arm ran it (the first arm with experts, else the first arm).
  const first = (
    arms.map((arm) => runs.get(arm)[0]).find((run) => (run.config.auxiliary ?? []).length > 0) ??
    runs.get(arms[0])[0]
  ).config;
  const lines = [];
  const say = (...text) => lines.push(...text);

  say(
    "# Results: the paper's comparisons on the embedded benchmark",
    '',
    `Measured by ${provenance.map((entry) => `\`${entry.command}\` at commit ${entry.revision} (${entry.date})`).join(', then ')}, on ${cpus().length} CPU cores; seeds ${seeds.join(', ')}. Every number below is read from the files in \`${relative(root, out) || '.'}\` (examples/paper/results.mjs); rerun the command to regenerate this page.`,
    '',
    `Setup (\`${relative(root, config)}\`): ${first.dataset.use}${first.dataset.options?.imageSize === undefined ? '' : ` at ${first.dataset.options.imageSize} px`}; the tiny VLM (${Object.entries(
      first.policy.options.size ?? {},
    )
      .map(([key, value]) => `${key} ${value}`)
      .join(
        ', ',
      )}), from the warm start \`${relative(root, warmStart)}\`; ${first.run.steps} RL steps of ${first.run.batchSize} prompts x G ${first.run.groupSize}, learning rate ${first.objective.learningRate}; experts ${
      (first.auxiliary ?? [])
        .map((entry) => `${entry.name} (${entry.use}, ${JSON.stringify(entry.options ?? {})})`)
        .join(', ') || 'none'
    }. Every arm sees the same prompts and draws the same G samples from its policy per prompt (equal sample budgets); EKIPL arms add the experts' answers to the pool and keep the best G. Greedy accuracy on the first ${splitOf(warm, 'id').tasks} tasks of each held-out split after the last step; mean +- std over seeds.`,
    '',
  );

  // Table 1.
  const keys = splits.flatMap((split) => [`eval/${split}/accuracy`, `eval/${split}/format`]);
  const priors = Object.fromEntries(splits.map((split) => [split, answerPrior(out, split)]));
  say('## Table 1: held-out accuracy', '');
  say(
    table(
      ['run', 'seeds', 'id accuracy', 'id format', 'ood accuracy', 'ood format'],
      [
        [
          `answer prior (always "${priors.id.answer}")`,
          '',
          fixed(priors.id.accuracy),
          '',
          fixed(priors.ood.accuracy),
          '',
        ],
        ...[
          ['warm start, images blanked', blank],
          ['warm start', warm],
        ].map(([name, evaluation]) => [
          name,
          '',
          ...splits.flatMap((split) => [
            fixed(splitOf(evaluation, split).greedy.accuracy),
            fixed(splitOf(evaluation, split).greedy.format),
          ]),
        ]),
        ...arms.map((arm) => [arm, runs.get(arm).length, ...keys.map((key) => meanStd(perSeed(arm, key)))]),
      ],
    ),
    '',
    `Image reliance of the warm start (mean |change| of its answers' log-prob when the images are blanked, nats): id ${fixed(splitOf(warm, 'id').imageReliance ?? Number.NaN)}, ood ${fixed(splitOf(warm, 'ood').imageReliance ?? Number.NaN)}.`,
    '',
  );

  // Fig. 3: prompts until an evaluation first matched GRPO's final accuracy.
  const hasGrpo = arms.includes('grpo');
  if (hasGrpo) {
    say("## Fig. 3: samples to reach GRPO's final accuracy", '');
    say(
      `Policy samples (prompts x G) seen before the first evaluation (every ${first.run.evalEvery} steps) at or above plain GRPO's final mean accuracy; "not reached" counts the seeds that never did.`,
      '',
    );
    const rows = arms.map((arm) => [
      arm,
      ...splits.map((split) => {
        const target = mean(perSeed('grpo', `eval/${split}/accuracy`));
        const reached = runs
          .get(arm)
          .map((run) =>
            run.evaluations.find((line) => (line[`eval/${split}/accuracy`] ?? -1) >= target - 1e-9),
          )
          .filter((line) => line !== undefined)
          .map((line) => line.step * first.run.batchSize * first.run.groupSize);
        return reached.length === 0
          ? `not reached (0/${runs.get(arm).length})`
          : `${meanStd(reached, 0)} (${reached.length}/${runs.get(arm).length})`;
      }),
    ]);
    say(
      table(
        [
          'arm',
          ...splits.map(
            (split) =>
              `${split}: samples to GRPO's ${fixed(mean(perSeed('grpo', `eval/${split}/accuracy`)))}`,
          ),
        ],
        rows,
      ),
      '',
    );
    // Where GRPO ended no higher than the warm start, every arm "reaches" it before training.
    for (const split of splits) {
      const target = mean(perSeed('grpo', `eval/${split}/accuracy`));
      const start = splitOf(warm, split).greedy.accuracy;
      if (target <= start + 1e-9) {
        say(
          `On ${split}, GRPO's final accuracy (${fixed(target)}) is not above the warm start's (${fixed(start)}): every arm is there before its first update, so this column says nothing about speed.`,
          '',
        );
      }
    }
  }

  // Fig. 4: where the selected actions come from, over training.
  say('## Fig. 4: share of selected actions by source, over training', '');
  say(
    'Mean of `source/<source>/selected_share` over the steps of each quarter of training, then over seeds.',
    '',
  );
  const shareRows = [];
  for (const arm of arms) {
    const sources = [
      ...new Set(
        runs
          .get(arm)
          .flatMap((run) => run.steps.flatMap((line) => Object.keys(line)))
          .filter((key) => /^source\/.*\/selected_share$/.test(key)),
      ),
    ];
    for (const key of sources) {
      const byQuarter = [0, 1, 2, 3].map((quarter) =>
        mean(runs.get(arm).map((run) => quarters(run.steps, key)[quarter])),
      );
      shareRows.push([arm, key.split('/')[1], ...byQuarter.map((value) => fixed(value))]);
    }
  }
  say(table(['arm', 'source', 'first quarter', 'second', 'third', 'last quarter'], shareRows), '');

  // Fig. 5: pass@k.
  const passFiles = [
    ['warm start', [join(out, 'evals', 'warm-start-pass.json')]],
    ...['grpo', 'ekipl']
      .filter((arm) => arms.includes(arm))
      .map((arm) => [arm, seeds.map((seed) => join(out, 'evals', `${arm}-seed-${seed}-pass.json`))]),
  ].filter(([, files]) => files.every((file) => existsSync(file)));
  const passAt = {};
  if (passFiles.length > 0) {
    const ks = Object.keys(splitOf(readJson(passFiles[0][1][0]), 'id').passAt).map(Number);
    say('## Fig. 5: pass@k', '');
    say(
      `Unbiased pass@k from ${Math.max(...ks)} samples per task at the sampling settings of training, on the first ${splitOf(readJson(passFiles[0][1][0]), 'id').tasks} tasks of each split; mean +- std over seeds.`,
      '',
    );
    const rows = [];
    for (const [name, files] of passFiles) {
      const evaluations = files.map(readJson);
      for (const split of splits) {
        const row = ks.map((k) => evaluations.map((evaluation) => splitOf(evaluation, split).passAt[k]));
        passAt[`${name}/${split}`] = row;
        rows.push([name, split, ...row.map((values) => meanStd(values))]);
      }
    }
    say(table(['policy', 'split', ...ks.map((k) => `pass@${k}`)], rows), '');
  }

  // Estimators.
  say('## Importance weights per estimator', '');
  say(
    'Per step, then mean over steps and seeds: effective sample size of a group (of G), the largest weight, and the densities an estimator had to assume (fallbacks: texts whose source reports no log-probs).',
    '',
  );
  const stepMean = (arm, key, reduce = mean) =>
    runs
      .get(arm)
      .map((run) => reduce(run.steps.map((line) => line[key]).filter((value) => value !== undefined)));
  say(
    table(
      [
        'arm',
        'estimator',
        'ESS mean',
        'ESS min',
        'weight max (mean)',
        'weight max (largest)',
        'fallbacks per step',
      ],
      arms.map((arm) => [
        arm,
        runs.get(arm)[0].config.estimator?.use ?? 'uncorrected',
        meanStd(stepMean(arm, 'estimator/ess_mean'), 2),
        fixed(Math.min(...stepMean(arm, 'estimator/ess_min', (xs) => Math.min(...xs))), 2),
        meanStd(stepMean(arm, 'estimator/weight_max'), 2),
        fixed(Math.max(...stepMean(arm, 'estimator/weight_max', (xs) => Math.max(...xs))), 2),
        fixed(
          mean(stepMean(arm, 'estimator/fallbacks_own')) + mean(stepMean(arm, 'estimator/fallbacks_cross')),
          2,
        ),
      ]),
    ),
    '',
  );

  // Mechanism and cost.
  say('## Mechanism and cost', '');
  say(
    "Zero-advantage groups carry no gradient; entropy of the policy's sampling distributions (first and last quarter of training); external texts whose negative advantage was masked; the median step time, also as a multiple of plain GRPO's (seconds move with the machine and whatever else it runs; the ratio between arms measured together moves less, but only arms that ran under the same load compare), and the external cost.",
    '',
  );
  say(
    table(
      [
        'arm',
        'zero-advantage groups',
        'entropy first -> last quarter',
        'reward first -> last quarter',
        'masked negatives / step',
        'step time (median s)',
        'step time / grpo',
        'cost per step (USD)',
      ],
      arms.map((arm) => {
        const stepTime = (name) => mean(stepMean(name, 'time/step_s', median));
        const entropy = runs.get(arm).map((run) => quarters(run.steps, 'policy/entropy'));
        const reward = runs.get(arm).map((run) => quarters(run.steps, 'reward/mean'));
        return [
          arm,
          meanStd(stepMean(arm, 'groups/zero_advantage_fraction'), 2),
          `${fixed(mean(entropy.map((q) => q[0])), 2)} -> ${fixed(mean(entropy.map((q) => q[3])), 2)}`,
          `${fixed(mean(reward.map((q) => q[0])), 2)} -> ${fixed(mean(reward.map((q) => q[3])), 2)}`,
          fixed(mean(stepMean(arm, 'selected/masked_negatives')), 2),
          fixed(stepTime(arm), 3),
          arms.includes('grpo') ? fixed(stepTime(arm) / stepTime('grpo'), 2) : 'n/a',
          fixed(mean(stepMean(arm, 'cost/usd')), 4),
        ];
      }),
    ),
    '',
  );

  // Claims.
  const claims = [];
  const claim = (text, measured, verdict) => claims.push([text, measured, verdict]);
  const warmGap = splits.map(
    (split) => splitOf(warm, split).greedy.accuracy - splitOf(blank, split).greedy.accuracy,
  );
  claim(
    'The warm start reads its images (accuracy with real images at least 0.15 above blanked)',
    splits.map((split, i) => `${split} +${fixed(warmGap[i])}`).join(', '),
    warmGap.every((gap) => gap >= 0.15)
      ? 'yes'
      : warmGap.every((gap) => gap > 0.05)
        ? 'partly: the images help, by less than 0.15'
        : 'no: the comparisons below mostly measure the answer prior',
  );
  if (hasGrpo && arms.includes('ekipl')) {
    for (const split of splits) {
      const { difference, error, verdict } = compare(
        perSeed('ekipl', `eval/${split}/accuracy`),
        perSeed('grpo', `eval/${split}/accuracy`),
      );
      claim(
        `EKIPL beats plain GRPO on ${split} accuracy (Table 1)`,
        `${difference >= 0 ? '+' : ''}${fixed(difference)} (2 s.e. ${fixed(2 * error)})`,
        verdict === 'higher'
          ? 'reproduces'
          : verdict === 'lower'
            ? 'does not reproduce: EKIPL is lower'
            : 'not shown: within noise',
      );
    }
    const firstShare = mean(
      runs.get('ekipl').flatMap((run) => quarters(run.steps, 'source/policy/selected_share').slice(0, 1)),
    );
    const lastShare = mean(
      runs.get('ekipl').flatMap((run) => quarters(run.steps, 'source/policy/selected_share').slice(3)),
    );
    claim(
      "The policy's own share of the selected actions grows as it improves (Fig. 4)",
      `${fixed(firstShare)} -> ${fixed(lastShare)}`,
      !Number.isFinite(firstShare) || !Number.isFinite(lastShare)
        ? 'n/a: too few steps'
        : lastShare > firstShare
          ? 'reproduces'
          : 'does not reproduce',
    );
    const largest = (name, split) => passAt[`${name}/${split}`]?.at(-1);
    if (largest('ekipl', 'id') !== undefined && largest('grpo', 'id') !== undefined) {
      for (const split of splits) {
        const { difference, verdict } = compare(largest('ekipl', split), largest('grpo', split));
        claim(
          `EKIPL keeps a higher pass@k at the largest k than GRPO on ${split} (Fig. 5)`,
          `${difference >= 0 ? '+' : ''}${fixed(difference)}`,
          verdict === 'higher'
            ? 'reproduces'
            : verdict === 'lower'
              ? 'does not reproduce: lower'
              : 'not shown: within noise',
        );
      }
    }
  }
  for (const arm of arms.filter((name) => ['exact-is', 'snis'].includes(name))) {
    if (!arms.includes('ekipl')) continue;
    const { difference, verdict } = compare(
      perSeed(arm, 'eval/id/accuracy'),
      perSeed('ekipl', 'eval/id/accuracy'),
    );
    claim(
      `Appendix A: dropping the correction (uncorrected, the method as run) costs nothing against ${arm} (id accuracy)`,
      `${arm} - uncorrected ${difference >= 0 ? '+' : ''}${fixed(difference)}`,
      verdict === 'higher' ? `does not reproduce: ${arm} is higher` : 'reproduces',
    );
  }
  if (arms.includes('exact-is-local')) {
    const fallbacks =
      mean(stepMean('exact-is-local', 'estimator/fallbacks_own')) +
      mean(stepMean('exact-is-local', 'estimator/fallbacks_cross'));
    claim(
      'With a local expert (aux-local) every density in the pool is exact: no fallbacks',
      `${fixed(fallbacks, 2)} fallbacks per step, ESS ${meanStd(stepMean('exact-is-local', 'estimator/ess_mean'), 2)} of ${first.run.groupSize}`,
      fallbacks === 0 ? 'yes' : 'no',
    );
    if (arms.includes('uncorrected-local')) {
      const { difference, verdict } = compare(
        perSeed('exact-is-local', 'eval/id/accuracy'),
        perSeed('uncorrected-local', 'eval/id/accuracy'),
      );
      claim(
        'Appendix A with true densities: the unbiased exact-is against uncorrected on the same pool (id accuracy)',
        `exact-is - uncorrected ${difference >= 0 ? '+' : ''}${fixed(difference)}`,
        verdict === 'lower' ? 'exact-is lower' : verdict === 'higher' ? 'exact-is higher' : 'within noise',
      );
    }
  }
  if (compareSeeds.length > 0) rankingAgainst(compareSeeds);

  /** Whether this invocation orders the arms as one on other seeds did (its runs in the same folder). */
  function rankingAgainst(otherSeeds) {
    const available = arms.filter((arm) =>
      otherSeeds.every((seed) => existsSync(join(out, 'ablate', arm, `seed-${seed}`, 'metrics.jsonl'))),
    );
    const otherRuns = new Map(
      available.map((arm) => [
        arm,
        otherSeeds.map((seed) => readRun(join(out, 'ablate', arm, `seed-${seed}`))),
      ]),
    );
    const otherPerSeed = (arm, key) =>
      otherRuns
        .get(arm)
        .map((run) => finalEval(run, key))
        .filter((value) => value !== undefined);
    const signed = (x) => `${x >= 0 ? '+' : ''}${fixed(x)}`;
    const rows = [];
    const tally = { 'same order': 0, 'beyond noise once': 0, reversed: 0 };
    for (const split of splits) {
      const key = `eval/${split}/accuracy`;
      for (const pair of pairOutcomes(
        available,
        (arm) => perSeed(arm, key),
        (arm) => otherPerSeed(arm, key),
      )) {
        tally[pair.outcome]++;
        rows.push([
          `${pair.a} - ${pair.b}`,
          split,
          `${signed(pair.here.difference)} (${pair.here.verdict})`,
          `${signed(pair.there.difference)} (${pair.there.verdict})`,
          pair.outcome,
        ]);
      }
    }
    const order = (values) =>
      available
        .map((arm) => [arm, mean(values(arm))])
        .sort((x, y) => y[1] - x[1])
        .map(([arm, value]) => `${arm} ${fixed(value)}`)
        .join(', ');
    say(`## Against seeds ${otherSeeds.join(', ')}`, '');
    say(
      `The same arms on seeds ${otherSeeds.join(', ')} (another invocation, its runs in the same folder), by the rule of the claims below. Every pair of arms whose held-out accuracy differs beyond noise in either invocation: ${tally['same order']} keep their order beyond noise in both, ${tally['beyond noise once']} differ beyond noise in one invocation only, ${tally.reversed} are reversed.`,
      '',
      table(
        ['pair', 'split', `seeds ${seeds.join(', ')}`, `seeds ${otherSeeds.join(', ')}`, 'outcome'],
        rows,
      ),
      '',
      ...splits.flatMap((split) => [
        `Arms by mean ${split} accuracy, seeds ${seeds.join(', ')}: ${order((arm) => perSeed(arm, `eval/${split}/accuracy`))}.`,
        '',
        `Seeds ${otherSeeds.join(', ')}: ${order((arm) => otherPerSeed(arm, `eval/${split}/accuracy`))}.`,
        '',
      ]),
    );
  }

  say("## The paper's claims, checked", '');
  say(
    'Rule: two arms differ when their seed means are more than 2 standard errors of the difference apart; otherwise the claim is "within noise". Nothing here was tuned to agree with the paper.',
    '',
    table(['claim', 'measured', 'verdict'], claims),
    '',
  );
  writeFileSync(results, `${lines.join('\n').trimEnd()}\n`);
  return { claims };
}
