import { describe, expect, it } from 'vitest';
import { createDeduper, createMemoryDedupeStore, createRedisDedupeStore } from '../src/index.js';

describe('in-memory dedupe store', () => {
  it('remembers at most maxEntries eventIds, forgetting the least recently seen first', async () => {
    const store = createMemoryDedupeStore({ maxEntries: 3 });
    for (const id of ['a', 'b', 'c']) expect(await store.add(id)).toBe(true);
    expect(await store.has('a')).toBe(true); // a is now the most recently seen; b the least
    expect(await store.add('d')).toBe(true);
    expect(store.size).toBe(3);
    expect(await store.has('b')).toBe(false);
    expect(await Promise.all(['a', 'c', 'd'].map((id) => store.has(id)))).toEqual([true, true, true]);
  });

  it('says when an eventId was added before', async () => {
    const store = createMemoryDedupeStore();
    expect(await store.add('x')).toBe(true);
    expect(await store.add('x')).toBe(false);
    expect(store.size).toBe(1);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses maxEntries %s', (maxEntries) => {
    expect(() => createMemoryDedupeStore({ maxEntries })).toThrow(/maxEntries must be a positive integer/);
  });
});

describe('deduper', () => {
  it('runs the handler once per eventId', async () => {
    const deduper = createDeduper();
    const handled: string[] = [];
    const results = [];
    for (const id of ['e1', 'e2', 'e1', 'e2', 'e3']) {
      results.push(await deduper.handleOnce(id, () => handled.push(id)));
    }
    expect(handled).toEqual(['e1', 'e2', 'e3']);
    expect(results).toEqual([true, true, false, false, true]);
  });

  it('does not remember an eventId whose handler failed, so its redelivery is handled', async () => {
    const deduper = createDeduper();
    await expect(
      deduper.handleOnce('e1', () => {
        throw new Error('downstream unavailable');
      }),
    ).rejects.toThrow('downstream unavailable');
    let handled = 0;
    expect(await deduper.handleOnce('e1', () => (handled += 1))).toBe(true);
    expect(handled).toBe(1);
  });
});

describe('Redis dedupe store options', () => {
  const client = {
    set: async () => 'OK' as const,
    exists: async () => 0,
  };
  it('refuses an empty key prefix and a ttl that is not a positive whole number of seconds', () => {
    expect(() => createRedisDedupeStore(client, { keyPrefix: '' })).toThrow(/keyPrefix/);
    expect(() => createRedisDedupeStore(client, { keyPrefix: 'p:', ttlSeconds: 0.5 })).toThrow(/ttlSeconds/);
  });
});
