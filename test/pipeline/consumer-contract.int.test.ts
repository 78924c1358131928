import {
  createDeduper,
  createMemoryDedupeStore,
  followTransitions,
  readStateTopic,
  stateKeyOf,
  type DecodeError,
  type PresenceEvent,
  type PresenceView,
} from '@presence-poller/events';
import type { Admin, Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/main.js';
import { appKeys } from '../../src/redis/keys.js';
import { DEFAULT_SIMULATOR_APP, type Simulator } from '../../src/simulator/index.js';
import { createStateStore } from '../../src/state/state-store.js';
import { collectRecords, type EventCollector } from '../helpers/kafka-events.js';
import {
  simulatorApp,
  startTestService,
  startTestSimulator,
  testConfig,
  userIds,
} from '../helpers/pipeline.js';
import { onTeardown, testKafka, testRedis, uniqueName } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * The pipeline as a consuming team sees it through @presence-poller/events: two apps with the same UserIDs, a
 * detail watchlist overlapping a plain one, a relay that publishes part of its outbox twice, a user moved between
 * watchlists, and a consumer that starts late (state topic first, then the transitions).
 */
const APP_A = DEFAULT_SIMULATOR_APP.sdkAppId;
const APP_B = APP_A + 1;
const plain = userIds(40);
const vip = userIds(5, 30);
const appB = userIds(20);
const moved = plain[39]!;

describe('consuming the pipeline with the events package', () => {
  let simulator: Simulator;
  let pipeline: Service;
  let relay: Service;
  let collector: EventCollector;
  let config: ReturnType<typeof testConfig>;
  const redis = testRedis();
  const kafka = testKafka();
  const keysOf = (app: number) => appKeys(config.redis.prefix, app);
  const outboxLength = async () =>
    (await redis.xlen(keysOf(APP_A).outbox)) + (await redis.xlen(keysOf(APP_B).outbox));
  const vipTopic = () => `${config.kafka.topics.transitions}.vip`;
  const transitions = () => collector.events(config.kafka.topics.transitions);

  // The late consumer.
  let view: PresenceView;
  const handled: PresenceEvent[] = [];
  const gaps: string[] = [];
  const errors: DecodeError[] = [];
  const consumers: Consumer[] = [];
  let admin: Admin;

  const startRelay = async () => {
    relay = await startTestService(config, { roles: ['relay'] });
    onTeardown(() => relay.stop());
  };

  beforeAll(async () => {
    simulator = await startTestSimulator({
      seed: 13,
      apps: [DEFAULT_SIMULATOR_APP, { sdkAppId: APP_B, secretKey: DEFAULT_SIMULATOR_APP.secretKey }],
      population: { size: 200, notImportedShare: 0 },
    });
    const a = simulatorApp(simulator);
    const b = simulatorApp(simulator, { sdkAppId: APP_B });
    config = testConfig(
      [a, b],
      [
        { name: 'plain', userIds: plain },
        { name: 'vip', userIds: vip, detail: true },
        { name: 'b-all', userIds: appB, app: b.name, sdkAppId: APP_B },
      ],
    );
    config.watchlists[1]!.topic = vipTopic();
    pipeline = await startTestService(config, { roles: ['scheduler', 'poller'] });
    onTeardown(() => pipeline.stop());
    await startRelay();
    collector = await collectRecords(kafka, [
      config.kafka.topics.transitions,
      vipTopic(),
      config.kafka.topics.state,
    ]);
    await waitFor(() => new Set(transitions().map((e) => `${e.sdkAppId}:${e.userId}`)).size === 60, {
      timeoutMs: 30_000,
      description: 'a first event for every member of both apps',
    });
  }, 120_000);

  afterAll(async () => {
    for (const consumer of consumers) await consumer.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
  });

  it('keys the state topic by app, so two apps with the same UserID keep a record each', async () => {
    const user = appB[3]!;
    const records = await waitFor(
      () => {
        const keys = new Set(
          collector.records.filter((r) => r.topic === config.kafka.topics.state).map((r) => r.key),
        );
        return keys.has(stateKeyOf(APP_A, user)) && keys.has(stateKeyOf(APP_B, user)) ? keys : undefined;
      },
      { timeoutMs: 15_000, description: 'state records of the same UserID in both apps' },
    );
    expect(records.has(user)).toBe(false);
    const sdkAppIds = new Set(
      transitions()
        .filter((e) => e.userId === user)
        .map((e) => e.sdkAppId),
    );
    expect([...sdkAppIds].sort()).toEqual([APP_A, APP_B]);
  });

  it('gives devices to a user in a detail watchlist in every event, whichever sweep saw it, and to no one else', () => {
    const ofAppA = transitions().filter((e) => e.sdkAppId === APP_A);
    for (const event of ofAppA) {
      expect(event.devices !== undefined, `${event.eventId} has devices`).toBe(vip.includes(event.userId));
    }
  });

  it('bootstraps a late consumer, then handles every later event once despite a relay redelivery', async () => {
    await waitFor(async () => (await outboxLength()) === 0, {
      timeoutMs: 15_000,
      description: 'the first events published',
    });
    admin = kafka.admin();
    const stateReader = kafka.consumer({ groupId: uniqueName('bootstrap'), maxWaitTimeInMs: 100 });
    const follower = kafka.consumer({ groupId: uniqueName('crm-sync'), maxWaitTimeInMs: 100 });
    consumers.push(stateReader, follower);
    await Promise.all([admin.connect(), stateReader.connect(), follower.connect()]);
    view = await readStateTopic({ consumer: stateReader, admin, topic: config.kafka.topics.state });
    expect(view.states().length).toBe(60);
    await followTransitions({
      consumer: follower,
      view,
      completeTopics: [config.kafka.topics.transitions],
      partialTopics: [vipTopic()],
      deduper: createDeduper(createMemoryDedupeStore({ maxEntries: 10_000 })),
      onEvent: (event) => void handled.push(event),
      onGap: (gap, event) => void gaps.push(`${event.eventId}: ${JSON.stringify(gap)}`),
      onError: (error) => void errors.push(error),
    });

    // A relay that published a batch and died before trimming it: its successor publishes the same entries again.
    await relay.stop();
    const changed = [plain[1]!, plain[2]!, vip[1]!, appB[5]!];
    for (const user of changed) {
      simulator.setUserState(user, simulator.getUserState(user)!.state === 'Online' ? 'Offline' : 'Online');
    }
    const pending = async () => {
      const [a, b] = await Promise.all([
        redis.xrange(keysOf(APP_A).outbox, '-', '+'),
        redis.xrange(keysOf(APP_B).outbox, '-', '+'),
      ]);
      return { a, b };
    };
    // Both apps' changes of plain[1] and plain[2] (same users in app B), vip[1], appB[5].
    const unpublished = await waitFor(
      async () => {
        const { a, b } = await pending();
        return a.length >= 3 && b.length >= 3 ? { a, b } : undefined;
      },
      { timeoutMs: 15_000, description: 'the changes in the outboxes while no relay runs' },
    );
    await startRelay();
    await waitFor(async () => (await outboxLength()) === 0, {
      timeoutMs: 15_000,
      description: 'the changes published',
    });
    for (const [app, entries] of [
      [APP_A, unpublished.a],
      [APP_B, unpublished.b],
    ] as const) {
      for (const [, fields] of entries as Array<[string, string[]]>) {
        await redis.xadd(keysOf(app).outbox, '*', ...fields);
      }
    }
    const redelivered = [...unpublished.a, ...unpublished.b].length;

    await waitFor(() => handled.filter((e) => e.kind === 'transition').length >= redelivered, {
      timeoutMs: 20_000,
      description: 'the consumer handling the changes',
    });
    await waitFor(async () => (await outboxLength()) === 0, {
      timeoutMs: 15_000,
      description: 'the redelivery published',
    });
    // Every redelivered event is on the topic twice, and was handled once.
    await waitFor(
      () => {
        const ids = transitions()
          .filter((e) => e.kind === 'transition')
          .map((e) => e.eventId);
        return ids.length >= 2 * redelivered;
      },
      { timeoutMs: 15_000, description: 'the redelivered records on the transitions topic' },
    );
    const ids = handled.map((e) => e.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(handled.filter((e) => e.kind === 'transition').length).toBe(redelivered);
    expect(gaps).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('rewrites the state record of a user moved between watchlists, with no event', async () => {
    const eventsBefore = transitions().filter((e) => e.userId === moved && e.sdkAppId === APP_A);
    const last = eventsBefore.at(-1)!;
    const publishedKinds: string[] = [];
    const unsubscribe = relay.events.on('eventsPublished', ({ kinds }) => void publishedKinds.push(...kinds));
    await pipeline.applyWatchlists([
      { ...config.watchlists[0]!, userIds: plain.slice(0, 39) },
      config.watchlists[1]!,
      config.watchlists[2]!,
      { ...config.watchlists[0]!, name: 'moved-to', userIds: [moved] },
    ]);
    const record = await waitFor(
      () =>
        collector.records.find(
          (r) =>
            r.topic === config.kafka.topics.state &&
            r.key === stateKeyOf(APP_A, moved) &&
            JSON.stringify((r.value as { watchlists?: string[] } | null)?.watchlists) === '["moved-to"]',
        ),
      { timeoutMs: 15_000, description: 'the state record with the new watchlist' },
    );
    expect(record.value).toMatchObject({ seq: last.seq, epoch: last.epoch, state: last.to });
    expect(record.headers).toMatchObject({ ce_id: last.eventId, ce_type: 'com.presence-poller.state.v1' });
    await waitFor(async () => (await outboxLength()) === 0, { timeoutMs: 15_000 });
    expect(transitions().filter((e) => e.userId === moved && e.sdkAppId === APP_A)).toEqual(eventsBefore);
    // A state record only: not counted as a published event (nor in the publish latency).
    unsubscribe();
    expect(publishedKinds).toEqual([]);
  });

  it("ends with the consumer's view equal to the poller's Redis state, with no gap", async () => {
    const expected = async () => {
      const states: Array<[string, unknown]> = [];
      for (const [app, users] of [
        [APP_A, plain],
        [APP_B, appB],
      ] as const) {
        const store = createStateStore(redis, keysOf(app));
        for (const user of users) {
          const stored = await store.readState(user);
          if (stored) states.push([stateKeyOf(app, user), [stored.state, stored.seq, stored.epoch]]);
        }
      }
      return states.sort();
    };
    const actual = () =>
      view
        .states()
        .map((s): [string, unknown] => [stateKeyOf(s.sdkAppId, s.userId), [s.state, s.seq, s.epoch]])
        .sort();
    let want: Array<[string, unknown]> = [];
    await waitFor(
      async () => {
        want = await expected();
        return JSON.stringify(actual()) === JSON.stringify(want);
      },
      { timeoutMs: 15_000, description: 'the view equal to Redis (last Redis: see the assertion)' },
    ).catch(() => undefined);
    expect(actual()).toEqual(want);
    expect(want.length).toBe(60);
    expect(gaps).toEqual([]);
  });
});
