import type { RedisClient } from './client.js';
import { LUA_SCRIPTS, type LuaScriptName } from '../generated/lua-scripts.js';

export interface ScriptSpec {
  /** The script, by the name of its source (`src/<folder>/lua/<name>.lua` is `<folder>/<name>`). */
  source: LuaScriptName;
  /** Fixed number of KEYS; omit when the caller passes the count as the first argument. */
  numberOfKeys?: number;
}

export type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

/**
 * Registers scripts on a connection with `defineCommand` (EVALSHA, falling back to EVAL once after a Redis
 * restart) and returns callers for them. Each name is registered once per connection, whichever module asks first.
 * The script texts come from the generated module (src/generated/lua-scripts.ts), so nothing is read from disk.
 */
export function defineScripts<Name extends string>(
  redis: RedisClient,
  specs: Record<Name, ScriptSpec>,
): Record<Name, ScriptCall> {
  const commands = redis as unknown as Record<string, ScriptCall>;
  const calls = {} as Record<Name, ScriptCall>;
  for (const name of Object.keys(specs) as Name[]) {
    const { source, numberOfKeys } = specs[name];
    if (!(name in redis)) {
      redis.defineCommand(name, {
        lua: LUA_SCRIPTS[source],
        ...(numberOfKeys === undefined ? {} : { numberOfKeys }),
      });
    }
    calls[name] = (...args) => commands[name]!(...args);
  }
  return calls;
}
