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
  /** Events waiting for Kafka, all shards together. */
  entries: number;
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
 * Reads every outbox shard's length, oldest entry and lease in one round trip (all keys share the app's hash tag,
 * so the pipeline goes to one Redis even on a cluster).
 */
export async function readOutboxView(redis: RedisClient, keys: AppKeys, nowMs: number): Promise<OutboxView> {
  const pipeline = redis.pipeline();
  for (let shard = 0; shard < keys.outboxShards; shard++) {
    pipeline.xlen(keys.outboxShard(shard));
    pipeline.xrange(keys.outboxShard(shard), '-', '+', 'COUNT', 1);
    pipeline.get(keys.relayLeaseOf(shard));
    pipeline.pttl(keys.relayLeaseOf(shard));
  }
  const results = ((await pipeline.exec()) ?? []).map(([error, value]) => {
    if (error) throw error;
    return value;
  });
  let entries = 0;
  const oldestIds: Array<string | undefined> = [];
  const leases: ShardLease[] = [];
  for (let shard = 0; shard < keys.outboxShards; shard++) {
    const [length, oldest, holder, ttl] = results.slice(shard * 4, shard * 4 + 4) as [
      number,
      Array<[string, unknown]>,
      string | null,
      number,
    ];
    entries += Number(length);
    oldestIds.push(oldest[0]?.[0]);
    leases.push({ shard, holder, leaseExpiresInMs: holder === null ? null : Math.max(0, ttl) });
  }
  return { entries, oldestAgeSeconds: oldestEntryAgeSeconds(oldestIds, nowMs), leases };
}

/** Events in the app's outbox, all shards together (one round trip). */
export async function outboxLength(redis: RedisClient, keys: AppKeys): Promise<number> {
  if (keys.outboxShards === 1) return redis.xlen(keys.outbox);
  const pipeline = redis.pipeline();
  for (let shard = 0; shard < keys.outboxShards; shard++) pipeline.xlen(keys.outboxShard(shard));
  const results = (await pipeline.exec()) ?? [];
  return results.reduce((sum, [error, length]) => {
    if (error) throw error;
    return sum + Number(length);
  }, 0);
}
