import { MultiBar, type SingleBar } from 'cli-progress';

/** What a training step reports to whoever shows progress. */
export interface StepProgress {
  step: number;
  steps: number;
  metrics: Record<string, number>;
  seconds: number;
}

/** Where train's lines and step progress go. */
export interface ProgressView {
  log(line: string): void;
  step(progress: StepProgress): void;
  stop(): void;
}

/** One line per step: the policy's own reward and accuracy, then the selected group's. */
export function progressLine({ step, steps, metrics, seconds }: StepProgress): string {
  const value = (key: string) => (metrics[key] ?? 0).toFixed(3);
  const shares = Object.keys(metrics)
    .filter((key) => key.endsWith('/selected_share'))
    .map((key) => `${key.split('/')[1]} ${value(key)}`)
    .join(' ');
  // Whose numbers: the policy's own samples, then the selected group (where experts may carry it).
  return (
    `step ${step}/${steps}  policy: reward ${value('reward/mean')} accuracy ${value('reward/accuracy')}` +
    ` entropy ${value('policy/entropy')}  group: reward ${value('selected/reward_mean')} sources [${shares}]` +
    `  ess ${value('estimator/ess_mean')}  loss ${value('train/loss')}  ${seconds.toFixed(1)} s`
  );
}

/** Plain lines (CI, pipes, files): every log line and one line per step. */
export function plainProgress(write: (text: string) => void): ProgressView {
  return {
    log: (line) => write(`${line}\n`),
    step: (progress) => write(`${progressLine(progress)}\n`),
    stop: () => {},
  };
}

/**
 * On a terminal: a progress bar (cli-progress) with the step, the policy's reward and accuracy, the
 * external share of the selected groups, the cost so far and the ETA; log lines scroll above it.
 */
export function barProgress(stream: NodeJS.WriteStream): ProgressView {
  const bars = new MultiBar(
    {
      stream,
      format:
        'step {value}/{total} |{bar}| policy reward {reward} acc {accuracy} | external share {external} | cost USD {cost} | ETA {eta_formatted}',
      hideCursor: true,
      clearOnComplete: false,
      barsize: 24,
      etaBuffer: 20,
    },
    undefined,
  );
  let bar: SingleBar | undefined;
  let stopped = false;
  return {
    // Before the first step and after the end there is no bar: lines go straight to the terminal.
    log: (line) => {
      if (bar === undefined || stopped) stream.write(`${line}\n`);
      else bars.log(`${line}\n`);
    },
    step: ({ step, steps, metrics }) => {
      const shares = Object.entries(metrics).filter(([key]) => key.endsWith('/selected_share'));
      const external = shares
        .filter(([key]) => key !== 'source/policy/selected_share')
        .reduce((sum, [, share]) => sum + share, 0);
      const payload = {
        reward: (metrics['reward/mean'] ?? 0).toFixed(2),
        accuracy: (metrics['reward/accuracy'] ?? 0).toFixed(2),
        external: external.toFixed(2),
        cost: (metrics['cost/usd_total'] ?? 0).toFixed(2),
      };
      if (bar === undefined) bar = bars.create(steps, step - 1, payload);
      bar.update(step, payload);
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      if (bar === undefined) return;
      bars.update(); // writes the lines logged since the last frame
      bars.stop();
    },
  };
}

/** A bar on a terminal, plain lines otherwise. */
export function progressFor(stream: NodeJS.WriteStream): ProgressView {
  return stream.isTTY === true ? barProgress(stream) : plainProgress((text) => stream.write(text));
}
