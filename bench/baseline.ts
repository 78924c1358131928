/**
 * The naive baseline, for context: one call at a time (no pacer, no concurrency) with the same Tencent client, and a
 * per-user Redis diff (GET, then SET when the state changed), each an awaited round trip. No outbox, no Kafka.
 * It runs in the bench process itself.
 */
import { clientOptionsOf } from '../src/roles/poller.js';
import { Redis } from 'ioredis';
import { createTencentClient } from '../src/tencent/index.js';
import type { LoadedApp } from '../src/config/index.js';
import { idWidthFor } from './deployment.js';

export interface BaselineResult {
  seconds: number;
  calls: number;
  states: number;
  statesPerSecond: number;
  callsPerSecond: number;
  changesWritten: number;
}

export async function runNaiveBaseline(options: {
  app: LoadedApp;
  redisUrl: string;
  users: number;
  populationSize: number;
  seconds: number;
}): Promise<BaselineResult> {
  const { app, users } = options;
  const client = createTencentClient({ ...clientOptionsOf(app), connections: 1 });
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const width = idWidthFor(options.populationSize);
  let calls = 0;
  let states = 0;
  let changesWritten = 0;
  const started = performance.now();
  const end = started + options.seconds * 1000;
  try {
    for (let offset = 0; performance.now() < end; offset = (offset + 500) % users) {
      const ids = Array.from(
        { length: Math.min(500, users - offset) },
        (_, i) => `u${String(offset + i).padStart(width, '0')}`,
      );
      const result = await client.queryOnlineStatus(ids, { detail: false });
      calls++;
      for (const user of result.results) {
        const key = `naive:${user.userId}`;
        if ((await redis.get(key)) !== user.state) {
          await redis.set(key, user.state);
          changesWritten++;
        }
        states++;
      }
    }
  } finally {
    await client.close();
    await redis.quit();
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    seconds,
    calls,
    states,
    statesPerSecond: states / seconds,
    callsPerSecond: calls / seconds,
    changesWritten,
  };
}
