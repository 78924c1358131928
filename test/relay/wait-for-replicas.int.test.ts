import { describe, expect, it } from 'vitest';
import { createFlowEvents } from '../../src/ops/flow-events.js';
import { recordFlowMetrics } from '../../src/ops/flow-metrics.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { createOutboxRelay } from '../../src/relay/outbox-relay.js';
import { appKeys } from '../../src/redis/keys.js';
import { collectRecords } from '../helpers/kafka-events.js';
import { connectedRelaySession } from '../helpers/producer-session.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { testRelayDeps } from '../helpers/relay.js';
import { onTeardown, testKafka, testRedis } from '../helpers/services.js';
import { appendTransition } from '../helpers/outbox-entries.js';
import { waitFor } from '../helpers/wait-for.js';

const SDK_APP_ID = 1400000000;

describe('the relay waiting for Redis replicas (redis.waitForReplicas)', () => {
  it('publishes only what a replica holds: holds the batch while the replica is stopped, sends it once it is back', async () => {
    const master = await startRedisServer();
    onTeardown(() => master.destroy());
    const replica = await startRedisServer({ extraArgs: ['--replicaof', '127.0.0.1', String(master.port)] });
    onTeardown(() => replica.destroy());
    const redis = testRedis({}, master.url);
    await waitFor(async () => /slave0:.*state=online/.test(await redis.info('replication')), {
      description: 'the replica in sync with its master',
    });

    const keys = appKeys('replicas', SDK_APP_ID);
    await redis.hset(keys.watchlistIds, { 1: JSON.stringify({ name: 'all' }) });
    const { session, topic, state } = await connectedRelaySession('wait-for-replicas');
    const collector = await collectRecords(testKafka(), [topic]);
    const events = createFlowEvents();
    const metrics = createMetrics();
    const stopMetrics = recordFlowMetrics(events, metrics);
    onTeardown(async () => stopMetrics());
    const held: number[] = [];
    events.on('publishHeld', ({ replicas }) => held.push(replicas));
    const relay = createOutboxRelay(
      testRelayDeps(keys, session, { redis, blockingRedis: testRedis({}, master.url), events }),
      {
        sdkAppId: SDK_APP_ID,
        transitionsTopic: topic,
        stateTopic: state,
        waitForReplicas: 1,
        maxBackoffMs: 300,
      },
    );
    void relay.run();
    onTeardown(() => relay.stop());
    await waitFor(() => relay.isLeader, { description: 'the relay holds its lease' });

    // With the replica answering, events go out as usual.
    for (let seq = 1; seq <= 3; seq++) await appendTransition(redis, keys, 'u1', seq);
    await waitFor(() => collector.events(topic).length === 3, { description: 'the first three events' });
    expect(held).toEqual([]);

    // The replica stops: it acknowledges nothing, so the next events stay in the outbox.
    replica.pause();
    for (let seq = 4; seq <= 6; seq++) await appendTransition(redis, keys, 'u1', seq);
    await waitFor(() => held.length >= 2, { timeoutMs: 20_000, description: 'the batch held back twice' });
    expect(held.every((replicas) => replicas === 0)).toBe(true);
    expect(collector.events(topic)).toHaveLength(3);
    expect(await redis.xlen(keys.outbox)).toBe(3);
    const heldMetric = await metrics.registry.getSingleMetricAsString('presence_relay_batches_held_total');
    expect(heldMetric).toMatch(new RegExp(`sdk_app_id="${SDK_APP_ID}"} [1-9]`));

    // Back: the held batch goes out, in order, each event once.
    replica.resume();
    await waitFor(() => collector.events(topic).length >= 6, {
      timeoutMs: 20_000,
      description: 'the held events published once the replica acknowledged them',
    });
    await waitFor(async () => (await redis.xlen(keys.outbox)) === 0, { description: 'the outbox trimmed' });
    const published = collector.events(topic);
    expect(published.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Set(published.map((event) => event.eventId)).size).toBe(6);

    // A held batch that is gone from Redis when the replica answers (as after a failover to a replica that lacked
    // it) is dropped, not sent from the copy read earlier; what the outbox holds then goes out.
    replica.pause();
    for (let seq = 7; seq <= 8; seq++) await appendTransition(redis, keys, 'u1', seq);
    const heldBefore = held.length;
    await waitFor(() => held.length > heldBefore, {
      timeoutMs: 20_000,
      description: 'the next batch held back',
    });
    await redis.del(keys.outbox);
    await appendTransition(redis, keys, 'u2', 1);
    replica.resume();
    await waitFor(() => collector.events(topic).some((event) => event.userId === 'u2'), {
      timeoutMs: 20_000,
      description: 'the entry written after the loss published',
    });
    expect(collector.events(topic).map((event) => `${event.userId}:${event.seq}`)).toEqual([
      ...[1, 2, 3, 4, 5, 6].map((seq) => `u1:${seq}`),
      'u2:1',
    ]);
  });
});
