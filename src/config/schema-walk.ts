/**
 * Walks a zod schema along a config path, looking through optional / default / pipe wrappers. Used to list the
 * allowed keys of an object (unknown-key messages) and to coerce environment variable strings to the field's type.
 */
import type { z } from 'zod';

export type LeafKind = 'string' | 'number' | 'boolean' | 'string-list' | 'other';

type AnySchema = z.ZodType;

interface Def {
  type: string;
  innerType?: AnySchema;
  in?: AnySchema;
  shape?: Record<string, AnySchema>;
  element?: AnySchema;
}

function defOf(schema: AnySchema): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** Strips wrappers that do not change the shape of the value (optional, default, prefault, nullable, pipe input). */
export function unwrapSchema(schema: AnySchema): AnySchema {
  let current = schema;
  for (;;) {
    const def = defOf(current);
    if (
      def.innerType &&
      ['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch'].includes(def.type)
    ) {
      current = def.innerType;
    } else if (def.type === 'pipe' && def.in) {
      current = def.in;
    } else {
      return current;
    }
  }
}

/** The keys of an object schema, or `undefined` when `schema` is not an object. */
export function objectKeys(schema: AnySchema): string[] | undefined {
  const def = defOf(unwrapSchema(schema));
  return def.type === 'object' ? Object.keys(def.shape ?? {}) : undefined;
}

/** One step down: the field `key` of an object, or the element of an array for a numeric segment. */
export function childSchema(schema: AnySchema, segment: string | number): AnySchema | undefined {
  const def = defOf(unwrapSchema(schema));
  if (def.type === 'object' && typeof segment === 'string') return def.shape?.[segment];
  if (def.type === 'array' && typeof segment === 'number') return def.element;
  return undefined;
}

/** The schema at `path` below `root`, or `undefined` when the path leaves the schema. */
export function schemaAt(root: AnySchema, path: readonly (string | number)[]): AnySchema | undefined {
  let current: AnySchema | undefined = root;
  for (const segment of path) {
    if (!current) return undefined;
    current = childSchema(current, segment);
  }
  return current;
}

/** What kind of scalar a field holds, for coercing an environment variable's string. */
export function leafKind(schema: AnySchema): LeafKind {
  const def = defOf(unwrapSchema(schema));
  if (def.type === 'string' || def.type === 'enum') return 'string';
  if (def.type === 'number' || def.type === 'int') return 'number';
  if (def.type === 'boolean') return 'boolean';
  if (def.type === 'array' && def.element && leafKind(def.element) === 'string') return 'string-list';
  return 'other';
}
