import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeReport } from '../src/index.js';

const scratch = mkdtempSync(join(tmpdir(), 'ekipl-report-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// Model output is untrusted: these must stay text.
const hostile = [
  `<script>document.body.dataset.pwned = 'script'</script>`,
  `<img src=x onerror="document.body.dataset.pwned = 'img'">`,
  `</script><script>document.body.dataset.pwned = 'json'</script>`,
];

/** A run directory as train writes it: config, step and evaluation metrics, samples. */
function fakeRun(directory: string, accuracyShift: number): void {
  mkdirSync(directory, { recursive: true });
  writeFileSync(join(directory, 'config.yaml'), 'run:\n  batchSize: 2\n');
  const lines = [
    { step: 0, 'eval/id/accuracy': 0.2 + accuracyShift, 'eval/ood/accuracy': 0.1 },
    ...[1, 2, 3].map((step) => ({
      step,
      'reward/mean': 0.5 + step / 10,
      'reward/accuracy': step / 10,
      'source/policy/selected_share': 0.5,
      'source/expert/selected_share': 0.5,
      'estimator/ess_mean': 4,
      'estimator/weight_max': 1,
      'policy/entropy': 0.4,
      'train/update_norm': step * 0.001,
      'cost/usd_total': step * 0.01,
    })),
    { step: 3, 'eval/id/accuracy': 0.4 + accuracyShift, 'eval/ood/accuracy': 0.2 },
  ];
  writeFileSync(
    join(directory, 'metrics.jsonl'),
    `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`,
  );
  const sample = {
    step: 3,
    task: 'counting-train-1',
    answer: hostile[2],
    image: 'images/step-3/0.png',
    selected: hostile.map((text, i) => ({
      source: i === 0 ? 'policy' : 'expert',
      text,
      reward: 1,
      advantage: 0.5,
      weight: 1,
    })),
    candidates: [
      ...hostile.map((text, i) => ({
        source: i === 0 ? 'policy' : 'expert',
        text,
        reward: 1,
        selected: true,
      })),
      { source: 'expert', text: 'a dropped <b>candidate</b>', reward: 0, selected: false },
    ],
  };
  // A second group whose image path points outside the run: never read.
  const outside = { ...sample, task: 'counting-train-2', image: '../../../etc/passwd' };
  writeFileSync(join(directory, 'samples.jsonl'), `${JSON.stringify(outside)}\n${JSON.stringify(sample)}\n`);
  mkdirSync(join(directory, 'images', 'step-3'), { recursive: true });
  writeFileSync(join(directory, 'images', 'step-3', '0.png'), Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]));
}

function chromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const found = spawnSync('which', [name], { encoding: 'utf8' });
    if (found.status === 0) return found.stdout.trim();
  }
  return undefined;
}

describe('ekipl report', () => {
  const run = join(scratch, 'run');
  const ablation = join(scratch, 'ablation');
  fakeRun(run, 0);
  fakeRun(join(ablation, 'estimator.use=snis', 'seed-1'), 0);
  fakeRun(join(ablation, 'estimator.use=snis', 'seed-2'), 0.1);

  it('one self-contained file: charts of each kind, arms as mean +- std, every text escaped', async () => {
    const out = join(scratch, 'report.html');
    const { charts } = await writeReport({ paths: [run, ablation], out });
    // id and ood accuracy, source shares, rewards, ESS, weight max, entropy, update norm, cost.
    expect(charts).toBe(9);
    const html = readFileSync(out, 'utf8');
    expect(html).not.toMatch(/<script src=|<link |(src|href)=["']?https?:/); // nothing fetched
    for (const text of hostile) expect(html).not.toContain(text);
    expect(html).toContain('&#60;script&#62;document.body.dataset.pwned');
    // The chart data cannot close its <script> element.
    const data = html.slice(
      html.indexOf('id="ekipl-data"'),
      html.indexOf('</script>', html.indexOf('id="ekipl-data"')),
    );
    expect(data).not.toContain('<');
    expect(html).toContain('estimator.use=snis (2 seeds: mean +- std)');
    // The whole pool: the selected candidates and the one left out, marked.
    expect(html).toContain(
      '<tr class="dropped"><td>expert</td><td class="text">a dropped &#60;b&#62;candidate&#60;/b&#62;</td><td>0.00</td><td></td>',
    );
    expect((html.match(/<tr class="selected">/g) ?? []).length).toBe(6);
    // The prompt image, inlined; a path outside the run is ignored.
    expect(html.match(/<img src="data:image\/png;base64,iVBORw0KGgo=" alt="prompt image"/g)).toHaveLength(1);
    expect(html).not.toContain('passwd');
  });

  it.skipIf(chromium() === undefined)(
    'opens in headless Chromium with every chart drawn, no errors, and no hostile text run',
    async () => {
      const out = join(scratch, 'browser.html');
      const { charts } = await writeReport({ paths: [run, ablation], out });
      const result = spawnSync(
        chromium()!,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--virtual-time-budget=5000',
          '--dump-dom',
          `file://${out}`,
        ],
        { encoding: 'utf8', timeout: 60_000 },
      );
      const body = /<body[^>]*>/.exec(result.stdout)?.[0] ?? '';
      expect(body).toContain(`data-charts-drawn="${charts}"`);
      expect(body).not.toContain('data-errors');
      expect(body).not.toContain('data-pwned');
      expect((result.stdout.match(/<canvas/g) ?? []).length).toBe(charts);
    },
    90_000,
  );

  it('a path that holds no run is a clear error', async () => {
    const empty = join(scratch, 'empty');
    mkdirSync(empty);
    await expect(writeReport({ paths: [empty] })).rejects.toThrow(
      /no run \(a folder with metrics\.jsonl\) under/,
    );
    expect(existsSync(join(empty, 'report.html'))).toBe(false);
  });
});
