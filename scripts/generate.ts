/**
 * Writes every generated file from its source: the configuration's JSON Schemas under schema/ (the event
 * schemas are the events package's, under packages/events/schemas/) and
 * src/generated/lua-scripts.ts (from the Lua sources). Unit tests fail when a committed file is stale.
 *   npm run generate
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildJsonSchemas, JSON_SCHEMA_FILES } from '../src/config/json-schema.js';
import { buildLuaModule } from './lua-module.js';

const root = resolve(import.meta.dirname, '..');
const outputs: Array<[string, string]> = [
  ...Object.entries(buildJsonSchemas()).map(([key, text]): [string, string] => [
    join('schema', JSON_SCHEMA_FILES[key as keyof typeof JSON_SCHEMA_FILES]),
    text,
  ]),
  [join('src', 'generated', 'lua-scripts.ts'), buildLuaModule(join(root, 'src'))],
];
for (const [file, text] of outputs) {
  mkdirSync(resolve(root, file, '..'), { recursive: true });
  writeFileSync(join(root, file), text);
  console.log(`wrote ${file}`);
}
