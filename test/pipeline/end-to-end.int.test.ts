import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EVENT_SCHEMA_ID,
  STATE_CE_TYPE,
  STATE_SCHEMA_ID,
  stateKeyOf,
  strictCurrentStateSchema,
  strictPresenceEventSchema,
  type PresenceEvent,
} from '@presence-poller/events';
import type { Service } from '../../src/main.js';
import type { Simulator } from '../../src/simulator/index.js';
import { collectRecords, type EventCollector } from '../helpers/kafka-events.js';
import {
  simulatorApp,
  startTestService,
  startTestSimulator,
  testConfig,
  userIds,
} from '../helpers/pipeline.js';
import { onTeardown, testKafka } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

describe('pipeline end to end: watchlist -> simulator -> Redis -> Kafka', () => {
  let simulator: Simulator;
  let service: Service;
  let collector: EventCollector;
  let config: ReturnType<typeof testConfig>;
  const everyone = userIds(1_200);
  const vip = userIds(5);

  beforeAll(async () => {
    simulator = await startTestSimulator({ seed: 7, population: { size: 2_000, notImportedShare: 0.02 } });
    config = testConfig(
      [simulatorApp(simulator)],
      [
        { name: 'everyone', userIds: everyone },
        { name: 'vip', userIds: vip, detail: true, deviceEvents: true, topic: undefined },
      ],
    );
    config.watchlists[1]!.topic = `${config.kafka.topics.transitions}.vip`;
    service = await startTestService(config);
    onTeardown(() => service.stop());
    collector = await collectRecords(testKafka(), [
      config.kafka.topics.transitions,
      config.kafka.topics.state,
      `${config.kafka.topics.transitions}.vip`,
    ]);
  });

  afterAll(() => service?.stop());

  const transitions = () => collector.events(config.kafka.topics.transitions);
  const vipTopic = () => collector.events(`${config.kafka.topics.transitions}.vip`);
  const latest = (userId: string, list: PresenceEvent[]) => list.filter((e) => e.userId === userId).at(-1);

  it('publishes one snapshot per imported user and one not_found per missing account', async () => {
    const imported = new Set(simulator.importedUserIds());
    const expectedNotFound = everyone.filter((id) => !imported.has(id));
    expect(expectedNotFound.length).toBeGreaterThan(0);
    await waitFor(() => new Set(transitions().map((e) => e.userId)).size === everyone.length, {
      timeoutMs: 30_000,
      description: 'a first event for every member',
    });
    const events = transitions();
    const snapshots = events.filter((e) => e.kind === 'snapshot');
    const notFound = events.filter((e) => e.kind === 'not_found');
    expect(new Set(snapshots.map((e) => e.userId)).size).toBe(everyone.length - expectedNotFound.length);
    expect(notFound.map((e) => e.userId).sort()).toEqual(expectedNotFound.sort());
    for (const event of snapshots) {
      expect(event.from).toBeNull();
      expect(event.to).toBe(simulator.getUserState(event.userId)?.state);
      expect(event.seq).toBe(1);
    }
    for (const event of events) expect(strictPresenceEventSchema.safeParse(event).success).toBe(true);
  });

  it('does not publish not_found again on later sweeps', async () => {
    const sweepsBefore = collector.records.length;
    await waitFor(() => collector.records.length >= sweepsBefore, { timeoutMs: 5_000 });
    // Let at least two more sweeps of the 1 s interval run, measured by the simulator's call count.
    const calls = simulator.stats().calls;
    await waitFor(() => simulator.stats().calls >= calls + 8, {
      timeoutMs: 15_000,
      description: 'two more sweeps',
    });
    const notFound = transitions().filter((e) => e.kind === 'not_found');
    expect(new Set(notFound.map((e) => e.eventId)).size).toBe(notFound.length);
    expect(new Set(notFound.map((e) => e.userId)).size).toBe(notFound.length);
  });

  it('publishes a transition with from, to, seq and CloudEvents headers when a user changes', async () => {
    const userId = simulator.importedUserIds().find((id) => everyone.includes(id) && !vip.includes(id))!;
    const before = simulator.getUserState(userId)!.state;
    const target = before === 'Online' ? 'Offline' : 'Online';
    simulator.setUserState(userId, target);

    const event = await waitFor(
      () => transitions().find((e) => e.userId === userId && e.kind === 'transition'),
      {
        timeoutMs: 15_000,
        description: `the ${before}->${target} transition of ${userId}`,
      },
    );
    expect(event).toMatchObject({ from: before, to: target, seq: 2, watchlists: ['everyone'] });
    expect(Date.parse(event.observedAt)).toBeGreaterThan(Date.parse(event.previousObservedAt!));
    const record = collector.records.find(
      (r) =>
        r.topic === config.kafka.topics.transitions &&
        (r.value as PresenceEvent | null)?.eventId === event.eventId,
    )!;
    expect(record.key).toBe(userId);
    expect(record.headers).toMatchObject({
      ce_specversion: '1.0',
      ce_id: event.eventId,
      ce_type: 'com.presence-poller.transition.v1',
      ce_subject: userId,
      ce_dataschema: EVENT_SCHEMA_ID,
      'content-type': 'application/json',
    });
    const state = await waitFor(
      () =>
        collector.records.find(
          (r) =>
            r.topic === config.kafka.topics.state &&
            r.key === stateKeyOf(event.sdkAppId, userId) &&
            (r.value as { state?: string } | null)?.state === target,
        ),
      {
        timeoutMs: 10_000,
        description: 'the current-state record',
      },
    );
    // A state record has headers of its own: its type, its schema, and the id of the event it reflects.
    expect(state.headers).toMatchObject({
      ce_specversion: '1.0',
      ce_id: event.eventId,
      ce_type: STATE_CE_TYPE,
      ce_subject: userId,
      ce_dataschema: STATE_SCHEMA_ID,
      'content-type': 'application/json',
    });
    expect(strictCurrentStateSchema.safeParse(state.value).success).toBe(true);
  });

  it('routes a member of two watchlists to both topics, with devices for the detail watchlist', async () => {
    const userId = vip.find((id) => simulator.getUserState(id)?.imported)!;
    const before = simulator.getUserState(userId)!.state;
    const target = before === 'Online' ? 'Offline' : 'Online';
    simulator.setUserState(userId, target);
    const onVip = await waitFor(
      () => vipTopic().find((e) => e.userId === userId && e.kind === 'transition'),
      {
        timeoutMs: 15_000,
        description: 'the transition on the vip topic',
      },
    );
    expect(onVip.to).toBe(target);
    expect([...onVip.watchlists].sort()).toEqual(['everyone', 'vip']);
    // The same event (same id) reaches the default topic: the user is also in `everyone`.
    await waitFor(() => transitions().some((e) => e.eventId === onVip.eventId), { timeoutMs: 10_000 });
    if (onVip.kind === 'transition' && target === 'Online') expect(onVip.devices?.length).toBeGreaterThan(0);
  });

  it('publishes a devices event for a device-only change when the watchlist asks for device events', async () => {
    const userId = vip.filter((id) => simulator.getUserState(id)?.imported).at(-1)!;
    if (simulator.getUserState(userId)!.state !== 'Online') {
      simulator.setUserState(userId, 'Online');
      await waitFor(() => latest(userId, vipTopic())?.to === 'Online', {
        timeoutMs: 15_000,
        description: 'Online first',
      });
    }
    const online = simulator.getUserState(userId)!.devices.filter((d) => d.status !== 'Offline');
    simulator.setUserState(userId, [...online, { platform: 'Web', status: 'Online', instId: 987654 }]);

    const event = await waitFor(
      () =>
        vipTopic().find(
          (e) => e.userId === userId && e.kind === 'devices' && e.devices?.some((d) => d.instId === 987654),
        ),
      { timeoutMs: 15_000, description: 'a devices event carrying the new device' },
    );
    expect(event).toMatchObject({ from: 'Online', to: 'Online' });
    // The everyone watchlist has no device events, but the event is the user's: it goes to both topics.
    expect(event.watchlists).toContain('vip');
  });

  it('publishes untracked and a tombstone for users removed from every watchlist, and nothing more for them', async () => {
    const removed = everyone.slice(1_100).filter((id) => !vip.includes(id));
    await service.applyWatchlists(
      config.watchlists.map((w) => (w.name === 'everyone' ? { ...w, userIds: everyone.slice(0, 1_100) } : w)),
    );
    // Every removed user had a first event (snapshot or not_found), so each gets exactly one untracked.
    await waitFor(() => transitions().filter((e) => e.kind === 'untracked').length >= removed.length, {
      timeoutMs: 15_000,
      description: 'untracked events for the removed users',
    });
    const untracked = transitions().filter((e) => e.kind === 'untracked');
    expect(untracked.map((e) => e.userId).sort()).toEqual([...removed].sort());
    expect(untracked.every((e) => e.to === null && e.watchlists.length === 1)).toBe(true);
    // The state topic is consumed on its own: its tombstone may arrive a moment after the untracked events.
    const tombstone = await waitFor(
      () =>
        collector.records.find(
          (r) =>
            r.topic === config.kafka.topics.state &&
            r.key === stateKeyOf(untracked[0]!.sdkAppId, removed[0]!) &&
            r.value === null,
        ),
      { timeoutMs: 15_000, description: 'the tombstone of a removed user on the state topic' },
    );
    // A tombstone carries only what names the user: no type, no content type for a value it does not have.
    expect(tombstone.headers).toEqual({
      ce_source: `presence-poller/${untracked[0]!.sdkAppId}`,
      ce_subject: removed[0],
    });

    // A change of a removed user is no longer observed.
    const userId = removed.find((id) => simulator.getUserState(id)?.imported)!;
    const countBefore = transitions().filter((e) => e.userId === userId).length;
    simulator.setUserState(userId, simulator.getUserState(userId)!.state === 'Online' ? 'Offline' : 'Online');
    const calls = simulator.stats().calls;
    await waitFor(() => simulator.stats().calls >= calls + 6, {
      timeoutMs: 15_000,
      description: 'more sweeps',
    });
    expect(transitions().filter((e) => e.userId === userId)).toHaveLength(countBefore);
  });
});
