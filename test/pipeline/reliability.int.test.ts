import { describe, expect, it } from 'vitest';
import { createTencentClient } from '../../src/tencent/index.js';
import { startKafkaBroker } from '../helpers/kafka-broker.js';
import { startObservedPipeline } from '../helpers/observed-pipeline.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { onTeardown } from '../helpers/services.js';
import { spawnWorker } from '../helpers/spawn-worker.js';
import { waitFor } from '../helpers/wait-for.js';

describe('reliability: nothing lost, invented or reordered', () => {
  it('loses no transition when a worker process is SIGKILLed mid-sweep, again and again', async () => {
    const run = await startObservedPipeline({
      seed: 11,
      users: 3_000,
      simulator: { latency: { minMs: 40, maxMs: 120 } },
      service: { roles: ['scheduler', 'relay'] },
    });
    const spawnPoller = () => spawnWorker(run.config, ['poller'], { PRESENCE_TEST_CONCURRENCY: '8' });
    let worker = await spawnPoller();
    await run.waitForSnapshots(60_000);

    for (let round = 0; round < 3; round++) {
      const changed = run.changeUsers(round, 7);
      // Kill while the sweep that observes these changes is in flight.
      await run.waitForCalls(2 + round, 'calls in flight');
      await worker.kill();
      worker = await spawnPoller();
      await waitFor(
        () =>
          changed.every((id) =>
            run
              .published()
              .some(
                (e) =>
                  e.userId === id &&
                  e.kind === 'transition' &&
                  e.to === run.simulator.getUserState(id)!.state,
              ),
          ),
        { timeoutMs: 60_000, description: `round ${round}: every change published after the kill` },
      );
    }
    await worker.stop();

    const report = run.compare();
    expect(report.mismatches).toEqual([]);
    expect(report.outOfOrder).toEqual([]);
    expect(report.compared).toBe(3_000 + 3 * Math.ceil(3_000 / 7));
  });

  it('keeps every transition made while Kafka is down for 30 s and delivers them in order afterwards', async () => {
    const broker = await startKafkaBroker();
    onTeardown(() => broker.destroy());
    const run = await startObservedPipeline({ seed: 12, users: 1_000, kafkaBrokers: broker.brokers });
    const { redis, keys } = run.service!.apps[0]!;
    await run.waitForSnapshots();

    await broker.stop();
    const outageStarted = Date.now();
    const changed: string[] = [];
    // Two rounds of changes while the broker is down, each observed by the poller into the outbox.
    for (let round = 0; round < 2; round++) {
      changed.push(...run.changeUsers(round, 5));
      await run.waitForCalls(4, 'a sweep during the outage', 10_000);
    }
    await waitFor(async () => (await redis.xlen(keys.outbox)) >= changed.length, {
      timeoutMs: 10_000,
      description: 'the outage transitions held in the outbox',
    });
    await new Promise((r) => setTimeout(r, Math.max(0, 30_000 - (Date.now() - outageStarted))));
    await broker.start();

    await waitFor(() => run.published().length >= run.states.size + changed.length, {
      timeoutMs: 60_000,
      description: 'the backlog',
    });
    const report = run.compare();
    expect(report.mismatches).toEqual([]);
    expect(report.outOfOrder).toEqual([]);
    expect(await redis.xlen(keys.outbox)).toBe(0);
  }, 180_000);

  it('loses no transition when Redis (AOF on) is killed and restarted mid-run', async () => {
    const redisServer = await startRedisServer({ appendOnly: true });
    onTeardown(() => redisServer.destroy());
    const run = await startObservedPipeline({
      seed: 15,
      users: 1_000,
      simulator: { latency: { minMs: 20, maxMs: 60 } },
      redisUrl: redisServer.url,
    });
    await run.waitForSnapshots();

    const changed = run.changeUsers(0, 4);
    await run.waitForCalls(1, 'a sweep in flight');
    await redisServer.kill();
    await redisServer.start();
    changed.push(...run.changeUsers(1, 4));

    await waitFor(() => run.published().length >= run.states.size + changed.length, {
      timeoutMs: 60_000,
      description: 'every change',
    });
    const report = run.compare();
    expect(report.mismatches).toEqual([]);
    expect(report.outOfOrder).toEqual([]);
  }, 120_000);

  it('publishes a chunk retried after a client timeout once, with no duplicate and no reordering', async () => {
    const run = await startObservedPipeline({
      seed: 13,
      users: 500,
      service: {
        createClient: (app, transport) =>
          createTencentClient({ ...app, transport, timeoutMs: 1_000, unsafeAllowShortTimeout: true }),
      },
    });
    await run.waitForSnapshots();

    const changed = run.changeUsers(0, 3);
    // The next calls answer only after the client gave up; the retry must carry the same changes once.
    run.simulator.injectFaults({ kind: 'timeout', delayMs: 1_500 }, { kind: 'timeout', delayMs: 1_500 });
    await waitFor(() => run.published().length >= run.states.size + changed.length, {
      timeoutMs: 30_000,
      description: 'the changes',
    });
    await run.waitForCalls(3, 'later sweeps', 10_000);

    const report = run.compare();
    expect(report.mismatches).toEqual([]);
    expect(report.outOfOrder).toEqual([]);
    expect(report.duplicates).toBe(0);
    expect(run.published()).toHaveLength(run.states.size + changed.length);
  });

  it('turns failed calls (502, retryable codes, malformed bodies, resets, rate limits) into retries, never into events', async () => {
    const run = await startObservedPipeline({
      seed: 14,
      users: 1_500,
      simulator: {
        faultRates: { http502: 0.15, retryable: 0.15, malformed: 0.15, reset: 0.1, 'rate-limit': 0.1 },
      },
      service: { chunkAttempts: 20 },
    });
    await run.waitForSnapshots();
    const faultsBefore = run.simulator.stats().faultsInjected;
    await waitFor(() => run.simulator.stats().faultsInjected >= faultsBefore + 10, {
      timeoutMs: 30_000,
      description: 'more faults',
    });

    // Nobody changed, so exactly one snapshot per user and nothing else — in particular no false Offline.
    expect(run.published().map((e) => e.kind)).toEqual(Array(run.states.size).fill('snapshot'));
    expect(run.published().every((e) => e.to === run.states.get(e.userId))).toBe(true);
  });
});
