/** Ordered record of what fakes did, to assert on order (concurrency) instead of wall time. */
export class EventLog {
  readonly events: string[] = [];

  record(event: string): void {
    this.events.push(event);
  }

  /** Position of the first occurrence of `event`; -1 when it never happened. */
  indexOf(event: string): number {
    return this.events.indexOf(event);
  }
}

export function delay(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}
