import {
  type ConfigPath,
  type ConfigSource,
  locateIssue,
  type SchemaIssue,
  toConfigIssues,
  unknownKeyMessage,
} from '../config/issues.js';
import type { ConfigIssue } from '../errors/config-error.js';
import type { AnyPluginDefinition } from './define-plugin.js';

type ParsedOptions = { ok: true; value: unknown } | { ok: false; issues: ConfigIssue[] };

/**
 * Validates a plugin's options against its schema and fills its defaults. Object schemas reject
 * unknown keys even when declared with plain `z.object` (which would silently drop them): a typo in
 * an option name must not become a silently ignored setting. `z.looseObject` opts out.
 */
export function parsePluginOptions(
  plugin: AnyPluginDefinition,
  options: unknown,
  basePath: ConfigPath,
  source: ConfigSource | undefined,
): ParsedOptions {
  const schema = plugin.options as unknown as SchemaNode;
  const issues: ConfigIssue[] = unknownKeys(schema, options, []).map(({ path, known }) =>
    locateIssue([...basePath, ...path], unknownKeyMessage(String(path.at(-1)), known), 'key', source),
  );
  const parsed = plugin.options.safeParse(options);
  if (!parsed.success) {
    const schemaIssues = (parsed.error as unknown as { issues: SchemaIssue[] }).issues;
    issues.push(
      ...toConfigIssues(schemaIssues, options, basePath, source, (path) => objectKeysAt(schema, path)),
    );
  }
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, value: (parsed as { data: unknown }).data };
}

/** The subset of zod v4's schema internals walked here. */
interface SchemaNode {
  _zod: {
    def: {
      type: string;
      shape?: Record<string, SchemaNode>;
      catchall?: SchemaNode;
      element?: SchemaNode;
      valueType?: SchemaNode;
      innerType?: SchemaNode;
      in?: SchemaNode;
    };
  };
}

const wrapperTypes = new Set([
  'optional',
  'nullable',
  'default',
  'prefault',
  'readonly',
  'catch',
  'nonoptional',
]);

function unwrap(schema: SchemaNode | undefined): SchemaNode | undefined {
  let node = schema;
  for (let depth = 0; node?._zod?.def !== undefined && depth < 20; depth++) {
    const def = node._zod.def;
    if (wrapperTypes.has(def.type) && def.innerType !== undefined) node = def.innerType;
    else if (def.type === 'pipe' && def.in !== undefined) node = def.in;
    else break;
  }
  return node?._zod?.def === undefined ? undefined : node;
}

/** Unknown keys of objects whose schema strips them silently (no catchall); strict ones zod reports itself. */
function unknownKeys(
  schema: SchemaNode | undefined,
  value: unknown,
  path: (string | number)[],
): { path: (string | number)[]; known: string[] }[] {
  const node = unwrap(schema);
  if (node === undefined || value === null || typeof value !== 'object') return [];
  const def = node._zod.def;
  if (def.type === 'object' && def.shape !== undefined && !Array.isArray(value)) {
    const known = Object.keys(def.shape);
    const found: { path: (string | number)[]; known: string[] }[] = [];
    for (const [key, child] of Object.entries(value)) {
      if (key in def.shape) found.push(...unknownKeys(def.shape[key], child, [...path, key]));
      else if (def.catchall === undefined) found.push({ path: [...path, key], known });
    }
    return found;
  }
  if (def.type === 'array' && Array.isArray(value)) {
    return value.flatMap((item, index) => unknownKeys(def.element, item, [...path, index]));
  }
  if (def.type === 'record' && !Array.isArray(value)) {
    return Object.entries(value).flatMap(([key, item]) => unknownKeys(def.valueType, item, [...path, key]));
  }
  return [];
}

function objectKeysAt(schema: SchemaNode, path: ConfigPath): string[] {
  let node = unwrap(schema);
  for (const segment of path) {
    const def = node?._zod.def;
    if (def === undefined) return [];
    if (def.type === 'object' && typeof segment === 'string') node = unwrap(def.shape?.[segment]);
    else if (def.type === 'array') node = unwrap(def.element);
    else if (def.type === 'record') node = unwrap(def.valueType);
    else return [];
  }
  const def = node?._zod.def;
  return def?.type === 'object' && def.shape !== undefined ? Object.keys(def.shape) : [];
}

/** `objectKeysAt` for config schemas (exported for the config validator). */
export function schemaKeysAt(schema: unknown, path: ConfigPath): string[] {
  return objectKeysAt(schema as SchemaNode, path);
}
