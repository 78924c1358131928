/**
 * Writes `schema/presence.schema.json` and `schema/watchlist.schema.json` from the zod schema.
 * Run: `npx tsx src/config/generate-json-schema.ts` (from the repository root).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildJsonSchemas, JSON_SCHEMA_FILES } from './json-schema.js';

const schemaDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../schema');
mkdirSync(schemaDir, { recursive: true });
const schemas = buildJsonSchemas();
for (const key of Object.keys(JSON_SCHEMA_FILES) as (keyof typeof JSON_SCHEMA_FILES)[]) {
  const path = join(schemaDir, JSON_SCHEMA_FILES[key]);
  writeFileSync(path, schemas[key]);
  console.log(`wrote ${path}`);
}
