/**
 * Writes every committed JSON Schema under schema/ from its zod source: the config files' and the events'.
 *   npm run schemas
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildJsonSchemas, JSON_SCHEMA_FILES } from '../src/config/json-schema.js';
import { buildEventJsonSchemas, EVENT_JSON_SCHEMA_FILES } from '../src/events/json-schema.js';

const schemaDir = resolve(import.meta.dirname, '../schema');
mkdirSync(schemaDir, { recursive: true });
const outputs: Array<[string, string]> = [
  ...Object.entries(buildJsonSchemas()).map(([key, text]): [string, string] => [
    JSON_SCHEMA_FILES[key as keyof typeof JSON_SCHEMA_FILES],
    text,
  ]),
  ...Object.entries(buildEventJsonSchemas()).map(([key, text]): [string, string] => [
    EVENT_JSON_SCHEMA_FILES[key as keyof typeof EVENT_JSON_SCHEMA_FILES],
    text,
  ]),
];
for (const [file, text] of outputs) {
  writeFileSync(join(schemaDir, file), text);
  console.log(`wrote schema/${file}`);
}
