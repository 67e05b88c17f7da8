/**
 * Every value of a repeatable flag (`--name value` or `--name=value`) on a command line, in order.
 * citty keeps only the last of a repeated flag, so they are read from the raw arguments.
 */
export function repeatedFlag(rawArgs: readonly string[], name: string): string[] {
  const values: string[] = [];
  const flag = `--${name}`;
  for (let i = 0; i < rawArgs.length; i++) {
    const argument = rawArgs[i]!;
    if (argument === flag && i + 1 < rawArgs.length) values.push(rawArgs[++i]!);
    else if (argument.startsWith(`${flag}=`)) values.push(argument.slice(flag.length + 1));
  }
  return values;
}

/** Every `--set path=value` on a command line, in order. */
export function setFlags(rawArgs: readonly string[]): string[] {
  return repeatedFlag(rawArgs, 'set');
}
