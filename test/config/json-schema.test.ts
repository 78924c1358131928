import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildJsonSchemas, JSON_SCHEMA_FILES } from '../../src/config/json-schema.js';

const repoRoot = resolve(import.meta.dirname, '../..');

describe('JSON Schema', () => {
  it.each(Object.keys(JSON_SCHEMA_FILES) as (keyof typeof JSON_SCHEMA_FILES)[])(
    'the committed schema/%s schema equals a fresh generation (run `npm run generate`)',
    (key) => {
      const committed = readFileSync(join(repoRoot, 'schema', JSON_SCHEMA_FILES[key]), 'utf8');
      expect(committed).toBe(buildJsonSchemas()[key]);
    },
  );

  it.each(Object.keys(JSON_SCHEMA_FILES) as (keyof typeof JSON_SCHEMA_FILES)[])(
    'every setting of the %s schema documents its default or says it is required',
    (key) => {
      interface Node {
        description?: string;
        properties?: Record<string, Node>;
        items?: Node;
      }
      const undocumented: string[] = [];
      const visit = (node: Node, path: string) => {
        for (const [name, child] of Object.entries(node.properties ?? {})) {
          const childPath = path ? `${path}.${name}` : name;
          const isSection = child.properties !== undefined;
          if (!isSection && !/Default:|Required/.test(child.description ?? '')) undocumented.push(childPath);
          visit(child, childPath);
          if (child.items) visit(child.items, `${childPath}[]`);
        }
      };
      visit(JSON.parse(buildJsonSchemas()[key]) as Node, '');
      expect(undocumented).toEqual([]);
    },
  );

  it.each([
    ['config/presence.yaml', '../schema/presence.schema.json'],
    ['config/watchlists/vip.yaml', '../../schema/watchlist.schema.json'],
    ['config/watchlists/support.yaml', '../../schema/watchlist.schema.json'],
    ['config/watchlists/everyone.yaml', '../../schema/watchlist.schema.json'],
  ])('%s points yaml-language-server at its schema', (file, schemaPath) => {
    const firstLine = readFileSync(join(repoRoot, file), 'utf8').split('\n')[0];
    expect(firstLine).toBe(`# yaml-language-server: $schema=${schemaPath}`);
    expect(() => readFileSync(resolve(repoRoot, file, '..', schemaPath))).not.toThrow();
  });
});
