import { describe, expect, it } from 'vitest';
import { createFlowEvents } from '../../src/ops/flow-events.js';
import { createOutboxRelay } from '../../src/relay/outbox-relay.js';
import { appKeys, DEFAULT_STATE_BUCKETS } from '../../src/redis/keys.js';
import { collectRecords } from '../helpers/kafka-events.js';
import { testRelayDeps } from '../helpers/relay.js';
import { onTeardown, testKafka, testRedis, uniqueName } from '../helpers/services.js';
import { connectedRelaySession } from '../helpers/producer-session.js';
import { appendTransition } from '../helpers/outbox-entries.js';
import { waitFor } from '../helpers/wait-for.js';

const SDK_APP_ID = 1400000000;

/** Entries in the batches published so far. */
const published = (batches: readonly number[]): number => batches.reduce((sum, size) => sum + size, 0);

/** A relay on the test services with `lingerMs` and `batchSize`, and the batches it published (entries each). */
async function startRelay(
  name: string,
  options: { lingerMs: number; batchSize: number },
  snapshotPriority: 'normal' | 'low' = 'normal',
) {
  const keys = appKeys(uniqueName(name), SDK_APP_ID, DEFAULT_STATE_BUCKETS, 1, snapshotPriority);
  const redis = testRedis();
  await redis.hset(keys.watchlistIds, { 1: JSON.stringify({ name: 'all' }) });
  const { session, topic, state } = await connectedRelaySession(name);
  const collector = await collectRecords(testKafka(), [topic]);
  const events = createFlowEvents();
  const batches: number[] = [];
  events.on('eventsPublished', ({ kinds }) => batches.push(kinds.length));
  const relay = createOutboxRelay(testRelayDeps(keys, session, { redis, events }), {
    sdkAppId: SDK_APP_ID,
    transitionsTopic: topic,
    stateTopic: state,
    ...options,
  });
  return { keys, redis, topic, collector, batches, relay };
}

describe('the relay lingering between short reads (kafka.linger)', () => {
  it('gathers a trickle of events into one batch instead of one batch per event', async () => {
    const { keys, redis, topic, collector, batches, relay } = await startRelay('linger-trickle', {
      lingerMs: 5_000,
      batchSize: 100,
    });
    void relay.run();
    onTeardown(() => relay.stop());
    await waitFor(() => relay.isLeader, { description: 'the relay holds its lease' });

    // Six events 100 ms apart: each one alone would be its own batch without the linger (a batch goes out in a
    // few ms here). The relay reads the outbox at least once a second while it is empty, so the first event waits
    // out the linger of such a read and the rest join it.
    for (let seq = 1; seq <= 6; seq++) {
      await appendTransition(redis, keys, 'u1', seq);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await waitFor(() => collector.events(topic).length >= 6, {
      timeoutMs: 30_000,
      description: 'all six events consumed',
    });
    expect(collector.events(topic).map((event) => event.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    // A batch is counted once it is trimmed, which follows Kafka's ack: a consumer can see it a little earlier.
    await waitFor(() => published(batches) === 6, { description: 'every batch trimmed' });
    expect(batches.length).toBeLessThanOrEqual(2);
  });

  it('reads a backlog batch after batch without lingering, and stop() cuts a linger short', async () => {
    const { keys, redis, topic, collector, batches, relay } = await startRelay('linger-backlog', {
      // Far longer than the test may take: every read after a short one would wait this long.
      lingerMs: 600_000,
      batchSize: 10,
    });
    for (let seq = 1; seq <= 35; seq++) await appendTransition(redis, keys, `u${seq % 4}`, seq);
    void relay.run();
    onTeardown(() => relay.stop());

    await waitFor(() => collector.events(topic).length >= 35, {
      timeoutMs: 60_000,
      description: 'the whole backlog consumed',
    });
    await waitFor(() => published(batches) === 35, { description: 'every batch trimmed' });
    // Full reads are followed at once by the next read; only the short last one starts a linger.
    expect(batches).toEqual([10, 10, 10, 5]);
    expect(await redis.xlen(keys.outbox)).toBe(0);

    // An event after the short read waits for the linger (ten minutes); stopping does not.
    await appendTransition(redis, keys, 'u0', 36);
    await relay.stop();
    expect(relay.isLeader).toBe(false);
    expect(await redis.xlen(keys.outbox)).toBe(1);
    expect(collector.events(topic)).toHaveLength(35);
  });

  it('with low-priority snapshots, does not let the empty low stream pace the outbox backlog', async () => {
    const { keys, redis, topic, collector, batches, relay } = await startRelay(
      'linger-low',
      { lingerMs: 600_000, batchSize: 10 },
      'low',
    );
    for (let seq = 1; seq <= 35; seq++) await appendTransition(redis, keys, `u${seq % 4}`, seq);
    void relay.run();
    onTeardown(() => relay.stop());

    // Every turn claims from the empty low stream (a short read) before the next outbox batch: only a full read of
    // the outbox clearing both streams' lingers lets the backlog go on.
    await waitFor(() => published(batches) === 35, { timeoutMs: 60_000, description: 'every batch trimmed' });
    expect(batches).toEqual([10, 10, 10, 5]);
    await waitFor(() => collector.events(topic).length >= 35, { description: 'the backlog consumed' });
    expect(collector.events(topic).map((event) => event.seq)).toEqual(
      Array.from({ length: 35 }, (_, i) => i + 1),
    );
  });
});
