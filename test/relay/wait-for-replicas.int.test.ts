import { describe, expect, it } from 'vitest';
import { createFlowEvents } from '../../src/ops/flow-events.js';
import { recordFlowMetrics } from '../../src/ops/flow-metrics.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { createOutboxRelay } from '../../src/relay/outbox-relay.js';
import { appKeys, DEFAULT_STATE_BUCKETS } from '../../src/redis/keys.js';
import { createStateStore } from '../../src/state/state-store.js';
import { collectRecords } from '../helpers/kafka-events.js';
import { userIds } from '../helpers/pipeline.js';
import { connectedRelaySession, testProducerSession } from '../helpers/producer-session.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { testRelayDeps } from '../helpers/relay.js';
import { onTeardown, testKafka, testRedis, uniqueName } from '../helpers/services.js';
import { appendTransition } from '../helpers/outbox-entries.js';
import { waitFor } from '../helpers/wait-for.js';

const SDK_APP_ID = 1400000000;
const T0 = 1_764_000_000_000;

/** A private master with one replica in sync, and a client on the master. */
async function masterWithReplica() {
  const master = await startRedisServer();
  onTeardown(() => master.destroy());
  const replica = await startRedisServer({ extraArgs: ['--replicaof', '127.0.0.1', String(master.port)] });
  onTeardown(() => replica.destroy());
  const redis = testRedis({}, master.url);
  await waitFor(async () => /slave0:.*state=online/.test(await redis.info('replication')), {
    description: 'the replica in sync with its master',
  });
  return { master, replica, redis };
}

describe('the relay waiting for Redis replicas (redis.waitForReplicas)', () => {
  it('publishes only what a replica holds: holds the batch while the replica is stopped, sends it once it is back', async () => {
    const { master, replica, redis } = await masterWithReplica();

    const keys = appKeys('replicas', SDK_APP_ID);
    await redis.hset(keys.watchlistIds, { 1: JSON.stringify({ name: 'all' }) });
    const { session, topic, state } = await connectedRelaySession('wait-for-replicas');
    const collector = await collectRecords(testKafka(), [topic]);
    const events = createFlowEvents();
    const metrics = createMetrics();
    const stopMetrics = recordFlowMetrics(events, metrics);
    onTeardown(async () => stopMetrics());
    const held: number[] = [];
    const refusals: string[] = [];
    events.on('publishHeld', ({ reason, replicas, refusal }) =>
      reason === 'redis_refused' ? refusals.push(refusal ?? '') : held.push(replicas),
    );
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
    expect(heldMetric).toMatch(new RegExp(`sdk_app_id="${SDK_APP_ID}",reason="replicas_behind"} [1-9]`));

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

    // WAIT taken away while running (an ACL change): the relay cannot tell whether a replica holds the next batch,
    // so it holds it, says why, counts it, and goes on once WAIT is allowed again.
    await redis.call('ACL', 'SETUSER', 'default', '-wait');
    await appendTransition(redis, keys, 'u2', 2);
    await waitFor(() => refusals.length >= 2, {
      timeoutMs: 20_000,
      description: 'the batch held for the refusal',
    });
    expect(refusals[0]).toMatch(/^NOPERM .*wait/i);
    // Still in the outbox (a batch sent is trimmed), and not published.
    expect(await redis.xlen(keys.outbox)).toBe(1);
    expect(collector.events(topic)).toHaveLength(7);
    const refusedMetric = await metrics.registry.getSingleMetricAsString('presence_relay_batches_held_total');
    expect(refusedMetric).toMatch(new RegExp(`sdk_app_id="${SDK_APP_ID}",reason="redis_refused"} [1-9]`));
    await redis.call('ACL', 'SETUSER', 'default', '+wait');
    await waitFor(() => collector.events(topic).length >= 8, {
      timeoutMs: 20_000,
      description: 'the batch published once WAIT is allowed again',
    });
    expect(
      collector
        .events(topic)
        .map((event) => `${event.userId}:${event.seq}`)
        .slice(6),
    ).toEqual(['u2:1', 'u2:2']);
  });

  it('holds every shard and the low-priority snapshots alike, then publishes each event once in order', async () => {
    const { master, replica, redis } = await masterWithReplica();
    const keys = appKeys(uniqueName('replicas-shards'), SDK_APP_ID, DEFAULT_STATE_BUCKETS, 2, 'low');
    const store = createStateStore(redis, keys);
    await redis.hset(keys.watchlistIds, { 1: JSON.stringify({ name: 'all' }) });
    const users = userIds(40);
    await store.updateMembership({ op: 'add', watchlistId: 1, userIds: users, nowMs: T0 });

    const { session, topic, state } = await connectedRelaySession('wait-for-replicas-shards');
    const collector = await collectRecords(testKafka(), [topic]);
    const events = createFlowEvents();
    const reasons = new Set<string>();
    events.on('publishHeld', ({ reason }) => reasons.add(reason));
    let held = 0;
    events.on('publishHeld', () => held++);
    for (const shard of [0, 1]) {
      const relay = createOutboxRelay(
        testRelayDeps(
          keys,
          shard === 0
            ? session
            : testProducerSession('wait-for-replicas-shard-1', {
                initialTopics: [],
                transactionalId: uniqueName('wait-for-replicas-shard-1'),
              }),
          { redis, blockingRedis: testRedis({}, master.url), events },
        ),
        {
          sdkAppId: SDK_APP_ID,
          transitionsTopic: topic,
          stateTopic: state,
          waitForReplicas: 1,
          shard,
          maxBackoffMs: 300,
        },
      );
      void relay.run();
      onTeardown(() => relay.stop());
    }

    // Nothing acknowledges: the first sweep's snapshots (the low-priority streams) and the transitions of half the
    // users after them (the shards' outboxes) all wait. Only half change: a user's change moves its waiting
    // snapshot ahead of it into the outbox, so the other half's snapshots are what stays in the low streams.
    replica.pause();
    const changed = users.filter((_, i) => i % 2 === 0);
    const observe = (observed: readonly string[], code: 'N' | 'F', observedAtMs: number) =>
      store.applyObservations({
        source: 'hint',
        observedAtMs,
        firstObservation: 'snapshot',
        deviceEvents: false,
        observations: observed.map((userId) => ({ userId, code, deviceHash: '', devicesJson: '' })),
      });
    await observe(users, 'N', T0 + 1_000);
    await observe(changed, 'F', T0 + 2_000);
    for (const shard of [0, 1]) {
      expect(await redis.xlen(keys.lowOutboxShard(shard))).toBeGreaterThan(0);
      expect(await redis.xlen(keys.outboxShard(shard))).toBeGreaterThan(0);
    }
    await waitFor(() => held >= 4, { timeoutMs: 20_000, description: 'batches held back' });
    expect([...reasons]).toEqual(['replicas_behind']);
    expect(collector.events(topic)).toHaveLength(0);

    replica.resume();
    const expected = users.length + changed.length;
    await waitFor(() => collector.events(topic).length >= expected, {
      timeoutMs: 30_000,
      description: 'every snapshot and transition published once the replica acknowledged them',
    });
    const published = collector.events(topic);
    expect(published).toHaveLength(expected);
    expect(new Set(published.map((event) => event.eventId)).size).toBe(published.length);
    for (const user of users) {
      expect(published.filter((event) => event.userId === user).map((event) => event.kind)).toEqual(
        changed.includes(user) ? ['snapshot', 'transition'] : ['snapshot'],
      );
    }
  });
});
