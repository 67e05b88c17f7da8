import { EkiplError } from '@ekipl/core';

/** A plugin broke an invariant of its contract; the message lists each failing case with its numbers. */
export class ConformanceError extends EkiplError {
  constructor(message: string) {
    super(message);
    this.name = 'ConformanceError';
  }
}
