import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, join, resolve } from 'node:path';
import { ConfigError, mean, sampleStd } from '@ekipl/core';
import { defineCommand } from 'citty';
import { escapeHtml } from '../escape-html.js';
import { reportCommandError } from '../report-error.js';
import { readJsonLines, runBatchSize } from '../run-files.js';

/** Runs drawn as one line (one run) or as a mean with a +- std band (the seeds of an ablation arm). */
interface RunGroup {
  label: string;
  runs: string[];
}

/** One chart: named series of (x, y) points; `band` series are mean +- std of several runs. */
interface ChartData {
  title: string;
  xLabel: string;
  series: { label: string; points: [number, number][]; band?: [number, number][] }[];
}

/**
 * The runs under each path: a run directory (it has metrics.jsonl), an ablation (arm folders of
 * `seed-N` runs), or a folder of run directories.
 */
export function collectRuns(paths: readonly string[]): RunGroup[] {
  const groups: RunGroup[] = [];
  const isRun = (directory: string) => existsSync(join(directory, 'metrics.jsonl'));
  const folders = (directory: string) =>
    readdirSync(directory)
      .filter((name) => !name.startsWith('.') && statSync(join(directory, name)).isDirectory())
      .sort()
      .map((name) => join(directory, name));
  for (const path of paths.map((entry) => resolve(entry))) {
    if (!existsSync(path) || !statSync(path).isDirectory()) {
      throw new ConfigError([{ path: 'report', message: `${path}: not a run or ablation directory` }]);
    }
    if (isRun(path)) {
      groups.push({ label: basename(path), runs: [path] });
      continue;
    }
    for (const folder of folders(path)) {
      if (isRun(folder)) groups.push({ label: basename(folder), runs: [folder] });
      else {
        const seeds = folders(folder).filter(isRun);
        if (seeds.length > 0) groups.push({ label: basename(folder), runs: seeds });
      }
    }
  }
  if (groups.length === 0) {
    throw new ConfigError([
      { path: 'report', message: `no run (a folder with metrics.jsonl) under ${paths.join(', ')}` },
    ]);
  }
  return groups;
}

/** Mean (and +- std when several runs) of y at each x over the runs' series. */
function combine(perRun: [number, number][][]): { points: [number, number][]; band?: [number, number][] } {
  const byX = new Map<number, number[]>();
  for (const series of perRun) for (const [x, y] of series) byX.set(x, [...(byX.get(x) ?? []), y]);
  const xs = [...byX.keys()].sort((a, b) => a - b);
  const stats = xs.map((x) => {
    const values = byX.get(x)!;
    const average = mean(values);
    return { x, mean: average, std: sampleStd(values, average) };
  });
  return {
    points: stats.map(({ x, mean }) => [x, mean]),
    ...(perRun.length > 1 ? { band: stats.map(({ x, std }) => [x, std] as [number, number]) } : {}),
  };
}

/** The report's charts, from every group's metrics (and eval.json, for pass@k). */
export async function reportCharts(groups: readonly RunGroup[]): Promise<ChartData[]> {
  const loaded = await Promise.all(
    groups.map(async (group) => ({
      group,
      runs: await Promise.all(
        group.runs.map(async (run) => ({
          lines: await readJsonLines(join(run, 'metrics.jsonl')),
          batchSize: await runBatchSize(run),
          evalFile: JSON.parse(await readFile(join(run, 'eval.json'), 'utf8').catch(() => 'null')) as {
            splits?: { split: string; passAt: Record<string, number> }[];
          } | null,
        })),
      ),
    })),
  );
  const steps = (lines: Record<string, unknown>[]) => lines.filter((line) => 'reward/mean' in line);
  const evals = (lines: Record<string, unknown>[]) =>
    lines.filter((line) => Object.keys(line).some((key) => key.startsWith('eval/')));
  const keysOf = (match: (key: string) => boolean) =>
    [
      ...new Set(
        loaded.flatMap(({ runs }) => runs.flatMap((run) => run.lines.flatMap((line) => Object.keys(line)))),
      ),
    ]
      .filter(match)
      .sort();
  /** One series per group for a metric of the step lines (x = step) or the evaluation lines. */
  const seriesOf = (
    key: string,
    source: 'steps' | 'evals',
    x: (line: Record<string, unknown>, size: number) => number,
    label = (group: string) => group,
  ) =>
    loaded
      .map(({ group, runs }) => ({
        label: label(group.label),
        ...combine(
          runs.map((run) =>
            (source === 'steps' ? steps(run.lines) : evals(run.lines))
              .filter((line) => typeof line[key] === 'number')
              .map((line) => [x(line, run.batchSize), line[key] as number] as [number, number]),
          ),
        ),
      }))
      .filter((series) => series.points.length > 0);
  const byStep = (line: Record<string, unknown>) => line['step'] as number;
  const bySamples = (line: Record<string, unknown>, size: number) => (line['step'] as number) * size;
  const charts: ChartData[] = [];
  for (const key of keysOf((key) => /^eval\/[^/]+\/accuracy$/.test(key))) {
    charts.push({
      title: `${key.split('/')[1]} accuracy vs prompts seen (greedy)`,
      xLabel: 'prompts seen',
      series: seriesOf(key, 'evals', bySamples),
    });
  }
  const shares = keysOf((key) => key.endsWith('/selected_share'));
  if (shares.length > 0) {
    charts.push({
      title: 'share of the selected groups from each source',
      xLabel: 'step',
      series: shares.flatMap((key) =>
        seriesOf(key, 'steps', byStep, (group) => `${group}: ${key.split('/')[1]}`),
      ),
    });
  }
  const passAt = loaded.flatMap(({ group, runs }) =>
    runs.flatMap((run) =>
      (run.evalFile?.splits ?? []).map((split) => ({
        label: `${group.label}: ${split.split}`,
        points: Object.entries(split.passAt).map(([k, value]) => [Number(k), value] as [number, number]),
      })),
    ),
  );
  if (passAt.some((series) => series.points.length > 0))
    charts.push({ title: 'pass@k (ekipl eval)', xLabel: 'k', series: passAt });
  const rewardParts = keysOf((key) => key.startsWith('reward/'));
  charts.push({
    title: "the policy's rewards",
    xLabel: 'step',
    series: rewardParts.flatMap((key) =>
      seriesOf(key, 'steps', byStep, (group) => `${group}: ${key.slice('reward/'.length)}`),
    ),
  });
  for (const [key, title] of [
    ['estimator/ess_mean', 'effective sample size (mean over groups)'],
    ['estimator/weight_max', 'largest importance weight'],
    ['policy/entropy', 'policy entropy (nats per token; collapse shows here first)'],
    // A policy can drift with almost no gradient: Adam moves the weights as far on a tiny one.
    ['train/update_norm', 'how far each step moves the weights (update norm; drift shows here)'],
    ['cost/usd_total', 'external cost so far (USD)'],
  ] as const) {
    charts.push({ title, xLabel: 'step', series: seriesOf(key, 'steps', byStep) });
  }
  return charts.filter((chart) => chart.series.length > 0);
}

/**
 * The newest groups of a run, as an HTML table: the task, then every candidate with its source, reward
 * and whether it was selected (with its advantage and weight when it was). Every text escaped.
 */
async function samplesTable(run: string, limit: number): Promise<string> {
  const samples = (await readJsonLines(join(run, 'samples.jsonl'))).slice(-limit).reverse();
  if (samples.length === 0) return '<p>No samples recorded.</p>';
  const number = (value: unknown, digits: number) => (typeof value === 'number' ? value.toFixed(digits) : '');
  const groups = await Promise.all(
    samples.map(async (sample) => {
      const selected = (sample['selected'] as Record<string, unknown>[] | undefined) ?? [];
      // Runs before candidates were recorded list the selected group only.
      const candidates: Record<string, unknown>[] =
        (sample['candidates'] as Record<string, unknown>[] | undefined) ??
        selected.map((action) => ({ ...action, selected: true }));
      const unused = [...selected];
      const image = await imageDataUrl(run, sample['image']);
      const picture = image === undefined ? '' : `<br><img src="${image}" alt="prompt image" width="96">`;
      const task = `<td rowspan="${candidates.length}">${escapeHtml(String(sample['step']))}</td><td rowspan="${candidates.length}">${escapeHtml(String(sample['task']))}<br>${escapeHtml(String(sample['question'] ?? ''))}${picture}</td><td rowspan="${candidates.length}">${escapeHtml(String(sample['answer']))}</td>`;
      return candidates.map((candidate, i) => {
        const isSelected = candidate['selected'] === true;
        // The selected entry of this candidate (same source and text) holds its advantage and weight.
        const match = isSelected
          ? unused.splice(
              unused.findIndex(
                (action) => action['source'] === candidate['source'] && action['text'] === candidate['text'],
              ),
              1,
            )[0]
          : undefined;
        return (
          `<tr class="${isSelected ? 'selected' : 'dropped'}">${i === 0 ? task : ''}` +
          `<td>${escapeHtml(String(candidate['source']))}</td><td class="text">${escapeHtml(String(candidate['text']))}</td>` +
          `<td>${number(candidate['reward'], 2)}</td><td>${isSelected ? 'yes' : ''}</td>` +
          `<td>${number(match?.['advantage'], 2)}</td><td>${number(match?.['weight'], 3)}</td></tr>`
        );
      });
    }),
  );
  const rows = groups.flat();
  return `<table><thead><tr><th>step</th><th>task</th><th>answer</th><th>source</th><th>text</th><th>reward</th><th>selected</th><th>advantage</th><th>weight</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** A run's recorded prompt image (a path inside the run, from samples.jsonl) as a data URL. */
async function imageDataUrl(run: string, path: unknown): Promise<string | undefined> {
  if (typeof path !== 'string' || !/^images\/step-\d+\/\d+\.(png|jpg|webp)$/.test(path)) return undefined;
  const bytes = await readFile(join(run, path)).catch(() => undefined);
  if (bytes === undefined) return undefined;
  const type = path.endsWith('.png') ? 'image/png' : path.endsWith('.jpg') ? 'image/jpeg' : 'image/webp';
  return `data:${type};base64,${bytes.toString('base64')}`;
}

/** JSON that is safe inside a <script> element: no `<` can close it or open a comment. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

/** Draws every chart with uPlot; records errors and the count of charts drawn on <body> (for tests). */
const drawScript = `
const charts = JSON.parse(document.getElementById('ekipl-data').textContent);
const colors = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
let drawn = 0;
window.addEventListener('error', (event) => { document.body.dataset.errors = (document.body.dataset.errors || '') + event.message + ';'; });
for (const [index, chart] of charts.entries()) {
  try {
    const xs = [...new Set(chart.series.flatMap((series) => series.points.map((point) => point[0])))].sort((a, b) => a - b);
    const at = (points) => { const map = new Map(points); return xs.map((x) => (map.has(x) ? map.get(x) : null)); };
    const data = [xs];
    const series = [{ label: chart.xLabel }];
    const bands = [];
    chart.series.forEach((line, i) => {
      const color = colors[i % colors.length];
      data.push(at(line.points));
      series.push({ label: line.label, stroke: color, width: 2, spanGaps: true });
      if (line.band) {
        const mean = new Map(line.points);
        const upper = at(line.band.map(([x, std]) => [x, mean.get(x) + std]));
        const lower = at(line.band.map(([x, std]) => [x, mean.get(x) - std]));
        data.push(upper, lower);
        series.push({ label: line.label + ' +std', stroke: color, width: 0, spanGaps: true }, { label: line.label + ' -std', stroke: color, width: 0, spanGaps: true });
        bands.push({ series: [data.length - 2, data.length - 1], fill: color + '33' });
      }
    });
    const holder = document.getElementById('chart-' + index);
    new uPlot({ title: chart.title, width: Math.min(900, window.innerWidth - 40), height: 300, series, bands, scales: { x: { time: false } }, axes: [{ label: chart.xLabel }, {}] }, data, holder);
    drawn++;
  } catch (error) {
    document.body.dataset.errors = (document.body.dataset.errors || '') + String(error) + ';';
  }
}
document.body.dataset.chartsDrawn = String(drawn);
`;

export interface ReportOptions {
  paths: readonly string[];
  /** Default: report.html in the first path. */
  out?: string;
  /** Selected groups shown in the samples table. */
  samples?: number;
}

/**
 * `ekipl report RUN_OR_ABLATION_DIR...`: one self-contained HTML file (uPlot inlined, no network):
 * accuracy vs prompts seen per split (the paper's Fig. 3), each source's share of the selected groups
 * (Fig. 4), pass@k from `ekipl eval` (Fig. 5), the policy's rewards, ESS and the largest weight,
 * entropy, cost; several runs overlaid, ablation arms as mean with a +- std band; a table of the newest
 * sample groups. Every piece of model or dataset text is escaped.
 */
export async function writeReport(options: ReportOptions): Promise<{ file: string; charts: number }> {
  const groups = collectRuns(options.paths);
  const charts = await reportCharts(groups);
  const require = createRequire(import.meta.url);
  const uplotScript = await readFile(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
  const uplotStyle = await readFile(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
  const firstRun = groups[0]!.runs[0]!;
  // Only the report's own scripts run, even if some text escaped escaping: they carry this nonce.
  const nonce = randomBytes(16).toString('base64');
  const table = await samplesTable(firstRun, options.samples ?? 10);
  const runList = groups
    .map(
      (group) =>
        `<li>${escapeHtml(group.label)}${group.runs.length > 1 ? ` (${group.runs.length} seeds: mean +- std)` : ''}</li>`,
    )
    .join('');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ekipl report</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; img-src data:">
<style>${uplotStyle}
body { font-family: system-ui, sans-serif; margin: 20px; color: #222; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
table { border-collapse: collapse; font-size: 13px; }
td, th { border: 1px solid #ccc; padding: 4px 6px; vertical-align: top; }
td.text { white-space: pre-wrap; max-width: 600px; font-family: monospace; }
tr.dropped td.text { color: #888; }
</style></head>
<body>
<h1>ekipl report</h1>
<ul>${runList}</ul>
<div class="charts">${charts.map((_, i) => `<div id="chart-${i}"></div>`).join('')}</div>
<h2>Newest sample groups of ${escapeHtml(basename(firstRun))}</h2>
${table}
<script id="ekipl-data" type="application/json">${scriptJson(charts)}</script>
<script nonce="${nonce}">${uplotScript}</script>
<script nonce="${nonce}">${drawScript}</script>
</body></html>
`;
  const file = resolve(options.out ?? join(options.paths[0]!, 'report.html'));
  await writeFile(file, html);
  return { file, charts: charts.length };
}

export default defineCommand({
  meta: { name: 'report', description: 'One self-contained HTML report of runs or ablations' },
  args: {
    out: { type: 'string', description: 'Output file (default: report.html in the first directory)' },
    samples: { type: 'string', description: 'Sample groups in the table (default 10)' },
  },
  async run({ args }) {
    try {
      const paths = args._.map(String);
      if (paths.length === 0) {
        throw new ConfigError([{ path: 'report', message: 'name at least one run or ablation directory' }]);
      }
      const samples = args.samples === undefined ? undefined : Number(args.samples);
      const { file, charts } = await writeReport({
        paths,
        ...(args.out === undefined ? {} : { out: args.out }),
        ...(samples === undefined || !Number.isInteger(samples) ? {} : { samples }),
      });
      process.stdout.write(`${file} (${charts} charts)\n`);
    } catch (error) {
      process.exitCode = reportCommandError(error);
    }
  },
});
