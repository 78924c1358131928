import { readFileSync } from 'node:fs';

/**
 * Reads a Lua script that ships beside its TypeScript wrapper (the build copies `*.lua` next to the compiled JS).
 * `url` is resolved relative to the caller: `loadLua(new URL('./lua/x.lua', import.meta.url))`.
 */
export function loadLua(url: URL): string {
  return readFileSync(url, 'utf8');
}
