import { describe, expect, it } from 'vitest';
import { createTencentClient } from '../../src/tencent/index.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import type { PresenceState } from '../../src/tencent/types.js';
import { compareWithGroundTruth } from '../helpers/ground-truth.js';
import { collectRecords } from '../helpers/kafka-events.js';
import { simulatorApp, startTestService, testConfig } from '../helpers/pipeline.js';
import { onTeardown, testKafka } from '../helpers/services.js';
import { spawnWorker } from '../helpers/spawn-worker.js';
import { waitFor } from '../helpers/wait-for.js';

const ids = (count: number) => Array.from({ length: count }, (_, i) => `u${String(i).padStart(6, '0')}`);
const NEXT: Record<PresenceState, PresenceState> = {
  Online: 'Offline',
  Offline: 'PushOnline',
  PushOnline: 'Online',
};

async function simulatorWith(options: Parameters<typeof startSimulator>[0]): Promise<Simulator> {
  const simulator = await startSimulator(options);
  onTeardown(() => simulator.close());
  return simulator;
}

function initialStates(simulator: Simulator, userIds: string[]): Map<string, PresenceState> {
  const states = new Map<string, PresenceState>();
  for (const id of userIds) {
    const user = simulator.getUserState(id);
    if (user?.imported) states.set(id, user.state);
  }
  return states;
}

/** Moves every `step`-th imported user (offset by round) to its next state: each round changes distinct users. */
function changeUsers(simulator: Simulator, userIds: string[], round: number, step = 7): string[] {
  const changed = userIds.filter(
    (id, i) => i % step === round % step && simulator.getUserState(id)?.imported,
  );
  for (const id of changed) simulator.setUserState(id, NEXT[simulator.getUserState(id)!.state]);
  return changed;
}

describe('reliability: nothing lost, invented or reordered', () => {
  it('loses no transition when a worker process is SIGKILLed mid-sweep, again and again', async () => {
    const simulator = await simulatorWith({
      seed: 11,
      population: { size: 3_000, notImportedShare: 0 },
      latency: { minMs: 40, maxMs: 120 },
    });
    const users = ids(3_000);
    const config = testConfig([simulatorApp(simulator)], [{ name: 'all', userIds: users }]);
    const states = initialStates(simulator, users);
    const service = await startTestService(config, { roles: ['scheduler', 'relay'] });
    onTeardown(() => service.stop());
    const collector = await collectRecords(testKafka(), [config.kafka.topics.transitions]);
    const published = () => collector.events(config.kafka.topics.transitions);

    let worker = await spawnWorker(config, ['poller'], { PRESENCE_TEST_CONCURRENCY: '8' });
    await waitFor(() => published().length >= states.size, {
      timeoutMs: 60_000,
      description: 'the snapshots',
    });

    for (let round = 0; round < 3; round++) {
      const changed = changeUsers(simulator, users, round);
      // Kill while the sweep that observes these changes is in flight.
      const calls = simulator.stats().calls;
      await waitFor(() => simulator.stats().calls >= calls + 2 + round, {
        timeoutMs: 20_000,
        description: 'calls in flight',
      });
      await worker.kill();
      worker = await spawnWorker(config, ['poller'], { PRESENCE_TEST_CONCURRENCY: '8' });
      await waitFor(
        () =>
          changed.every((id) =>
            published().some(
              (e) => e.userId === id && e.to === simulator.getUserState(id)!.state && e.kind === 'transition',
            ),
          ),
        { timeoutMs: 60_000, description: `round ${round}: every change published after the kill` },
      );
    }
    await worker.stop();

    const report = compareWithGroundTruth(states, simulator.changeLog(), published());
    expect(report.mismatches).toEqual([]);
    expect(report.outOfOrder).toEqual([]);
    expect(report.compared).toBe(states.size + 3 * Math.ceil(3_000 / 7) - 0 * 1);
  });

  it('keeps every transition made while Kafka is down for 30 s and delivers them in order afterwards', async () => {
    const { startKafkaBroker } = await import('../helpers/kafka-broker.js');
    const broker = await startKafkaBroker();
    onTeardown(() => broker.destroy());
    const simulator = await simulatorWith({ seed: 12, population: { size: 1_000, notImportedShare: 0 } });
    const users = ids(1_000);
    const config = testConfig([simulatorApp(simulator)], [{ name: 'all', userIds: users }]);
    config.kafka.brokers = broker.brokers;
    const states = initialStates(simulator, users);
    const service = await startTestService(config);
    onTeardown(() => service.stop());
    const collector = await collectRecords(testKafka(broker.brokers), [config.kafka.topics.transitions]);
    const published = () => collector.events(config.kafka.topics.transitions);
    await waitFor(() => published().length >= states.size, {
      timeoutMs: 30_000,
      description: 'the snapshots',
    });

    await broker.stop();
    const outage = Date.now();
    const changed: string[] = [];
    // Two rounds of changes while the broker is down, each observed by the poller into the outbox.
    for (let round = 0; round < 2; round++) {
      changed.push(...changeUsers(simulator, users, round, 5));
      const calls = simulator.stats().calls;
      await waitFor(() => simulator.stats().calls >= calls + 4, {
        timeoutMs: 10_000,
        description: 'a sweep during the outage',
      });
    }
    const redis = service.apps[0]!.redis;
    await waitFor(async () => (await redis.xlen(service.apps[0]!.keys.outbox)) >= changed.length, {
      timeoutMs: 10_000,
      description: 'the outage transitions held in the outbox',
    });
    await new Promise((r) => setTimeout(r, Math.max(0, 30_000 - (Date.now() - outage))));
    await broker.start();

    await waitFor(() => published().length >= states.size + changed.length, {
      timeoutMs: 60_000,
      description: 'the backlog',
    });
    const report = compareWithGroundTruth(states, simulator.changeLog(), published());
    expect(report.mismatches).toEqual([]);
    expect(report.outOfOrder).toEqual([]);
    expect(await redis.xlen(service.apps[0]!.keys.outbox)).toBe(0);
  }, 180_000);

  it('loses no transition when Redis (AOF on) is killed and restarted mid-run', async () => {
    const { startRedisServer } = await import('../helpers/redis-server.js');
    const redisServer = await startRedisServer({ appendOnly: true });
    onTeardown(() => redisServer.destroy());
    const simulator = await simulatorWith({
      seed: 15,
      population: { size: 1_000, notImportedShare: 0 },
      latency: { minMs: 20, maxMs: 60 },
    });
    const users = ids(1_000);
    const config = testConfig([simulatorApp(simulator)], [{ name: 'all', userIds: users }], redisServer.url);
    const states = initialStates(simulator, users);
    const service = await startTestService(config);
    onTeardown(() => service.stop());
    const collector = await collectRecords(testKafka(), [config.kafka.topics.transitions]);
    const published = () => collector.events(config.kafka.topics.transitions);
    await waitFor(() => published().length >= states.size, {
      timeoutMs: 30_000,
      description: 'the snapshots',
    });

    const changed = changeUsers(simulator, users, 0, 4);
    const calls = simulator.stats().calls;
    await waitFor(() => simulator.stats().calls >= calls + 1, {
      timeoutMs: 10_000,
      description: 'a sweep in flight',
    });
    await redisServer.kill();
    await redisServer.start();
    changed.push(...changeUsers(simulator, users, 1, 4));

    await waitFor(() => published().length >= states.size + changed.length, {
      timeoutMs: 60_000,
      description: 'every change',
    });
    const report = compareWithGroundTruth(states, simulator.changeLog(), published());
    expect(report.mismatches).toEqual([]);
    expect(report.outOfOrder).toEqual([]);
  }, 120_000);

  it('publishes a chunk retried after a client timeout once, with no duplicate and no reordering', async () => {
    const simulator = await simulatorWith({ seed: 13, population: { size: 500, notImportedShare: 0 } });
    const users = ids(500);
    const config = testConfig([simulatorApp(simulator)], [{ name: 'all', userIds: users }]);
    const states = initialStates(simulator, users);
    const service = await startTestService(config, {
      createClient: (app) => createTencentClient({ ...app, timeoutMs: 1_000, unsafeAllowShortTimeout: true }),
    });
    onTeardown(() => service.stop());
    const collector = await collectRecords(testKafka(), [config.kafka.topics.transitions]);
    const published = () => collector.events(config.kafka.topics.transitions);
    await waitFor(() => published().length >= states.size, {
      timeoutMs: 30_000,
      description: 'the snapshots',
    });

    const changed = changeUsers(simulator, users, 0, 3);
    // The next call answers only after the client gave up; the retry must carry the same changes once.
    simulator.injectFaults({ kind: 'timeout', delayMs: 1_500 }, { kind: 'timeout', delayMs: 1_500 });
    await waitFor(() => published().length >= states.size + changed.length, {
      timeoutMs: 30_000,
      description: 'the changes',
    });
    const calls = simulator.stats().calls;
    await waitFor(() => simulator.stats().calls >= calls + 3, {
      timeoutMs: 10_000,
      description: 'later sweeps',
    });

    const report = compareWithGroundTruth(states, simulator.changeLog(), published());
    expect(report.mismatches).toEqual([]);
    expect(report.outOfOrder).toEqual([]);
    expect(report.duplicates).toBe(0);
    expect(published()).toHaveLength(states.size + changed.length);
  });

  it('turns failed calls (502, retryable codes, malformed bodies, resets, rate limits) into retries, never into events', async () => {
    const simulator = await simulatorWith({ seed: 14, population: { size: 1_500, notImportedShare: 0 } });
    const users = ids(1_500);
    const config = testConfig([simulatorApp(simulator)], [{ name: 'all', userIds: users }]);
    const states = initialStates(simulator, users);
    simulator.setFaultRates({
      http502: 0.15,
      retryable: 0.15,
      malformed: 0.15,
      reset: 0.1,
      'rate-limit': 0.1,
    });
    const service = await startTestService(config, { chunkAttempts: 20 });
    onTeardown(() => service.stop());
    const collector = await collectRecords(testKafka(), [config.kafka.topics.transitions]);
    const published = () => collector.events(config.kafka.topics.transitions);

    await waitFor(() => published().length >= states.size, {
      timeoutMs: 30_000,
      description: 'the snapshots',
    });
    const faultsBefore = simulator.stats().faultsInjected;
    await waitFor(() => simulator.stats().faultsInjected >= faultsBefore + 10, {
      timeoutMs: 30_000,
      description: 'more faults',
    });

    // Nobody changed, so exactly one snapshot per user and nothing else — in particular no false Offline.
    expect(published().map((e) => e.kind)).toEqual(Array(states.size).fill('snapshot'));
    expect(published().every((e) => e.to === states.get(e.userId))).toBe(true);
  });
});
