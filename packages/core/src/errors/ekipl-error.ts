const marker = 'ekipl.error';
const symbol = Symbol.for(marker);

/**
 * Base of every error ekipl throws on purpose. Known errors (this class and its subclasses) print
 * without a stack trace at the CLI; anything else is a bug and prints with one.
 *
 * `isInstance` works across duplicated copies of the package (a plugin bundling its own @ekipl/core),
 * where `instanceof` would not.
 */
export class EkiplError extends Error {
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: read by isInstance through Symbol.for
  private readonly [symbol] = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EkiplError';
  }

  static isInstance(error: unknown): error is EkiplError {
    return EkiplError.hasMarker(error, marker);
  }

  protected static hasMarker(error: unknown, markerName: string): boolean {
    return (
      error != null &&
      typeof error === 'object' &&
      Symbol.for(markerName) in error &&
      (error as Record<symbol, unknown>)[Symbol.for(markerName)] === true
    );
  }
}
