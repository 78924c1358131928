import type { PresenceEvent } from '@presence-poller/events';
import { describe, expect, it } from 'vitest';
import { createOutboxRelay } from '../../src/relay/outbox-relay.js';
import { replayDeadLetters } from '../../src/relay/dead-letters.js';
import { outboxLength, readOutboxView } from '../../src/relay/outbox-view.js';
import { appKeys, configuredAppKeys, DEFAULT_STATE_BUCKETS, type AppKeys } from '../../src/redis/keys.js';
import { defineScripts } from '../../src/redis/scripts.js';
import { createStateStore, type StateStore } from '../../src/state/state-store.js';
import { collectRecords } from '../helpers/kafka-events.js';
import { simulatorApp, startTestSimulator, testConfig, userIds } from '../helpers/pipeline.js';
import { connectedRelaySession } from '../helpers/producer-session.js';
import { testRelayDeps } from '../helpers/relay.js';
import { onTeardown, testKafka, testRedis, uniqueName } from '../helpers/services.js';
import { spawnWorker } from '../helpers/spawn-worker.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * `redis.snapshotPriority: low` (events/lua/include/outbox-entry.lua, "Low-priority snapshots"): the events are
 * written by the real diff scripts (state-store), published by the real relay to a topic of one partition, so the
 * order a consumer receives is the order the relay published.
 */
const SDK_APP_ID = 1400000000;
const T0 = 1_764_000_000_000;
type Redis = ReturnType<typeof testRedis>;

function lowSetup(label: string, shards = 1) {
  const prefix = uniqueName(label);
  const keys = appKeys(prefix, SDK_APP_ID, DEFAULT_STATE_BUCKETS, shards, 'low');
  const redis = testRedis();
  // The same app after every process restarted with `redis.snapshotPriority: normal`.
  const normal = appKeys(prefix, SDK_APP_ID, DEFAULT_STATE_BUCKETS, shards, 'normal');
  return { keys, normal, redis, store: createStateStore(redis, keys) };
}

/** Tracks the users in watchlist 1 and observes them once: `snapshot` publishes a snapshot each, `silent` nothing. */
async function firstObservation(
  redis: Redis,
  keys: AppKeys,
  store: StateStore,
  users: readonly string[],
  policy: 'snapshot' | 'silent',
): Promise<void> {
  await redis.hset(keys.watchlistIds, { 1: JSON.stringify({ name: 'all' }) });
  await store.updateMembership({ op: 'add', watchlistId: 1, userIds: users, nowMs: T0 });
  for (let start = 0; start < users.length; start += 500) {
    await observe(store, users.slice(start, start + 500), 'N', T0 + 1_000, policy);
  }
}

async function observe(
  store: StateStore,
  users: readonly string[],
  code: 'N' | 'F',
  observedAtMs: number,
  policy: 'snapshot' | 'silent' = 'snapshot',
) {
  return store.applyObservations({
    source: 'hint',
    observedAtMs,
    firstObservation: policy,
    deviceEvents: false,
    observations: users.map((userId) => ({ userId, code, deviceHash: '', devicesJson: '' })),
  });
}

/** An in-process relay of shard 0 on topics of one partition, and a consumer of its transitions topic. */
async function startRelay(redis: Redis, keys: AppKeys, label: string, batchSize = 100) {
  const { session, topic, state } = await connectedRelaySession(label);
  const collector = await collectRecords(testKafka(), [topic]);
  const relay = createOutboxRelay(testRelayDeps(keys, session), {
    sdkAppId: SDK_APP_ID,
    transitionsTopic: topic,
    stateTopic: state,
    batchSize,
  });
  void relay.run();
  onTeardown(() => relay.stop());
  return { events: () => collector.events(topic), redis, keys };
}

const published = async (redis: Redis, keys: AppKeys) =>
  Number((await redis.hget(keys.relayState, 'published')) ?? 0);

/**
 * Waits until `count` events were consumed and the outbox (both streams) trimmed, then checks each event was
 * published exactly once. The trim follows Kafka's acknowledgement, so a consumer may see a batch before its trim.
 */
async function allOnce(
  relay: { events: () => PresenceEvent[]; redis: Redis; keys: AppKeys },
  count: number,
): Promise<PresenceEvent[]> {
  const { events, redis, keys } = relay;
  await waitFor(() => events().length >= count, {
    timeoutMs: 60_000,
    description: `${count} events consumed`,
  });
  await waitFor(async () => (await outboxLength(redis, keys)) === 0, { description: 'the outbox trimmed' });
  const received = events();
  expect(new Set(received.map((event) => event.eventId)).size).toBe(received.length);
  expect(received).toHaveLength(count);
  return received;
}

/** What each user received, as `kind:seq`, in order. */
function kindsByUser(events: readonly PresenceEvent[]): Map<string, string[]> {
  const byUser = new Map<string, string[]>();
  for (const e of events) byUser.set(e.userId, [...(byUser.get(e.userId) ?? []), `${e.kind}:${e.seq}`]);
  return byUser;
}

const BACKLOG = 10_000;

describe('low-priority snapshots', () => {
  it('publishes a transition observed while a backlog of snapshots drains before the backlog is done', async () => {
    const { keys, redis, store } = lowSetup('low-burst');
    const backlog = userIds(BACKLOG);
    await firstObservation(redis, keys, store, backlog, 'snapshot');
    await firstObservation(redis, keys, store, ['other'], 'silent');
    expect(await redis.xlen(keys.lowOutboxShard(0))).toBe(BACKLOG);
    expect(await redis.xlen(keys.outbox)).toBe(0);
    // Backpressure and status count the snapshots too.
    expect(await outboxLength(redis, keys)).toBe(BACKLOG);

    const relay = await startRelay(redis, keys, 'low-burst');
    await waitFor(async () => (await published(redis, keys)) > 0, { description: 'the backlog draining' });
    expect((await observe(store, ['other'], 'F', T0 + 2_000)).events).toBe(1);
    // Read after the write: at least this much was published before the transition was written.
    const publishedBefore = await published(redis, keys);
    expect(publishedBefore).toBeLessThan(BACKLOG);

    const received = await allOnce(relay, BACKLOG + 1);
    const at = received.findIndex((event) => event.userId === 'other');
    expect(received[at]).toMatchObject({ kind: 'transition', seq: 1 });
    // Behind at most the low batch in flight when it was written and one more claimed meanwhile (100 each), not
    // behind the rest of the backlog (`publishedBefore` may count one of them already).
    expect(at).toBeLessThanOrEqual(publishedBefore + 200);
    expect(at).toBeLessThan(BACKLOG - 1_000);
    expect(await redis.xlen(keys.lowOutboxShard(0))).toBe(0);
    expect(await redis.hlen(keys.lowPendingOf(0))).toBe(0);
    expect(await published(redis, keys)).toBe(BACKLOG + 1);
  }, 120_000);

  it('drains the snapshots while new transitions keep the outbox stream from ever emptying', async () => {
    const { keys, redis, store } = lowSetup('low-churn');
    const backlog = userIds(2_000);
    // Half the churn has a snapshot waiting (the first change moves it ahead), half was tracked silently.
    const fresh = userIds(50).map((user) => `churn-${user}`);
    const churn = [...backlog.filter((_, i) => i % 40 === 39), ...fresh];
    await firstObservation(redis, keys, store, backlog, 'snapshot');
    await firstObservation(redis, keys, store, fresh, 'silent');
    const relay = await startRelay(redis, keys, 'low-churn');

    // Churn: the churn users all change whenever fewer than 300 entries wait in the outbox stream, so the relay
    // (100 entries a batch) never finds it empty.
    let rounds = 0;
    let churning = true;
    const writer = (async () => {
      while (churning) {
        if ((await redis.xlen(keys.outbox)) < 300) {
          rounds += 1;
          const code = rounds % 2 === 1 ? 'F' : 'N';
          expect((await observe(store, churn, code, T0 + 1_000 + rounds * 1_000)).events).toBe(churn.length);
        } else {
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      }
    })();
    onTeardown(async () => {
      churning = false;
      await writer;
    });
    await waitFor(async () => (await redis.xlen(keys.lowOutboxShard(0))) === 0, {
      timeoutMs: 60_000,
      description: 'the snapshot backlog drained while the churn went on',
    });
    const roundsWhileDraining = rounds;
    churning = false;
    await writer;
    // The churn really kept the outbox stream busy meanwhile (a writer that fell behind would prove nothing).
    expect(roundsWhileDraining).toBeGreaterThan(3);

    const received = await allOnce(relay, backlog.length + rounds * churn.length);
    const byUser = kindsByUser(received);
    const transitions = (firstSeq: number) =>
      Array.from({ length: rounds }, (_, i) => `transition:${firstSeq + i}`);
    for (const user of backlog) {
      const expected = churn.includes(user) ? ['snapshot:1', ...transitions(2)] : ['snapshot:1'];
      expect(byUser.get(user), user).toEqual(expected);
    }
    for (const user of fresh) expect(byUser.get(user), user).toEqual(transitions(1));
    expect(await redis.hlen(keys.lowPendingOf(0))).toBe(0);
  }, 120_000);

  it('keeps a user in order when the Redis clock is behind the outbox stream (a clock step back, a failover)', async () => {
    const { keys, redis, store } = lowSetup('low-clock');
    const [user, other] = ['stepped', 'earlier'];
    await firstObservation(redis, keys, store, [user, other], 'silent');
    // An entry written while the server's clock was ten minutes ahead: every later entry of the outbox stream takes
    // its millisecond, while a new stream (the low one) follows the clock.
    const aheadMs = Date.now() + 600_000;
    await redis.xadd(
      keys.outbox,
      `${aheadMs}-0`,
      ...['u', other, 'k', 'transition', 'f', 'N', 't', 'F', 's', '1', 'o', String(T0 + 1_500)],
      ...['p', String(T0 + 1_000), 'w', '1', 'd', '', 'e', 'epoch1'],
    );
    expect((await observe(store, [user], 'F', T0 + 2_000)).events).toBe(1);
    expect(await store.emitSnapshots([user])).toBe(1);
    const [lowId] = ((await redis.xrange(keys.lowOutboxShard(0), '-', '+')) as Array<[string, string[]]>)[0]!;
    expect(Number(lowId.split('-')[0])).toBeGreaterThanOrEqual(aheadMs);

    const relay = await startRelay(redis, keys, 'low-clock');
    const byUser = kindsByUser(await allOnce(relay, 3));
    expect(byUser.get(user)).toEqual(['transition:1', 'snapshot:2']);
    expect(byUser.get(other)).toEqual(['transition:1']);
  }, 120_000);

  it("moves a user's pending snapshot ahead of its next event: snapshot then transition, each once", async () => {
    const { keys, redis, store } = lowSetup('low-order');
    const backlog = userIds(2_000);
    const changing = backlog.slice(0, 50);
    await firstObservation(redis, keys, store, backlog, 'snapshot');
    expect((await observe(store, changing, 'F', T0 + 2_000)).events).toBe(changing.length);
    // A second snapshot of a user with one pending moves the first to the outbox stream, and waits in its place.
    const twice = backlog.at(-1)!;
    expect(await store.emitSnapshots([twice])).toBe(1);

    // In Redis: the changing users' snapshots moved to the outbox stream, each just before its transition.
    const low = keys.lowOutboxShard(0);
    expect(await redis.xlen(low)).toBe(backlog.length - changing.length);
    expect(await redis.hlen(keys.lowPendingOf(0))).toBe(backlog.length - changing.length);
    expect(await redis.hget(keys.lowPendingOf(0), changing[0]!)).toBeNull();
    const [secondId, second] = (
      (await redis.xrevrange(low, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>
    )[0]!;
    expect(second.slice(0, 6)).toEqual(['u', twice, 'k', 'snapshot', 'f', '']);
    expect(await redis.hget(keys.lowPendingOf(0), twice)).toBe(secondId);
    const high = (await redis.xrange(keys.outbox, '-', '+')) as Array<[string, string[]]>;
    const field = (fields: string[], name: string) => fields[fields.indexOf(name) + 1];
    expect(high.map(([, f]) => `${field(f, 'u')}:${field(f, 'k')}:${field(f, 's')}`)).toEqual([
      ...changing.flatMap((user) => [`${user}:snapshot:1`, `${user}:transition:2`]),
      `${twice}:snapshot:1`,
    ]);

    const relay = await startRelay(redis, keys, 'low-order');
    const received = await allOnce(relay, backlog.length + changing.length + 1);
    const byUser = kindsByUser(received);
    for (const user of changing) expect(byUser.get(user), user).toEqual(['snapshot:1', 'transition:2']);
    expect(byUser.get(twice)).toEqual(['snapshot:1', 'snapshot:2']);
    for (const user of backlog.slice(changing.length, -1))
      expect(byUser.get(user), user).toEqual(['snapshot:1']);
    // The outbox stream did not wait for the backlog: its 101 entries (two batches of 100) went out with at most
    // one low batch before each.
    const lastOfOutbox = received.findLastIndex(
      (event) => changing.includes(event.userId) || (event.userId === twice && event.seq === 1),
    );
    expect(lastOfOutbox).toBeLessThan(2 * changing.length + 1 + 2 * 100);
    expect(await redis.hlen(keys.lowPendingOf(0))).toBe(0);
  }, 120_000);

  it('publishes a batch claimed by a relay that stopped before trimming first, then the events written after it', async () => {
    const { keys, redis, store } = lowSetup('low-claim');
    const users = userIds(300);
    await firstObservation(redis, keys, store, users, 'snapshot');
    // A relay took the lease and claimed the first 100 snapshots, then stopped before trimming (crashed, or still
    // waiting for Kafka's ack): its claim stays in Redis.
    const token = 'gone-host:1:claim';
    await redis.set(keys.relayLease, token, 'PX', 60_000);
    const { claim } = defineScripts(redis, {
      claim: { source: 'relay/claim-low-batch', numberOfKeys: 4 },
    });
    const claimKeys = [keys.relayLease, keys.outbox, keys.lowOutboxShard(0), keys.lowPendingOf(0)];
    const claimed = (await claim(...claimKeys, token, 100)) as Array<[string, string[]]>;
    expect(claimed).toHaveLength(100);
    const inClaim = claimed[5]![1][1]!;
    const afterClaim = users.find((user) => !claimed.some(([, fields]) => fields[1] === user))!;

    // A user of the claimed batch changes: its snapshot stays where the relay will publish it first; a user after
    // the claim has its snapshot moved ahead of the transition.
    await observe(store, [inClaim, afterClaim], 'F', T0 + 2_000);
    const highUsers = async () =>
      ((await redis.xrange(keys.outbox, '-', '+')) as Array<[string, string[]]>).map(
        ([, fields]) => `${fields[1]}:${fields[3]}`,
      );
    expect(await highUsers()).toEqual([
      `${inClaim}:transition`,
      `${afterClaim}:snapshot`,
      `${afterClaim}:transition`,
    ]);
    // The claim holds while the outbox stream is not empty: the same batch again, never a new one.
    expect(await claim(...claimKeys, token, 100)).toEqual(claimed);

    // The stopped relay's lease ran out; a new relay takes over.
    await redis.del(keys.relayLease);
    const relay = await startRelay(redis, keys, 'low-claim');
    const received = await allOnce(relay, users.length + 2);
    expect(received.slice(0, 100).map((event) => event.userId)).toEqual(claimed.map(([, f]) => f[1]));
    const byUser = kindsByUser(received);
    expect(byUser.get(inClaim)).toEqual(['snapshot:1', 'transition:2']);
    expect(byUser.get(afterClaim)).toEqual(['snapshot:1', 'transition:2']);
    expect(await redis.hlen(keys.lowPendingOf(0))).toBe(0);
    expect(await redis.xlen(keys.lowOutboxShard(0))).toBe(0);
  }, 120_000);

  it('loses nothing when the relay process is killed mid-burst: every event published, each user in order', async () => {
    const simulator = await startTestSimulator({ seed: 7, population: { size: 10, notImportedShare: 0 } });
    const config = testConfig([simulatorApp(simulator)], []);
    config.redis.snapshotPriority = 'low';
    config.redis.outboxShards = 2;
    config.kafka.partitions = 1;
    const keys = configuredAppKeys(config.redis, config.apps[0]!.sdkAppId);
    const redis = testRedis();
    const store = createStateStore(redis, keys);
    const users = userIds(20_000);
    await firstObservation(redis, keys, store, users, 'snapshot');

    const env = { PRESENCE_TEST_RELAY_LEASE_MS: '3000' };
    const victim = await spawnWorker(config, ['relay'], env);
    const collector = await collectRecords(testKafka(), [config.kafka.topics.transitions]);
    const events = () => collector.events(config.kafka.topics.transitions);
    await waitFor(() => events().length > 0, { timeoutMs: 45_000, description: 'publishing under way' });
    // Users whose snapshots may be claimed, in flight, pending or published change while the relay works.
    const changing = users.filter((_, i) => i % 200 === 0);
    await observe(store, changing, 'F', T0 + 2_000);
    await victim.kill();
    await spawnWorker(config, ['relay'], env);

    const firstSeen = (list: string[]) => list.filter((item, i) => list.indexOf(item) === i);
    await waitFor(
      () => {
        const byUser = kindsByUser(events());
        return users.every(
          (user) => firstSeen(byUser.get(user) ?? []).length === (changing.includes(user) ? 2 : 1),
        );
      },
      { timeoutMs: 90_000, description: 'every event published' },
    );
    // A repeat (same eventId) may follow the kill; a loss or a reordering never.
    const byUser = kindsByUser(events());
    for (const user of users) {
      const expected = changing.includes(user) ? ['snapshot:1', 'transition:2'] : ['snapshot:1'];
      const received = byUser.get(user)!;
      expect(firstSeen(received), user).toEqual(expected);
      let highest = 0;
      for (const seq of received.map((item) => Number(item.split(':')[1]))) {
        // A repeat goes back at most to what was already published, and the first copies are in order.
        expect(seq <= highest + 1, `${user}: ${received.join(',')}`).toBe(true);
        highest = Math.max(highest, seq);
      }
    }
    await waitFor(async () => (await outboxLength(redis, keys)) === 0, {
      description: 'the outbox trimmed',
    });
    for (let shard = 0; shard < keys.outboxShards; shard++) {
      expect(await redis.hlen(keys.lowPendingOf(shard))).toBe(0);
    }
  }, 180_000);
  it('counts the snapshots left in the low streams after a switch back to normal (length, backpressure, status)', async () => {
    const { keys, normal, redis, store } = lowSetup('low-count', 2);
    const users = userIds(300);
    await firstObservation(redis, keys, store, users, 'snapshot');
    expect(normal.lowOutboxShard(1)).toBe(keys.lowOutboxShard(1));
    // One more event in an outbox stream, written with `normal`: a transition (nothing moves the user's snapshot).
    expect((await observe(createStateStore(redis, normal), [users[0]!], 'F', T0 + 2_000)).events).toBe(1);
    const oldestMs = async (stream: string) =>
      Number(
        ((await redis.xrange(stream, '-', '+', 'COUNT', 1)) as Array<[string, string[]]>)[0]![0].split(
          '-',
        )[0],
      );
    const oldest = Math.min(await oldestMs(keys.lowOutboxShard(0)), await oldestMs(keys.lowOutboxShard(1)));
    for (const view of [normal, keys]) {
      expect(await outboxLength(redis, view)).toBe(users.length + 1);
      const outbox = await readOutboxView(redis, view, oldest + 10_000);
      expect(outbox).toMatchObject({ entries: users.length + 1, lowPriorityEntries: users.length });
      // The oldest entry is a waiting snapshot.
      expect(outbox.oldestAgeSeconds).toBe(10);
    }
  });

  it('drains the snapshots left in the low stream after a switch back to normal, each user in order', async () => {
    const { keys, normal, redis, store } = lowSetup('low-switch');
    const users = userIds(1_000);
    await firstObservation(redis, keys, store, users, 'snapshot');
    // While still `low`: some users change (their snapshots move to the outbox stream ahead of the transitions).
    const before = users.slice(0, 20);
    expect((await observe(store, before, 'F', T0 + 2_000)).events).toBe(before.length);

    // Every process restarts with `normal`: nothing moves a waiting snapshot ahead any more; users with one change.
    const normalStore = createStateStore(redis, normal);
    const after = users.filter((_, i) => i % 50 === 25);
    expect((await observe(normalStore, after, 'F', T0 + 3_000)).events).toBe(after.length);
    expect(await redis.hget(keys.lowPendingOf(0), after[0]!)).not.toBeNull();
    expect(await redis.xlen(keys.lowOutboxShard(0))).toBe(users.length - before.length);

    const relay = await startRelay(redis, normal, 'low-switch');
    const received = await allOnce(relay, users.length + before.length + after.length);
    const byUser = kindsByUser(received);
    for (const user of users) {
      const changed = before.includes(user) || after.includes(user);
      expect(byUser.get(user), user).toEqual(changed ? ['snapshot:1', 'transition:2'] : ['snapshot:1']);
    }
    expect(await redis.xlen(keys.lowOutboxShard(0))).toBe(0);
    expect(await redis.hlen(keys.lowPendingOf(0))).toBe(0);
    expect(await outboxLength(redis, normal)).toBe(0);
  }, 120_000);

  it("moves a user's pending snapshot ahead of a replayed dead letter of the same user", async () => {
    const { keys, redis, store } = lowSetup('low-replay');
    const [user, other] = ['replayed', 'bystander'];
    await firstObservation(redis, keys, store, [user, other], 'snapshot');
    // The user's transition (its snapshot moved ahead of it) is refused by Kafka and dead-lettered.
    await observe(store, [user], 'F', T0 + 2_000);
    const high = async () =>
      ((await redis.xrange(keys.outbox, '-', '+')) as Array<[string, string[]]>).map(
        ([, fields]) => `${fields[1]}:${fields[3]}:${fields[9]}`,
      );
    expect(await high()).toEqual([`${user}:snapshot:1`, `${user}:transition:2`]);
    const [transitionId, transitionFields] = (
      (await redis.xrange(keys.outbox, '-', '+')) as Array<[string, string[]]>
    )[1]!;
    const token = 'relay-host:1:replay';
    await redis.set(keys.relayLease, token, 'PX', 60_000);
    const { deadLetter } = defineScripts(redis, { deadLetter: { source: 'relay/dead-letter' } });
    const deadLetterKeys = [keys.relayLease, keys.outbox, keys.deadLetters, keys.relayState];
    await deadLetter(4, ...deadLetterKeys, token, transitionId, 'e', 'too large', ...transitionFields);
    // A snapshot of the user re-published since waits in the low stream.
    expect(await store.emitSnapshots([user])).toBe(1);
    expect(await redis.hget(keys.lowPendingOf(0), user)).not.toBeNull();

    expect(await replayDeadLetters(redis, keys)).toBe(1);
    // The waiting snapshot went ahead of the replayed transition (appended after it); the other user's stayed.
    expect(await high()).toEqual([`${user}:snapshot:1`, `${user}:snapshot:3`, `${user}:transition:2`]);
    expect(await redis.hget(keys.lowPendingOf(0), user)).toBeNull();
    expect(await redis.hget(keys.lowPendingOf(0), other)).not.toBeNull();
    expect(await redis.xlen(keys.lowOutboxShard(0))).toBe(1);
    expect(await redis.xlen(keys.deadLetters)).toBe(0);
  });
});
