import { describe, expect, it } from 'vitest';
import { testRedis, uniqueName } from '../../../test/helpers/services.js';
import { createDeduper, createRedisDedupeStore, type DedupeRedisClient } from '../src/index.js';
import { sampleEvent } from './sample-records.js';

describe('Redis dedupe store (real Redis)', () => {
  // An ioredis client is a DedupeRedisClient as it is: this assignment is checked by the typecheck.
  const redis: DedupeRedisClient = testRedis();
  const inspector = testRedis();

  it('remembers an eventId with SET NX and the given ttl', async () => {
    const keyPrefix = `${uniqueName('seen')}:`;
    const store = createRedisDedupeStore(redis, { keyPrefix, ttlSeconds: 600 });
    const { eventId } = sampleEvent({ seq: 3 });
    expect(await store.has(eventId)).toBe(false);
    expect(await store.add(eventId)).toBe(true);
    expect(await store.add(eventId)).toBe(false);
    expect(await store.has(eventId)).toBe(true);
    expect(await inspector.get(keyPrefix + eventId)).toBe('1');
    const ttl = await inspector.ttl(keyPrefix + eventId);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(600);
  });

  it('drops a relay redelivery seen by another consumer instance sharing the store', async () => {
    const keyPrefix = `${uniqueName('seen')}:`;
    const first = createDeduper(createRedisDedupeStore(redis, { keyPrefix }));
    const second = createDeduper(createRedisDedupeStore(testRedis(), { keyPrefix }));
    const batch = [1, 2, 3].map((seq) => sampleEvent({ seq }));
    const handled: string[] = [];
    for (const event of batch) await first.handleOnce(event.eventId, () => handled.push(event.eventId));
    // The relay lost its lease before trimming: the new holder publishes the same batch again (same eventIds).
    for (const event of batch)
      await second.handleOnce(event.eventId, () => handled.push(`again ${event.eventId}`));
    expect(handled).toEqual(batch.map((event) => event.eventId));
  });

  it('keeps two consumers apart by key prefix', async () => {
    const { eventId } = sampleEvent();
    const crm = createRedisDedupeStore(redis, { keyPrefix: `${uniqueName('crm')}:` });
    const audit = createRedisDedupeStore(redis, { keyPrefix: `${uniqueName('audit')}:` });
    expect(await crm.add(eventId)).toBe(true);
    expect(await audit.has(eventId)).toBe(false);
  });
});
