import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { barProgress, plainProgress, progressFor, progressLine } from '../src/progress.js';

const metrics = {
  'reward/mean': 1.25,
  'reward/accuracy': 0.5,
  'policy/entropy': 0.4,
  'selected/reward_mean': 1.75,
  'source/policy/selected_share': 0.25,
  'source/expert/selected_share': 0.75,
  'cost/usd_total': 0.125,
};

/** A stream that records what is written, passing for a terminal when asked. */
function terminal(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  }) as Writable & { isTTY?: boolean; columns?: number };
  stream.isTTY = isTTY;
  stream.columns = 160;
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => chunks.join('') };
}

describe('train progress', () => {
  it('plain lines (CI, pipes): every log line, and one line per step saying whose numbers it shows', () => {
    const lines: string[] = [];
    const view = plainProgress((text) => lines.push(text));
    view.log('run directory x');
    view.step({ step: 3, steps: 10, metrics, seconds: 0.5 });
    expect(lines).toEqual([
      'run directory x\n',
      'step 3/10  policy: reward 1.250 accuracy 0.500 entropy 0.400  group: reward 1.750 sources [policy 0.250 expert 0.750]  ess 0.000  loss 0.000  0.5 s\n',
    ]);
    expect(progressLine({ step: 1, steps: 2, metrics: {}, seconds: 0 })).toMatch(
      /^step 1\/2 {2}policy: reward 0\.000/,
    );
  });

  it('a terminal gets a bar with the step, reward, accuracy, external share, cost and ETA', () => {
    const { stream, text } = terminal(true);
    const view = barProgress(stream);
    view.step({ step: 3, steps: 10, metrics, seconds: 0.5 });
    view.log('eval at step 3: eval/id/accuracy 0.500');
    view.stop();
    view.stop(); // stopping twice is harmless
    expect(text()).toMatch(
      /step 3\/10 \|[=-]+\| policy reward 1\.25 acc 0\.50 \| external share 0\.75 \| cost USD 0\.13 \| ETA /,
    );
    expect(text()).toContain('eval at step 3: eval/id/accuracy 0.500');
  });

  it('chooses the bar only for a terminal', () => {
    const { stream, text } = terminal(false);
    progressFor(stream).step({ step: 1, steps: 2, metrics, seconds: 1 });
    expect(text()).toMatch(/^step 1\/2 {2}policy: reward 1\.250/);
  });
});
