/**
 * A command's two-stage Ctrl-C: the first says what the command does to stop cleanly and aborts the
 * returned signal; a second quits at once (exit 130). `release` removes the first handler when the
 * command is done.
 */
export function stopOnInterrupt(message: string): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const stop = () => {
    process.stderr.write(`\n${message} (Ctrl-C again to quit at once)\n`);
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', stop);
  return { signal: controller.signal, release: () => process.removeListener('SIGINT', stop) };
}
