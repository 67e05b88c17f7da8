import type { ConfigIssue } from '../errors/config-error.js';

export type ConfigPath = readonly (string | number)[];

/** Finds where a config path sits in its file. */
export interface ConfigSource {
  file: string;
  /** Position of the key (`key`) or of the value (`value`) at `path`; the nearest existing parent if absent. */
  locate(path: ConfigPath, part: 'key' | 'value'): { line: number; column: number } | undefined;
}

/** `auxiliary[1].options.model` */
export function formatPath(path: ConfigPath): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? segment : `.${segment}`;
  }
  return text;
}

/** The kind of a config value as a user would name it. */
export function describeValueType(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'number' && Number.isInteger(value)) return `number ${value}`;
  if (typeof value === 'number') return `number ${value}`;
  if (typeof value === 'string')
    return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === 'object') return 'an object';
  return typeof value;
}

export function valueAt(root: unknown, path: ConfigPath): unknown {
  let value = root;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[segment];
  }
  return value;
}

/** The candidate closest to `word` by edit distance, when close enough to be a likely typo. */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The subset of a zod (v4) issue that ekipl reads; plugins may bring their own zod copy, so no zod types here. */
export interface SchemaIssue {
  code: string;
  path: readonly PropertyKey[];
  message: string;
  expected?: string;
  keys?: readonly string[];
  values?: readonly unknown[];
  minimum?: number | bigint;
  maximum?: number | bigint;
  inclusive?: boolean;
  origin?: string;
  format?: string;
}

/**
 * Config issues for schema issues found while validating `input` (which sits at `basePath` in the
 * config): paths in the user's notation, `expected X, got Y` messages, unknown keys with the known ones.
 * `knownKeysAt` lists the keys allowed at an object path, for unknown-key messages.
 */
export function toConfigIssues(
  issues: readonly SchemaIssue[],
  input: unknown,
  basePath: ConfigPath,
  source: ConfigSource | undefined,
  knownKeysAt: (path: ConfigPath) => readonly string[] = () => [],
): ConfigIssue[] {
  const result: ConfigIssue[] = [];
  for (const issue of issues) {
    const relative = issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys ?? []) {
        result.push(
          locateIssue(
            [...basePath, ...relative, key],
            unknownKeyMessage(key, knownKeysAt(relative)),
            'key',
            source,
          ),
        );
      }
      continue;
    }
    const value = valueAt(input, relative);
    result.push(locateIssue([...basePath, ...relative], describeIssue(issue, value), 'value', source));
  }
  return result;
}

export function unknownKeyMessage(key: string, known: readonly string[]): string {
  if (known.length === 0) return `unknown key "${key}"`;
  const suggestion = closestMatch(key, known);
  return suggestion !== undefined
    ? `unknown key "${key}" (did you mean "${suggestion}"?)`
    : `unknown key "${key}" (allowed: ${known.join(', ')})`;
}

export function locateIssue(
  path: ConfigPath,
  message: string,
  part: 'key' | 'value',
  source: ConfigSource | undefined,
): ConfigIssue {
  const issue: ConfigIssue = { path: formatPath(path), message };
  if (source !== undefined) {
    issue.file = source.file;
    const position = source.locate(path, part);
    if (position !== undefined) {
      issue.line = position.line;
      issue.column = position.column;
    }
  }
  return issue;
}

function describeIssue(issue: SchemaIssue, value: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined) return `required (expected ${issue.expected ?? 'a value'})`;
      return `expected ${issue.expected === 'int' ? 'an integer' : (issue.expected ?? 'another type')}, got ${describeValueType(value)}`;
    case 'invalid_value':
      return `expected one of ${(issue.values ?? []).map((option) => JSON.stringify(option)).join(' | ')}, got ${describeValueType(value)}`;
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const comparison =
        issue.code === 'too_small'
          ? issue.inclusive === false
            ? '>'
            : '>='
          : issue.inclusive === false
            ? '<'
            : '<=';
      if (issue.origin === 'array')
        return `needs ${comparison} ${String(bound)} items, got ${(value as unknown[]).length}`;
      if (issue.origin === 'string')
        return `needs ${comparison} ${String(bound)} characters, got ${describeValueType(value)}`;
      return `must be ${comparison} ${String(bound)}, got ${describeValueType(value)}`;
    }
    case 'invalid_union':
      return `does not match any allowed form, got ${describeValueType(value)}`;
    default:
      return issue.message;
  }
}
