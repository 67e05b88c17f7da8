import type { ArgsDef } from 'citty';

/** Every spelling of each declared option, with its type: `--name`, its camelCase form and its alias. */
function declaredFlags(args: ArgsDef): Map<string, 'string' | 'boolean'> {
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
  return known;
}

/** The declared options on a command line, each with its type and the index of its value when apart. */
function* optionsOn(known: Map<string, 'string' | 'boolean'>, rawArgs: readonly string[]) {
  for (let i = 0; i < rawArgs.length; i++) {
    const argument = rawArgs[i]!;
    if (argument === '--') return;
    if (!argument.startsWith('-') || /^-\d/.test(argument)) continue; // a value or a negative number
    const type = known.get(argument.replace(/^--?/, '').split('=')[0]!);
    yield { argument, type, index: i };
    if (type === 'string' && !argument.includes('=')) i++; // its value follows
  }
}

/**
 * The options on a command line that the command does not declare (citty ignores them silently, so
 * `--sett x=1` or a quoted `"--set x=1"` would be dropped without a word). Each declared option is
 * accepted as `--name`, `--name=value`, its camelCase spelling, `--no-name` for booleans, and its
 * alias; the value after a string option is skipped.
 */
export function unknownFlags(args: ArgsDef, rawArgs: readonly string[]): string[] {
  return [...optionsOn(declaredFlags(args), rawArgs)]
    .filter(({ type }) => type === undefined)
    .map(({ argument }) => argument);
}

/**
 * The string options given an empty value: last on the line, `--name=` or `--name ""`. citty passes ''
 * on, which a command reads as a path: `ekipl sft ... --out` copied its checkpoint into the working folder.
 */
export function flagsWithoutValue(args: ArgsDef, rawArgs: readonly string[]): string[] {
  return [...optionsOn(declaredFlags(args), rawArgs)]
    .filter(({ argument, type, index }) => {
      if (type !== 'string') return false;
      const value = argument.includes('=') ? argument.slice(argument.indexOf('=') + 1) : rawArgs[index + 1];
      return value === undefined || value.trim() === '';
    })
    .map(({ argument }) => argument.split('=')[0]!);
}
