import type { RedisClient } from '../redis/client.js';
import type { AppKeys } from '../redis/keys.js';
import { defineScripts, type ScriptSpec } from '../redis/scripts.js';

/** A user named by a state-change callback, and when the first callback naming it arrived. */
export interface Hint {
  userId: string;
  receivedAtMs: number;
}

export interface HintQueue {
  /** Adds hints (a user already waiting keeps its first time); beyond `maxPending` users they are dropped. */
  add(
    hints: readonly Hint[],
    maxPending: number,
  ): Promise<{ added: number; merged: number; overflow: number }>;
  /**
   * Takes up to `maxUsers` of the oldest waiting users for one call, when fewer than `callsPerSecond` hint calls
   * started in this second across every process; otherwise (or when none wait) nothing.
   */
  take(callsPerSecond: number, maxUsers: number, nowMs?: number): Promise<Hint[]>;
}

const SCRIPTS = {
  presenceAddHints: { source: 'schedule/add-hints', numberOfKeys: 1 },
  presenceTakeHints: { source: 'schedule/take-hints', numberOfKeys: 2 },
} satisfies Record<string, ScriptSpec>;

/**
 * The app's hint queue in Redis: the webhook role adds the users callbacks name, the pollers take them in calls of
 * their own within a share of the cap (schedule/hint-calls.ts). Hints are never state: a lost one only means the
 * sweep finds the change instead.
 */
export function createHintQueue(redis: RedisClient, keys: AppKeys): HintQueue {
  const scripts = defineScripts(redis, SCRIPTS);
  return {
    async add(hints, maxPending) {
      if (hints.length === 0) return { added: 0, merged: 0, overflow: 0 };
      const args = hints.flatMap((hint) => [hint.receivedAtMs, hint.userId]);
      const [added = 0, merged = 0, overflow = 0] = (await scripts.presenceAddHints(
        keys.hints,
        maxPending,
        ...args,
      )) as number[];
      return { added, merged, overflow };
    },
    async take(callsPerSecond, maxUsers, nowMs = Date.now()) {
      const flat = (await scripts.presenceTakeHints(
        keys.hints,
        keys.hintCalls(Math.floor(nowMs / 1000)),
        callsPerSecond,
        maxUsers,
      )) as string[];
      const hints: Hint[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        hints.push({ userId: flat[i]!, receivedAtMs: Number(flat[i + 1]) });
      }
      return hints;
    },
  };
}
