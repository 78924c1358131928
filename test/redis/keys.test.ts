import { describe, expect, it } from 'vitest';
import { appKeys, fnv1a32 } from '../../src/redis/keys.js';

describe('app keys', () => {
  it('keeps every key of an app in one hash slot (one tag), and names a user’s bucket by number', () => {
    const keys = appKeys('presence', 1400000000, 16_384);
    expect(keys.tag).toBe('{presence:1400000000}');
    const index = keys.stateBucketIndexOf('u000042');
    expect(index).toBe(fnv1a32('u000042') % 16_384);
    expect(keys.stateBucketOf('u000042')).toBe(`{presence:1400000000}:s:${index.toString(36)}`);
    expect(keys.stateBucket(index)).toBe(keys.stateBucketOf('u000042'));
    for (const key of [keys.outbox, keys.pacer, keys.pendingRemovals, keys.stateBucket(0)]) {
      expect(key.startsWith(keys.tag)).toBe(true);
    }
  });

  it('spreads users over the buckets', () => {
    const keys = appKeys('p', 1, 64);
    const counts = new Array<number>(64).fill(0);
    for (let i = 0; i < 64_000; i++) counts[keys.stateBucketIndexOf(`u${String(i).padStart(6, '0')}`)]!++;
    expect(Math.min(...counts)).toBeGreaterThan(700);
    expect(Math.max(...counts)).toBeLessThan(1_300);
  });

  it('puts a user in a stable outbox shard: its state bucket modulo the shards (the Lua scripts know the bucket)', () => {
    const keys = appKeys('presence', 1400000000, 16_384, 4);
    // Pinned: changing the function would split users' events over two shards of a running deployment.
    expect(['alice', 'bob', 'u000042', '用户'].map((user) => keys.outboxShardOf(user))).toEqual([3, 0, 2, 0]);
    expect(keys.outboxShardOf('u000042')).toBe(keys.stateBucketIndexOf('u000042') % 4);
    expect(keys.outboxShardOfBucket(9_210)).toBe(2);
  });

  it('keeps the key names of a single outbox as shard 0, every shard key inside the tag of the app', () => {
    const single = appKeys('presence', 1400000000);
    const sharded = appKeys('presence', 1400000000, 16_384, 3);
    expect(single.outboxShards).toBe(1);
    expect(single.outboxShardOf('alice')).toBe(0);
    expect(sharded.outboxShard(0)).toBe(single.outbox);
    expect(sharded.relayLeaseOf(0)).toBe(single.relayLease);
    const shardKeys = [0, 1, 2].flatMap((shard) => [sharded.outboxShard(shard), sharded.relayLeaseOf(shard)]);
    expect(new Set(shardKeys).size).toBe(6);
    for (const key of [...shardKeys, sharded.relayMembers]) expect(key.startsWith(sharded.tag)).toBe(true);
    expect(() => appKeys('presence', 1, 16_384, 0)).toThrow(RangeError);
  });

  it('gives each shard a low-priority stream and its hash, distinct and inside the tag of the app', () => {
    const low = appKeys('presence', 1400000000, 16_384, 3, 'low');
    expect(appKeys('presence', 1400000000).snapshotPriority).toBe('normal');
    expect(low.snapshotPriority).toBe('low');
    const keys = [0, 1, 2].flatMap((shard) => [
      low.outboxShard(shard),
      low.lowOutboxShard(shard),
      low.lowPendingOf(shard),
    ]);
    expect(new Set(keys).size).toBe(9);
    for (const key of keys) expect(key.startsWith(low.tag)).toBe(true);
  });
});
