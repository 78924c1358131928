/**
 * Invariant 1 measured where the design states it: calls *started* in any one-second window, across all processes
 * of an app. The pacer's hash in Redis keeps the start of each of the last `cap` calls (on the Redis clock, as the
 * worker measured it, see src/schedule/lua/reserve-call.lua); this watcher reads it often enough to see every
 * entry before it is overwritten (~1 s later), so the bench gets every start without instrumenting the worker.
 *
 * An entry is taken only once it is 150 ms old: until the caller reports its start the field holds a provisional
 * time (slot + up to 100 ms), which would otherwise be counted as a second start. A slot given back for lateness
 * keeps its provisional time and counts as a start (the conservative reading).
 */
import type { Redis } from 'ioredis';
import { maxInAnyWindow } from '../src/simulator/index.js';

const POLL_MS = 200;
const SETTLE_US = 150_000;

export interface StartWindowReport {
  starts: number;
  /** Most starts in any 1,000 ms window (Redis clock). */
  maxInAnySecond: number;
}

export interface StartWatcher {
  /** Stops polling; reports the starts between `fromUs` and `toUs` (Redis clock, µs). */
  stop(fromUs: number, toUs: number): Promise<StartWindowReport>;
}

export async function redisTimeUs(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1_000_000 + Number(micros);
}

export function watchStarts(redis: Redis, pacerKey: string): StartWatcher {
  const seen = new Set<string>();
  const starts: number[] = [];
  let polling = true;

  async function poll(): Promise<void> {
    const [entries, now] = await Promise.all([redis.hgetall(pacerKey), redisTimeUs(redis)]);
    for (const [field, value] of Object.entries(entries)) {
      if (!/^s\d+$/.test(field) || Number(value) > now - SETTLE_US) continue;
      const key = `${field}=${value}`;
      if (seen.has(key)) continue;
      seen.add(key);
      starts.push(Number(value));
    }
  }

  const loop = (async () => {
    while (polling) {
      await poll();
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    // Entries of the last moments settle after the window.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_US / 1000 + POLL_MS));
    await poll();
  })();

  return {
    async stop(fromUs, toUs) {
      polling = false;
      await loop;
      const inWindow = starts.filter((us) => us >= fromUs && us < toUs).map((us) => us / 1000);
      return { starts: inWindow.length, maxInAnySecond: maxInAnyWindow(inWindow, 1_000) };
    },
  };
}
