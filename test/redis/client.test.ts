import { describe, expect, it } from 'vitest';
import { hashSlotOf } from '../../src/redis/client.js';
import { appKeys } from '../../src/redis/keys.js';

describe('hashSlotOf', () => {
  it('gives the slots Redis Cluster gives (CLUSTER KEYSLOT)', () => {
    expect(hashSlotOf('foo')).toBe(12_182);
    expect(hashSlotOf('somekey')).toBe(11_058);
    expect(hashSlotOf('123456789')).toBe(12_739);
    // A hash tag decides the slot; an empty one does not, and only the first `{` counts.
    expect(hashSlotOf('{123456789}.anything')).toBe(12_739);
    expect(hashSlotOf('foo{}{bar}')).not.toBe(hashSlotOf('bar'));
    expect(hashSlotOf('foo{{bar}}zap')).toBe(hashSlotOf('{bar'));
  });
});

describe('app keys on a cluster', () => {
  it('puts every key of an app, BullMQ queues included, in the slot of its tag', () => {
    const keys = appKeys('presence', 1400000000);
    const slot = hashSlotOf(keys.tag);
    const every = Object.entries(keys).flatMap(([name, value]): string[] => {
      // The settings carried beside the keys (shard count, snapshot priority, the scripts' key space) and a
      // bucket's id are no keys.
      if (name === 'snapshotPriority' || name === 'keySpace' || name === 'stateBucketId') return [];
      if (typeof value === 'string') return [value];
      // Numbers, and the functions that give a bucket's or a shard's number rather than a key.
      if (typeof value === 'number' || name.endsWith('IndexOf') || name.startsWith('outboxShardOf'))
        return [];
      return [(value as (arg: never, other: never) => string)('vip' as never, '3' as never)];
    });
    every.push(`${keys.bullPrefix}:poll:wait`, `${keys.bullPrefix}:sweep:repeat`);
    expect(every.length).toBeGreaterThan(25);
    for (const key of every) expect([key, hashSlotOf(key)]).toEqual([key, slot]);
  });
});
