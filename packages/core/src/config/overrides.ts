import { parse } from 'yaml';
import { ConfigError } from '../errors/config-error.js';

/**
 * `--set path=value` on the command line: `path` is a config path as users write it
 * (`objective.learningRate`, `auxiliary[1].options.accuracy`), `value` a YAML scalar or flow value
 * (`3e-4`, `snis`, `[]`, `{ use: snis }`); `auxiliary=none` is the empty list (plain GRPO). Applied to
 * the parsed file before validation, so an override is validated exactly like the file.
 */
export function applyOverrides(raw: unknown, overrides: readonly string[]): unknown {
  if (overrides.length === 0) return raw;
  const root: Record<string, unknown> =
    raw !== null && typeof raw === 'object' && !Array.isArray(raw)
      ? structuredClone(raw as Record<string, unknown>)
      : {};
  for (const override of overrides) {
    const equals = override.indexOf('=');
    if (equals <= 0) {
      throw new ConfigError([{ path: '', message: `--set ${override}: expected path=value` }]);
    }
    const path = override.slice(0, equals).trim();
    const text = override.slice(equals + 1);
    const segments = parsePath(path, override);
    let value: unknown;
    try {
      value = text === 'none' && segments.length === 1 ? [] : parse(text);
    } catch (error) {
      throw new ConfigError([
        { path, message: `--set ${override}: the value is not YAML (${String(error)})` },
      ]);
    }
    let node: unknown = root;
    for (const [i, segment] of segments.entries()) {
      const last = i === segments.length - 1;
      const container = node as Record<string | number, unknown>;
      // An index past the end would leave holes that validation reports as missing entries.
      if (typeof segment === 'number' && Array.isArray(container) && segment > container.length) {
        const at = formatSegments(segments.slice(0, i)) || 'the config';
        throw new ConfigError([
          {
            path,
            message: `--set ${override}: ${at} has ${container.length} entries; index ${segment} is past its end (0-${container.length - 1} to change one, ${container.length} to add one)`,
          },
        ]);
      }
      if (last) {
        container[segment] = value;
        break;
      }
      let next = container[segment];
      if (next === undefined || next === null) {
        next = typeof segments[i + 1] === 'number' ? [] : {};
        container[segment] = next;
      }
      if (typeof next !== 'object') {
        const at = formatSegments(segments.slice(0, i + 1));
        throw new ConfigError([
          { path, message: `--set ${override}: ${at} is ${JSON.stringify(next)}, not a section` },
        ]);
      }
      node = next;
    }
  }
  return root;
}

function parsePath(path: string, override: string): (string | number)[] {
  const segments: (string | number)[] = [];
  for (const part of path.split('.')) {
    const match = /^([A-Za-z_][\w-]*)((?:\[\d+\])*)$/.exec(part);
    if (match === null)
      throw new ConfigError([{ path, message: `--set ${override}: "${part}" is not a config path segment` }]);
    segments.push(match[1]!);
    for (const index of match[2]!.matchAll(/\[(\d+)\]/g)) segments.push(Number(index[1]));
  }
  return segments;
}

function formatSegments(segments: readonly (string | number)[]): string {
  return segments
    .map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : i === 0 ? segment : `.${segment}`))
    .join('');
}
