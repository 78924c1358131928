import type { RedisClient } from '../redis/client.js';
import type { AppKeys } from '../redis/keys.js';

/** The relay lease of one outbox shard, as Redis holds it. */
export interface ShardLease {
  shard: number;
  /** The holder's token (`<host>:<pid>:<random>`), null when nobody holds it. */
  holder: string | null;
  leaseExpiresInMs: number | null;
}

/** The app's outbox as a whole (every shard) and the lease of each shard. */
export interface OutboxView {
  /** Events waiting for Kafka, all shards together (the low-priority streams included). */
  entries: number;
  /** Of `entries`, the snapshots waiting in the shards' low-priority streams (`<outbox>:low`). */
  lowPriorityEntries: number;
  /** Age of the oldest entry of any shard (0 when all are empty). */
  oldestAgeSeconds: number;
  /** One per shard, shard 0 first. */
  leases: ShardLease[];
}

/** Seconds since the oldest of these stream entries was appended (an id starts with its ms); 0 without any. */
export function oldestEntryAgeSeconds(oldestIds: ReadonlyArray<string | undefined>, nowMs: number): number {
  let oldestMs = 0;
  for (const id of oldestIds) {
    const ms = Number(id?.split('-')[0] ?? 0);
    if (ms > 0 && (oldestMs === 0 || ms < oldestMs)) oldestMs = ms;
  }
  return oldestMs > 0 ? Math.max(0, (nowMs - oldestMs) / 1000) : 0;
}

/**
 * The streams of a shard's outbox: its stream and its low-priority stream of snapshots (`<outbox>:low`). The low
 * stream is read whatever `redis.snapshotPriority` is now: snapshots written while it was `low` still wait there
 * after a switch back to `normal` (the relay drains them: relay/outbox-relay.ts), and they are events waiting for
 * Kafka like any other. Every count of the outbox (length, oldest entry, backpressure, the outbox warning, status,
 * metrics) covers both; a missing stream costs one XLEN answering 0.
 */
export function outboxStreamsOf(keys: AppKeys, shard: number): [high: string, low: string] {
  return [keys.outboxShard(shard), keys.lowOutboxShard(shard)];
}

/**
 * Reads every outbox shard's length, oldest entry and lease in one round trip (all keys share the app's hash tag,
 * so the pipeline goes to one Redis even on a cluster).
 */
export async function readOutboxView(redis: RedisClient, keys: AppKeys, nowMs: number): Promise<OutboxView> {
  const pipeline = redis.pipeline();
  for (let shard = 0; shard < keys.outboxShards; shard++) {
    pipeline.get(keys.relayLeaseOf(shard));
    pipeline.pttl(keys.relayLeaseOf(shard));
    for (const stream of outboxStreamsOf(keys, shard)) {
      pipeline.xlen(stream);
      pipeline.xrange(stream, '-', '+', 'COUNT', 1);
    }
  }
  const results = ((await pipeline.exec()) ?? []).map(([error, value]) => {
    if (error) throw error;
    return value;
  });
  let entries = 0;
  let lowPriorityEntries = 0;
  const oldestIds: Array<string | undefined> = [];
  const leases: ShardLease[] = [];
  let next = 0;
  for (let shard = 0; shard < keys.outboxShards; shard++) {
    const [holder, ttl] = results.slice(next, next + 2) as [string | null, number];
    next += 2;
    leases.push({ shard, holder, leaseExpiresInMs: holder === null ? null : Math.max(0, ttl) });
    for (const stream of ['high', 'low'] as const) {
      const [length, oldest] = results.slice(next, next + 2) as [number, Array<[string, unknown]>];
      next += 2;
      entries += Number(length);
      if (stream === 'low') lowPriorityEntries += Number(length);
      oldestIds.push(oldest[0]?.[0]);
    }
  }
  return { entries, lowPriorityEntries, oldestAgeSeconds: oldestEntryAgeSeconds(oldestIds, nowMs), leases };
}

/**
 * Events in the app's outbox, all shards and their low-priority streams together (one round trip): what the
 * backpressure bound (`redis.outboxMaxEntries`) and the outbox warning compare. Waiting snapshots count: they hold
 * Redis memory like any other entry, and a sweep deferred meanwhile lets the relay reach them sooner.
 */
export async function outboxLength(redis: RedisClient, keys: AppKeys): Promise<number> {
  const pipeline = redis.pipeline();
  for (let shard = 0; shard < keys.outboxShards; shard++) {
    for (const stream of outboxStreamsOf(keys, shard)) pipeline.xlen(stream);
  }
  const results = (await pipeline.exec()) ?? [];
  return results.reduce((sum, [error, length]) => {
    if (error) throw error;
    return sum + Number(length);
  }, 0);
}
