/** At most `concurrency` tasks at once and, optionally, at most `perMinute` starts in any 60 s window. */
export class RequestLimiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly starts: number[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly perMinute?: number,
    /** Time source and wait (injectable, so tests need not wait a minute). */
    private readonly clock: { now(): number; sleep(milliseconds: number): Promise<void> } = {
      now: () => Date.now(),
      sleep: (ms) => sleep(ms),
    },
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  private async acquire(): Promise<void> {
    if (this.active >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    if (this.perMinute !== undefined) {
      for (;;) {
        const now = this.clock.now();
        while (this.starts.length > 0 && now - this.starts[0]! >= 60_000) this.starts.shift();
        if (this.starts.length < this.perMinute) break;
        await this.clock.sleep(60_000 - (now - this.starts[0]!));
      }
      this.starts.push(this.clock.now());
    }
  }

  private release(): void {
    this.active--;
    this.waiting.shift()?.();
  }
}

export function sleep(milliseconds: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, milliseconds);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
