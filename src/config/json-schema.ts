/**
 * JSON Schemas of presence.yaml and of a watchlist file, generated from the zod schema so they cannot disagree.
 * Draft-07, which editors (yaml-language-server) support best. Committed under `schema/`; a unit test fails when
 * the committed files are stale (regenerate with `npm run generate`).
 */
import { z } from 'zod';
import { presenceFileSchema, watchlistFileSchema } from './schema.js';

export const JSON_SCHEMA_FILES = {
  presence: 'presence.schema.json',
  watchlist: 'watchlist.schema.json',
} as const;

/** The two schemas as formatted JSON text (2-space indent, trailing newline), keyed like `JSON_SCHEMA_FILES`. */
export function buildJsonSchemas(): Record<keyof typeof JSON_SCHEMA_FILES, string> {
  // Input side: what a user may write (defaults make fields optional).
  const render = (schema: z.ZodType, title: string) => renderJsonSchema(schema, title, 'input');
  return {
    presence: render(presenceFileSchema, 'presence-poller service configuration'),
    watchlist: render(watchlistFileSchema, 'presence-poller watchlist'),
  };
}

/**
 * One zod schema as a committed JSON Schema file's text: draft-07 (what editors support best), titled, 2-space
 * indent, trailing newline. `io: 'input'` describes what may be written, `'output'` what is produced.
 */
export function renderJsonSchema(schema: z.ZodType, title: string, io: 'input' | 'output'): string {
  const jsonSchema = z.toJSONSchema(schema, { io, target: 'draft-7' });
  return `${JSON.stringify({ $schema: jsonSchema.$schema, title, ...jsonSchema }, null, 2)}\n`;
}
