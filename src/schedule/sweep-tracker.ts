import type { RedisClient } from '../redis/client.js';
import type { AppKeys } from '../redis/keys.js';
import { defineScripts, type ScriptSpec } from '../redis/scripts.js';
import { chunkProgressOf, type ChunkProgress } from '../state/state-store.js';

export type SweepDecision = 'start' | 'resume' | 'skip';

export interface SweepStats {
  started: number;
  skipped: number;
  abandoned: number;
  completed: number;
  remaining: number;
  lastDurationMs?: number;
  lastCompletedAt?: number;
  startedAt?: number;
  /** Last scheduler tick seen, whatever the decision (the watchdog's heartbeat). */
  lastTickAt?: number;
}

/** Per-watchlist sweep progress in Redis: the overlap policy and the sweep counters (see lua/begin-sweep.lua). */
export interface SweepTracker {
  begin(input: {
    watchlist: string;
    sweepId: string;
    chunks: number;
    version: string;
    nowMs: number;
    staleAfterMs: number;
  }): Promise<SweepDecision>;
  /**
   * Counts a chunk as done once: `remaining` chunks still outstanding (-1 if it was already counted);
   * `startNext` when it completed a sweep that had a tick deferred meanwhile (start a follow-up sweep now);
   * `durationMs` of the sweep when this chunk completed it.
   */
  finishChunk(input: {
    watchlist: string;
    sweepId: string;
    chunk: number;
    nowMs: number;
  }): Promise<ChunkProgress>;
  /** Records a scheduler tick that started no sweep and changed nothing else (the watchdog's heartbeat). */
  recordTick(watchlist: string, nowMs: number): Promise<void>;
  stats(watchlist: string): Promise<SweepStats>;
  /** Id of the watchlist's current sweep (chunks of any other sweep are obsolete). */
  currentSweepId(watchlist: string): Promise<string | undefined>;
  /** Chunks of the current sweep already counted as done. */
  doneChunks(watchlist: string, chunks: number): Promise<Set<number>>;
}

const SCRIPTS = {
  presenceBeginSweep: { source: 'schedule/begin-sweep', numberOfKeys: 2 },
  presenceFinishChunk: { source: 'schedule/finish-chunk', numberOfKeys: 2 },
} satisfies Record<string, ScriptSpec>;

export function createSweepTracker(redis: RedisClient, keys: AppKeys): SweepTracker {
  const scripts = defineScripts(redis, SCRIPTS);
  return {
    async begin({ watchlist, sweepId, chunks, version, nowMs, staleAfterMs }) {
      return (await scripts.presenceBeginSweep(
        keys.sweep(watchlist),
        keys.sweepDone(watchlist),
        sweepId,
        nowMs,
        chunks,
        staleAfterMs,
        version,
      )) as SweepDecision;
    },
    async finishChunk({ watchlist, sweepId, chunk, nowMs }) {
      return chunkProgressOf(
        (await scripts.presenceFinishChunk(
          keys.sweep(watchlist),
          keys.sweepDone(watchlist),
          sweepId,
          chunk,
          nowMs,
        )) as number[],
      );
    },
    async recordTick(watchlist, nowMs) {
      await redis.hset(keys.sweep(watchlist), 'lastTickAt', nowMs);
    },
    async currentSweepId(watchlist) {
      return (await redis.hget(keys.sweep(watchlist), 'id')) ?? undefined;
    },
    async doneChunks(watchlist, chunks) {
      const bitmap = (await redis.getBuffer(keys.sweepDone(watchlist))) ?? Buffer.alloc(0);
      const done = new Set<number>();
      // SETBIT numbers bits from the most significant bit of the first byte.
      for (let chunk = 0; chunk < Math.min(chunks, bitmap.length * 8); chunk++) {
        if ((bitmap[chunk >> 3]! >> (7 - (chunk & 7))) & 1) done.add(chunk);
      }
      return done;
    },
    async stats(watchlist) {
      const raw = await redis.hgetall(keys.sweep(watchlist));
      const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
      return {
        started: num(raw.started) ?? 0,
        skipped: num(raw.skipped) ?? 0,
        abandoned: num(raw.abandoned) ?? 0,
        completed: num(raw.completed) ?? 0,
        remaining: num(raw.remaining) ?? 0,
        lastDurationMs: num(raw.lastDurationMs),
        lastCompletedAt: num(raw.lastCompletedAt),
        startedAt: num(raw.startedAt),
        lastTickAt: num(raw.lastTickAt),
      };
    },
  };
}
