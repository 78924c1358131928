/** Writes schemas/*.json from the zod schemas (`npm run schemas`, which then formats them with prettier). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildJsonSchemas, JSON_SCHEMA_FILES } from '../src/json-schemas.js';

const dir = join(import.meta.dirname, '..', 'schemas');
for (const [name, schema] of Object.entries(buildJsonSchemas())) {
  const file = JSON_SCHEMA_FILES[name as keyof typeof JSON_SCHEMA_FILES];
  writeFileSync(join(dir, file), `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`wrote schemas/${file}`);
}
