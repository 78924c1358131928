import { Agent, request } from 'undici';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PresenceEvent } from '@presence-poller/events';
import type { Service } from '../../src/main.js';
import { createMetrics, type Metrics } from '../../src/ops/metrics.js';
import type { Simulator } from '../../src/simulator/index.js';
import { signCallback } from '../../src/tencent/callback-sign.js';
import { collectRecords, type EventCollector } from '../helpers/kafka-events.js';
import { startObservedPipeline } from '../helpers/observed-pipeline.js';
import {
  simulatorApp,
  startTestService,
  startTestSimulator,
  testConfig,
  userIds,
} from '../helpers/pipeline.js';
import { onTeardown, testKafka } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

const TOKEN = 'callback-token-for-tests';
const TRACKED = 2_000;
const HOUR_MS = 3_600_000;

async function sample(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number> {
  const family = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const match = family?.values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want));
  return match?.value ?? 0;
}

/** Observations of presence_transition_latency_seconds for one way of detection. */
async function transitionsTimed(metrics: Metrics, detectedBy: string): Promise<number> {
  const family = (await metrics.registry.getMetricsAsJSON()).find(
    (m) => m.name === 'presence_transition_latency_seconds',
  );
  const count = family?.values.find(
    (v) =>
      (v as { metricName?: string }).metricName === 'presence_transition_latency_seconds_count' &&
      v.labels.detected_by === detectedBy,
  );
  return count?.value ?? 0;
}

/**
 * The callback fast path against the simulator: Tencent's state-change callbacks reach the webhook role, become hints,
 * and hint calls find the change long before the watchlist's next sweep (its interval here is an hour, so every
 * event after the first sweep comes from a hint).
 */
describe('webhook role: callbacks as hints', () => {
  let simulator: Simulator;
  let service: Service;
  let metrics: Metrics;
  let collector: EventCollector;
  let transitionsTopic: string;
  const sdkAppId = () => simulator.stats() && Number(Object.keys(simulator.stats().apps)[0]);
  const events = (): PresenceEvent[] => collector.events(transitionsTopic);

  beforeAll(async () => {
    simulator = await startTestSimulator({ seed: 11, population: { size: 3_000, notImportedShare: 0 } });
    const app = simulatorApp(simulator, { callbackToken: TOKEN, hintShare: 0.2 });
    const config = testConfig([app], [{ name: 'all', userIds: userIds(TRACKED), intervalMs: HOUR_MS }]);
    metrics = createMetrics();
    service = await startTestService(config, { roles: ['scheduler', 'poller', 'relay', 'webhook'], metrics });
    onTeardown(() => service.stop());
    transitionsTopic = config.kafka.topics.transitions;
    collector = await collectRecords(testKafka(), [transitionsTopic]);
    await waitFor(() => events().length >= TRACKED, { timeoutMs: 60_000, description: 'the first sweep' });
    expect(new Set(events().map((e) => e.detectedBy))).toEqual(new Set(['sweep']));
    simulator.setCallbackTarget(app.sdkAppId, { url: service.webhookUrl!, token: TOKEN });
  });

  const post = (query: Record<string, string>, body: unknown) =>
    fetch(`${service.webhookUrl}?${new URLSearchParams(query)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const signedQuery = (time = Math.floor(Date.now() / 1000)) => ({
    SdkAppid: String(sdkAppId()),
    CallbackCommand: 'State.StateChange',
    contenttype: 'json',
    RequestTime: String(time),
    Sign: signCallback(TOKEN, time),
  });
  const stateChange = (userId: string, action = 'Login') => ({
    CallbackCommand: 'State.StateChange',
    EventTime: Date.now(),
    Info: { Action: action, To_Account: userId, Reason: 'Register' },
    KickedDevice: [],
  });

  it("a tracked user's Login reaches Kafka through a hint call, long before the next sweep", async () => {
    const userId = userIds(TRACKED).find((id) => simulator.getUserState(id)!.state !== 'Online')!;
    const before = simulator.getUserState(userId)!.state;
    simulator.setUserState(userId, 'Online');
    await waitFor(() => events().some((e) => e.userId === userId && e.kind === 'transition'), {
      timeoutMs: 30_000,
      description: 'the transition found by a hint call',
    });
    const event = events().find((e) => e.userId === userId && e.kind === 'transition')!;
    expect(event).toMatchObject({ from: before, to: 'Online', seq: 2, detectedBy: 'hint' });
    expect(await sample(metrics, 'presence_callbacks_total', { outcome: 'accepted' })).toBeGreaterThan(0);
    expect(await sample(metrics, 'presence_hints_total', { outcome: 'called' })).toBeGreaterThan(0);
    // Its latency is recorded as a hint's; the first sweep's snapshots are no transitions.
    await waitFor(async () => (await transitionsTimed(metrics, 'hint')) > 0, {
      timeoutMs: 10_000,
      description: 'a transition latency of a hint',
    });
    expect(await transitionsTimed(metrics, 'sweep')).toBe(0);
  });

  it("an untracked user's callback leads to no call", async () => {
    const callsBefore = simulator.stats().calls;
    const untrackedBefore = await sample(metrics, 'presence_hints_total', { outcome: 'untracked' });
    const response = await post(signedQuery(), stateChange('u002500'));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' });
    await waitFor(
      async () => (await sample(metrics, 'presence_hints_total', { outcome: 'untracked' })) > untrackedBefore,
      { timeoutMs: 10_000, description: 'the hint dropped as untracked' },
    );
    expect(simulator.stats().calls).toBe(callsBefore);
  });

  it('refuses forged, stale, foreign, unsupported, oversized and malformed callbacks, and counts each', async () => {
    const time = Math.floor(Date.now() / 1000);
    const cases: Array<[string, Response, number]> = [
      [
        'bad_signature',
        await post({ ...signedQuery(), Sign: signCallback('wrong', time) }, stateChange('u000001')),
        401,
      ],
      ['stale_signature', await post(signedQuery(time - 3_600), stateChange('u000001')), 401],
      ['unknown_app', await post({ ...signedQuery(), SdkAppid: '1' }, stateChange('u000001')), 403],
      [
        'unsupported_command',
        await post({ ...signedQuery(), CallbackCommand: 'C2C.CallbackAfterSendMsg' }, stateChange('u000001')),
        400,
      ],
      ['too_large', await post(signedQuery(), 'x'.repeat(70_000)), 413],
      ['malformed', await post(signedQuery(), '{"CallbackCommand":"State.StateChange","Info":{}}'), 400],
      ['malformed', await post(signedQuery(), 'not json'), 400],
    ];
    for (const [outcome, response, status] of cases) {
      expect({ outcome, status: response.status }).toEqual({ outcome, status });
      const body = (await response.json()) as { ActionStatus: string; ErrorInfo: string };
      expect(body.ActionStatus).toBe('FAIL');
      expect(body.ErrorInfo).not.toContain(TOKEN);
      expect(await sample(metrics, 'presence_callbacks_total', { outcome })).toBeGreaterThan(0);
    }
  });

  it('keeps a storm of callbacks within the hint share of the cap, with no call over the cap', async () => {
    const app = String(sdkAppId());
    const calledBefore = await sample(metrics, 'presence_hints_total', { outcome: 'called' });
    simulator.resetStats();
    // 20,000 callbacks for 2,000 users, each user's twice in a row: duplicates merge in the queue; nothing waits
    // on the answers. Sent over 64 connections, as a sender's connection pool would: 2,000 sockets at once
    // overflowed the listen backlog or met a keep-alive close on a loaded machine (ECONNRESET), which says
    // nothing about the receiver.
    const ids = userIds(TRACKED).flatMap((id) => [id, id]);
    const pool = new Agent({ connections: 64 });
    onTeardown(() => pool.close());
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        ids.map(async (id) => {
          const { body } = await request(`${service.webhookUrl}?${new URLSearchParams(signedQuery())}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(stateChange(id)),
            dispatcher: pool,
          });
          await body.arrayBuffer();
        }),
      );
    }
    await waitFor(
      async () =>
        (await sample(metrics, 'presence_hints_total', { outcome: 'called' })) - calledBefore >= TRACKED,
      { timeoutMs: 60_000, description: 'a hint call for every stormed user' },
    );
    const stats = simulator.stats();
    expect(stats.rejectedOverCap).toBe(0);
    // The hint share: 20 % of 200 calls/s; a call takes at most 500 users, and nothing else is polling.
    expect(stats.apps[app]!.maxCallsInAnyWindow).toBeLessThanOrEqual(40);
    expect(await sample(metrics, 'presence_hints_total', { outcome: 'merged' })).toBeGreaterThan(0);
  }, 120_000);
});

describe('webhook role beside the sweeps', () => {
  it('loses, invents and reorders nothing when 30 % of callbacks are lost and the rest are duplicated or late', async () => {
    const metrics = createMetrics();
    const run = await startObservedPipeline({
      seed: 29,
      users: 600,
      simulator: {
        callbacks: {
          lossShare: 0.3,
          duplicateShare: 0.2,
          reorderShare: 0.2,
          delay: { minMs: 0, maxMs: 300 },
        },
      },
      service: { roles: ['scheduler', 'poller', 'relay', 'webhook'], metrics },
    });
    await run.waitForSnapshots(60_000);
    run.simulator.setCallbackTarget(run.config.apps[0]!.sdkAppId, { url: run.service!.webhookUrl! });
    for (let round = 0; round < 4; round++) {
      run.changeUsers(round, 6);
      await waitFor(() => run.compare().mismatches.length === 0, {
        timeoutMs: 60_000,
        description: `round ${round}: every change published, nothing else`,
      });
    }
    const report = run.compare();
    expect(report.outOfOrder).toEqual([]);
    expect(run.simulator.stats().callbacks.lost).toBeGreaterThan(0);
    // The hints really raced the sweeps: users were called about because of callbacks.
    expect(await sample(metrics, 'presence_hints_total', { outcome: 'called' })).toBeGreaterThan(0);
    expect(run.simulator.stats().rejectedOverCap).toBe(0);
  }, 300_000);
});

describe('webhook role with trustCallbacks', () => {
  it('publishes a fresh Login or Logout at once, the hint call confirms or corrects it, and a late one stays a hint', async () => {
    const simulator = await startTestSimulator({ seed: 13, population: { size: 600, notImportedShare: 0 } });
    const app = simulatorApp(simulator, { trustCallbacks: true, hintShare: 0.2 });
    const tracked = userIds(300);
    const config = testConfig([app], [{ name: 'all', userIds: tracked, intervalMs: HOUR_MS }]);
    const metrics = createMetrics();
    const service = await startTestService(config, {
      roles: ['scheduler', 'poller', 'relay', 'webhook'],
      metrics,
    });
    onTeardown(() => service.stop());
    const topic = config.kafka.topics.transitions;
    const collector = await collectRecords(testKafka(), [topic]);
    const laterEvents = (userId: string) =>
      collector.events(topic).filter((e) => e.userId === userId && e.kind !== 'snapshot');
    await waitFor(() => collector.events(topic).length >= tracked.length, {
      timeoutMs: 60_000,
      description: 'the first sweep',
    });

    const callback = (userId: string, action: 'Login' | 'Logout', eventTimeMs: number) =>
      fetch(
        `${service.webhookUrl}?${new URLSearchParams({
          SdkAppid: String(app.sdkAppId),
          CallbackCommand: 'State.StateChange',
          contenttype: 'json',
        })}`,
        {
          method: 'POST',
          body: JSON.stringify({
            CallbackCommand: 'State.StateChange',
            EventTime: eventTimeMs,
            Info: { Action: action, To_Account: userId, Reason: 'Register' },
            KickedDevice: [],
          }),
        },
      ).then((response) => expect(response.status).toBe(200));
    const stateOf = (userId: string) => simulator.getUserState(userId)!.state;
    const offline = tracked.filter((id) => stateOf(id) === 'Offline');
    const online = tracked.filter((id) => stateOf(id) === 'Online');
    const [confirmed, late] = offline as [string, string];
    const corrected = online[0]!;
    const calledBefore = await sample(metrics, 'presence_hints_total', { outcome: 'called' });

    // A true Login: published from the callback; the hint call then agrees, so nothing more.
    simulator.setUserState(confirmed, 'Online');
    await callback(confirmed, 'Login', Date.now());
    // A Logout Tencent sent although the user is back online: published, then corrected by the hint call.
    await callback(corrected, 'Logout', Date.now());
    // A Login that arrives 10 s after Tencent saw it: only a hint, and the call finds the user still offline.
    await callback(late, 'Login', Date.now() - 10_000);

    await waitFor(
      async () => (await sample(metrics, 'presence_hints_total', { outcome: 'called' })) - calledBefore >= 3,
      { timeoutMs: 30_000, description: 'hint calls for the three users' },
    );
    await waitFor(() => laterEvents(corrected).length >= 2, {
      timeoutMs: 30_000,
      description: 'the correction of the wrong Logout',
    });
    const shape = (e: PresenceEvent) => ({ from: e.from, to: e.to, detectedBy: e.detectedBy });
    expect(laterEvents(confirmed).map(shape)).toEqual([
      { from: 'Offline', to: 'Online', detectedBy: 'callback' },
    ]);
    expect(laterEvents(corrected).map(shape)).toEqual([
      { from: 'Online', to: 'Offline', detectedBy: 'callback' },
      { from: 'Offline', to: 'Online', detectedBy: 'hint' },
    ]);
    expect(laterEvents(late)).toEqual([]);
    const trusted = (outcome: string) =>
      sample(metrics, 'presence_trusted_callbacks_total', { sdk_app_id: String(app.sdkAppId), outcome });
    expect(await trusted('published')).toBe(2);
    expect(await trusted('too_old')).toBe(1);
    expect(await transitionsTimed(metrics, 'callback')).toBe(2);
  }, 180_000);
});
