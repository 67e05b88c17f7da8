import { EkiplError } from '@ekipl/core';

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
