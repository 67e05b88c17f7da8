import { ConfigError, EkiplError } from '@ekipl/core';

/**
 * Prints an error the way users should see it: ekipl's own errors (bad config, missing plugin) as
 * their message alone; anything else is a bug, printed with its stack. Returns the exit code.
 */
export function reportError(
  error: unknown,
  write: (text: string) => void = (text) => process.stderr.write(text),
): number {
  if (EkiplError.isInstance(error)) {
    write(`error: ${error.message}\n`);
    return 1;
  }
  write(
    `unexpected error (please report it): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  return 1;
}

/**
 * A command's failure on stderr with its exit code: a config problem is its located lines and exit 2
 * (as `ekipl validate` reports them); anything else as `reportError`.
 */
export function reportCommandError(error: unknown): number {
  if (ConfigError.isInstance(error)) {
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
  return reportError(error);
}
