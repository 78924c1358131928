import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/**
 * Reads a Lua script that ships beside its TypeScript wrapper (the build copies `*.lua` next to the compiled JS).
 * `url` is resolved relative to the caller: `loadLua(new URL('./lua/x.lua', import.meta.url))`.
 */
export function loadLua(url: URL): string {
  return readFileSync(url, 'utf8');
}

export interface ScriptSpec {
  lua: string;
  /** Fixed number of KEYS; omit when the caller passes the count as the first argument. */
  numberOfKeys?: number;
}

export type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

/**
 * Registers scripts on a connection with `defineCommand` (EVALSHA, falling back to EVAL once after a Redis
 * restart) and returns callers for them. Each name is registered once per connection, whichever module asks first.
 */
export function defineScripts<Name extends string>(
  redis: Redis,
  specs: Record<Name, ScriptSpec>,
): Record<Name, ScriptCall> {
  const commands = redis as unknown as Record<string, ScriptCall>;
  const calls = {} as Record<Name, ScriptCall>;
  for (const name of Object.keys(specs) as Name[]) {
    if (!(name in redis)) redis.defineCommand(name, specs[name]);
    calls[name] = (...args) => commands[name]!(...args);
  }
  return calls;
}
