import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildLuaModule } from '../../scripts/lua-module.js';
import { LUA_SCRIPTS } from '../../src/generated/lua-scripts.js';

const root = resolve(import.meta.dirname, '../..');

describe('generated Lua module', () => {
  it('equals a fresh generation from the Lua sources (run `npm run generate`)', () => {
    const committed = readFileSync(join(root, 'src/generated/lua-scripts.ts'), 'utf8');
    expect(committed).toBe(buildLuaModule(join(root, 'src')));
  });

  it('expands every include: no script keeps an include line, and shared formats come from one file', () => {
    for (const [name, text] of Object.entries(LUA_SCRIPTS)) {
      expect(text, name).not.toMatch(/^--- @include/m);
    }
    for (const name of [
      'state/apply-observations',
      'state/update-membership',
      'state/emit-snapshots',
    ] as const) {
      expect(LUA_SCRIPTS[name]).toContain('local function decodeRecord(record)');
      expect(LUA_SCRIPTS[name]).toContain('local function appendEvent(');
      expect(LUA_SCRIPTS[name]).toContain("local CODE_NOT_FOUND = 'X'");
    }
  });

  it('spells no state code of its own: every letter comes from the vocabulary preamble', () => {
    const sources = ['apply-observations', 'update-membership', 'emit-snapshots'].map((name) =>
      readFileSync(join(root, 'src/state/lua', `${name}.lua`), 'utf8'),
    );
    for (const source of sources) expect(source).not.toMatch(/'[NPFX-]'/);
  });
});
