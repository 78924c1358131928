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
});
