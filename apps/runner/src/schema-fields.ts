import { z } from '@ekipl/core';

/** One option or config field as the docs and `ekipl plugins` show it. */
export interface SchemaField {
  /** Dotted path below the schema's root: `tolerance.full`. */
  path: string;
  /** Readable type: `integer >= 0`, `"mask" | "keep"`, `list of string`. */
  type: string;
  /** JSON of the default, when the field has one. */
  default?: string;
  /** Must be given: no default and not optional. */
  required: boolean;
  description?: string;
}

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  required?: string[];
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

/** The JSON schema zod derives for what a user writes (input side: defaults are not required). */
export function inputJsonSchema(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
}

/**
 * Every field of an object schema, nested objects flattened to `parent.child` (a nested object with
 * a description of its own also gets a row). Undefined when the schema cannot be summarised.
 */
export function schemaFields(schema: z.ZodType): SchemaField[] | undefined {
  let json: JsonSchema;
  try {
    json = inputJsonSchema(schema);
  } catch {
    return undefined;
  }
  return fieldsOf(json, '');
}

export function fieldsOf(schema: JsonSchema, prefix: string): SchemaField[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).flatMap(([key, written]) => {
    const path = `${prefix}${key}`;
    const property = optionalObject(written);
    const field: SchemaField = {
      path,
      type: typeText(property),
      required: required.has(key) && property.default === undefined,
    };
    if (property.default !== undefined) field.default = JSON.stringify(property.default);
    if (property.description !== undefined) field.description = property.description;
    if (property.type === 'object' && property.properties !== undefined) {
      const children = fieldsOf(property, `${path}.`);
      return field.description === undefined ? children : [field, ...children];
    }
    return [field];
  });
}

/**
 * `z.union([z.undefined(), objectSchema])` (an object that may be absent without its defaults being
 * filled in) comes out as anyOf [{}, object]: show it as the object, not as "anything | object".
 */
function optionalObject(schema: JsonSchema): JsonSchema {
  const members = schema.anyOf ?? [];
  const objects = members.filter((member) => member.type === 'object' && member.properties !== undefined);
  const empty = members.filter((member) => Object.keys(member).length === 0);
  if (objects.length !== 1 || objects.length + empty.length !== members.length) return schema;
  const { anyOf: _, ...rest } = schema;
  return { ...objects[0]!, ...rest, default: undefined };
}

// zod writes the safe-integer range into every integer; it says nothing to a reader.
const safeInteger = Number.MAX_SAFE_INTEGER;

export function typeText(schema: JsonSchema): string {
  if (schema.enum !== undefined) return schema.enum.map((value) => JSON.stringify(value)).join(' | ');
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  const union = schema.anyOf ?? schema.oneOf;
  if (union !== undefined) return union.map(typeText).join(' | ');
  if (schema.type === 'array')
    return `list of ${schema.items === undefined ? 'anything' : typeText(schema.items)}`;
  if (Array.isArray(schema.type)) return schema.type.join(' | ');
  if (schema.type === 'object') {
    if (schema.properties !== undefined) return 'object';
    const values = schema.additionalProperties;
    return typeof values === 'object' && Object.keys(values).length > 0
      ? `map of string to ${typeText(values)}`
      : 'map';
  }
  if (schema.type === 'integer' || schema.type === 'number') return `${schema.type}${boundsText(schema)}`;
  return schema.type ?? 'anything';
}

function boundsText(schema: JsonSchema): string {
  const lower =
    schema.exclusiveMinimum !== undefined
      ? { value: schema.exclusiveMinimum, open: true }
      : schema.minimum !== undefined && schema.minimum > -safeInteger
        ? { value: schema.minimum, open: false }
        : undefined;
  const upper =
    schema.exclusiveMaximum !== undefined
      ? { value: schema.exclusiveMaximum, open: true }
      : schema.maximum !== undefined && schema.maximum < safeInteger
        ? { value: schema.maximum, open: false }
        : undefined;
  if (lower !== undefined && upper !== undefined) {
    return ` in ${lower.open ? '(' : '['}${lower.value}, ${upper.value}${upper.open ? ')' : ']'}`;
  }
  if (lower !== undefined) return ` ${lower.open ? '>' : '>='} ${lower.value}`;
  if (upper !== undefined) return ` ${upper.open ? '<' : '<='} ${upper.value}`;
  return '';
}
