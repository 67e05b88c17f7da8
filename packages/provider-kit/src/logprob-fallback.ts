/**
 * Log-probs on request, off for good once the API refuses them: a 400 whose message names log-probs
 * turns them off, records one warning, and tells the adapter to send the request again without.
 */
export class LogprobFallback {
  private on: boolean;
  private readonly warnings: string[] = [];

  constructor(
    private readonly model: string,
    requested: boolean,
  ) {
    this.on = requested;
  }

  get enabled(): boolean {
    return this.on;
  }

  /** True when `error` was the API refusing log-probs: they are now off; retry the request. */
  refused(error: unknown): boolean {
    const status = (error as { status?: number } | undefined)?.status;
    if (!this.on || status !== 400 || !/logprob/i.test(String((error as Error).message))) return false;
    this.on = false;
    this.warnings.push(
      `model ${this.model} refuses log-probs: answers carry no behaviorLogProb (estimators use their fallback)`,
    );
    return true;
  }

  drainWarnings(): string[] {
    return this.warnings.splice(0);
  }
}
