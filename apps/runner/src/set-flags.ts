/**
 * Every `--set path=value` (or `--set=path=value`) on a command line, in order. citty keeps only the
 * last of a repeated flag, so they are read from the raw arguments.
 */
export function setFlags(rawArgs: readonly string[]): string[] {
  const overrides: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const argument = rawArgs[i]!;
    if (argument === '--set' && i + 1 < rawArgs.length) overrides.push(rawArgs[++i]!);
    else if (argument.startsWith('--set=')) overrides.push(argument.slice('--set='.length));
  }
  return overrides;
}
