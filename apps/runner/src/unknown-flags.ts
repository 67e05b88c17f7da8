import type { ArgsDef } from 'citty';

/**
 * The options on a command line that the command does not declare (citty ignores them silently, so
 * `--sett x=1` or a quoted `"--set x=1"` would be dropped without a word). Each declared option is
 * accepted as `--name`, `--name=value`, its camelCase spelling, `--no-name` for booleans, and its
 * alias; the value after a string option is skipped.
 */
export function unknownFlags(args: ArgsDef, rawArgs: readonly string[]): string[] {
  const camel = (name: string) => name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
  const known = new Map<string, 'string' | 'boolean'>([
    ['help', 'boolean'],
    ['h', 'boolean'],
    ['version', 'boolean'],
  ]);
  for (const [name, definition] of Object.entries(args)) {
    if (definition.type !== 'string' && definition.type !== 'boolean') continue; // positionals
    for (const spelling of [name, camel(name), ...[definition.alias ?? []].flat()]) {
      known.set(spelling, definition.type);
      if (definition.type === 'boolean') known.set(`no-${spelling}`, 'boolean');
    }
  }
  const unknown: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const argument = rawArgs[i]!;
    if (argument === '--') break;
    if (!argument.startsWith('-') || /^-\d/.test(argument)) continue; // a value or a negative number
    const name = argument.replace(/^--?/, '').split('=')[0]!;
    const type = known.get(name);
    if (type === undefined) unknown.push(argument);
    else if (type === 'string' && !argument.includes('=')) i++; // its value follows
  }
  return unknown;
}
