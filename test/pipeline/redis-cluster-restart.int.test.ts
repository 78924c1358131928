import type { PresenceEvent } from '@presence-poller/events';
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/ops/logger.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { hashSlotOf } from '../../src/redis/client.js';
import { appKeys } from '../../src/redis/keys.js';
import { readStatus } from '../../src/roles/status.js';
import { DEFAULT_SIMULATOR_APP } from '../../src/simulator/index.js';
import { captureLogLines } from '../ops/log-lines.js';
import { compareWithGroundTruth } from '../helpers/ground-truth.js';
import { collectRecords } from '../helpers/kafka-events.js';
import {
  changeUsers,
  simulatorApp,
  startTestService,
  startTestSimulator,
  testConfig,
  userIds,
} from '../helpers/pipeline.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import type { RedisServer } from '../helpers/redis-server.js';
import { onTeardown, testKafka } from '../helpers/services.js';
import { spawnWorker, type WorkerProcess } from '../helpers/spawn-worker.js';
import { waitFor } from '../helpers/wait-for.js';

/** The configured prefix: an app's hash tag is then `presence:<sdkAppId>`, as in production. */
const PREFIX = 'presence';

describe('Redis Cluster: two apps on two shards, a SIGKILLed poller and a restarted shard master', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    onTeardown(() => cluster.destroy());
  });

  it('loses, invents and reorders nothing, holds each cap, shows and heals the outage on its app only', async () => {
    // Two SDKAppIDs whose hash tags the cluster itself places on different masters; A's master is restarted.
    const slotOf = async (sdkAppId: number) => {
      const tag = appKeys(PREFIX, sdkAppId).tag.slice(1, -1);
      expect(tag).toBe(`presence:${sdkAppId}`);
      const slot = await ask(cluster.nodes[0]!, (c) => c.call('CLUSTER', 'KEYSLOT', tag) as Promise<number>);
      expect(slot).toBe(hashSlotOf(appKeys(PREFIX, sdkAppId).tag));
      return slot;
    };
    const appA = 1_400_000_001;
    const masterA = cluster.masterOf(await slotOf(appA));
    let appB = appA + 1;
    while (cluster.masterOf(await slotOf(appB)) === masterA) appB++;
    const masterB = cluster.masterOf(await slotOf(appB));

    // Demand above the cap: 4 chunks a second per app against 3 calls a second, so the cap binds throughout.
    const cap = 3;
    const users = userIds(2_000);
    const simulator = await startTestSimulator({
      seed: 63,
      apps: [appA, appB].map((sdkAppId) => ({ ...DEFAULT_SIMULATOR_APP, sdkAppId, callsPerSecond: cap })),
      population: { size: users.length, notImportedShare: 0 },
      latency: { minMs: 20, maxMs: 60 },
    });
    // A wide margin (as cap-and-overlap.int.test.ts): the simulator stamps arrivals on this process's event loop,
    // which also runs the scheduler, the relay and the cluster's restart. The benchmark measures how close it gets.
    const apps = [appA, appB].map((sdkAppId) =>
      simulatorApp(simulator, { sdkAppId, name: `app-${sdkAppId}`, callsPerSecond: cap, callMargin: 0.35 }),
    );
    const config = testConfig(
      apps,
      apps.map((app) => ({
        name: `all-${app.sdkAppId}`,
        userIds: users,
        app: app.name,
        sdkAppId: app.sdkAppId,
      })),
    );
    config.redis = { ...config.redis, prefix: PREFIX, cluster: { nodes: cluster.seeds } };

    // Scheduler and relay here (their outage log, readiness and metrics are read below); pollers in two processes.
    const metrics = createMetrics();
    const log = captureLogLines();
    const service = await startTestService(config, {
      roles: ['scheduler', 'relay'],
      metrics,
      logger: createLogger({ level: 'info', destination: log.stream }),
    });
    onTeardown(() => service.stop());
    const spawnPoller = () => spawnWorker(config, ['poller'], { PRESENCE_TEST_CONCURRENCY: '8' });
    const pollers: WorkerProcess[] = await Promise.all([spawnPoller(), spawnPoller()]);

    const topic = config.kafka.topics.transitions;
    const collector = await collectRecords(testKafka(), [topic]);
    const publishedBy = (sdkAppId: number): PresenceEvent[] =>
      collector.events(topic).filter((event) => event.sdkAppId === sdkAppId);
    const states = new Map(users.map((id) => [id, simulator.getUserState(id)!.state]));
    const changeRound = (round: number, step: number) => changeUsers(simulator, users, round, step);
    const published = (sdkAppId: number, changed: readonly string[]) => () => {
      const events = publishedBy(sdkAppId);
      return changed.every((id) =>
        events.some(
          (e) => e.userId === id && e.kind === 'transition' && e.to === simulator.getUserState(id)!.state,
        ),
      );
    };
    const callsOf = (sdkAppId: number) => simulator.stats().apps[String(sdkAppId)]?.admitted ?? 0;
    const waitForCalls = async (sdkAppId: number, count: number, description: string) => {
      const target = callsOf(sdkAppId) + count;
      await waitFor(() => callsOf(sdkAppId) >= target, { timeoutMs: 20_000, description });
    };
    // What a failed wait needs to be understood: per app what arrived and was called, what Redis holds, the logs.
    const explain = async (error: Error): Promise<never> => {
      const status = await Promise.race([
        readStatus(config, service.apps[0]!.redis).then((report) => JSON.stringify(report.apps)),
        new Promise<string>((resolve) => setTimeout(() => resolve('status: no answer within 5 s'), 5_000)),
      ]);
      const counts = [appA, appB].map((sdkAppId) => `${sdkAppId}: ${publishedBy(sdkAppId).length} events`);
      const outputs = pollers.map((poller) => poller.output().split('\n').slice(-15).join('\n'));
      throw new Error(
        `${error.message}\n${counts.join(', ')}\ncalls ${JSON.stringify(simulator.stats().apps)}\n` +
          `status ${status}\nservice log:\n${log.rawLines().slice(-15).join('\n')}\n` +
          `pollers:\n${outputs.join('\n=====\n')}`,
      );
    };
    const connected = async (sdkAppId: number) => {
      const text = await metrics.registry.getSingleMetricAsString('presence_redis_connected');
      return new RegExp(`sdk_app_id="${sdkAppId}"} 1$`, 'm').test(text);
    };
    const redisDependency = (sdkAppId: number) =>
      service.health.readiness().dependencies?.[`redis:app-${sdkAppId}`];
    const outageLines = (sdkAppId: number) =>
      log.lines().filter((line) => line.app === String(sdkAppId) && line.dependency === 'redis');

    await waitFor(
      () => publishedBy(appA).length >= users.length && publishedBy(appB).length >= users.length,
      { timeoutMs: 60_000, description: 'the snapshots of both apps' },
    ).catch(explain);
    simulator.resetStats();

    // A poller dies mid-sweep: its chunks are taken over by the other, on both shards.
    const killed = changeRound(0, 7);
    await waitForCalls(appA, 2, 'calls in flight');
    await pollers[0]!.kill();
    await waitFor(() => published(appA, killed)() && published(appB, killed)(), {
      timeoutMs: 30_000,
      description: 'the changes made around the SIGKILL, for both apps',
    }).catch(explain);

    // A's master crashes (SIGKILL; its AOF fsyncs every write). B, on another shard, goes on publishing meanwhile;
    // readiness and metrics say A's Redis is down and B's is not.
    expect(outageLines(appA)).toEqual([]);
    await waitForCalls(appA, 2, 'calls in flight');
    await masterA.kill();
    const downAt = Date.now();
    const duringOutage = changeRound(1, 7);
    await waitFor(published(appB, duringOutage), {
      timeoutMs: 20_000,
      description: `app B publishing while app A's master (port ${masterA.port}) is down`,
    }).catch(explain);
    await waitFor(async () => !(await connected(appA)) && (await connected(appB)), {
      timeoutMs: 10_000,
      description: 'presence_redis_connected 0 for app A only',
    }).catch(explain);
    expect(redisDependency(appA)).not.toBe('ready');
    expect(redisDependency(appB)).toBe('ready');
    expect(outageLines(appA).map((line) => line.outage)).toContain('started');
    expect(published(appA, duringOutage)()).toBe(false);
    // Down for several seconds, a few sweeps' worth, but less than a command's retries (redis/client.ts).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 5_000 - (Date.now() - downAt))));

    // It comes back with its AOF: app A publishes every change made while it was down, and later ones.
    await masterA.start();
    await cluster.waitHealthy();
    await waitFor(published(appA, duringOutage), {
      timeoutMs: 40_000,
      description: "app A publishing the outage's changes after its master came back",
    }).catch(explain);
    const after = changeRound(2, 7);
    await waitFor(() => published(appA, after)() && published(appB, after)(), {
      timeoutMs: 30_000,
      description: 'the changes after the restart, for both apps',
    }).catch(explain);
    await waitFor(async () => (await connected(appA)) && redisDependency(appA) === 'ready', {
      timeoutMs: 10_000,
      description: "app A's Redis connected and ready again",
    }).catch(explain);
    expect(outageLines(appA).map((line) => line.outage)).toEqual(['started', 'ended']);
    expect(outageLines(appB)).toEqual([]);

    // The poller that lived through the restart stops gracefully, in bounded time.
    const stopping = Date.now();
    await pollers[1]!.stop();
    expect(pollers[1]!.child.exitCode).toBe(0);
    expect(Date.now() - stopping).toBeLessThan(15_000);

    for (const sdkAppId of [appA, appB]) {
      const report = compareWithGroundTruth(states, simulator.changeLog(), publishedBy(sdkAppId));
      expect(report.mismatches, `app ${sdkAppId}`).toEqual([]);
      expect(report.outOfOrder, `app ${sdkAppId}`).toEqual([]);
      expect(report.compared).toBe(users.length + killed.length + duringOutage.length + after.length);
      const calls = simulator.stats().apps[String(sdkAppId)]!;
      expect(calls.rejectedOverCap, `app ${sdkAppId}`).toBe(0);
      expect(calls.maxCallsInAnyWindow, `app ${sdkAppId}`).toBeLessThanOrEqual(cap);
      expect(calls.admitted).toBeGreaterThan(0);
    }

    // Each app lives on its own shard: every key on a master belongs to the app whose tag that master holds.
    await expectKeysOnlyOf(masterA, appKeys(PREFIX, appA).tag);
    await expectKeysOnlyOf(masterB, appKeys(PREFIX, appB).tag);
  }, 180_000);
});

async function ask<T>(node: RedisServer, command: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(node.url, { maxRetriesPerRequest: 0 });
  try {
    return await command(client);
  } finally {
    client.disconnect();
  }
}

/** Of this test's keys, the node holds some, and only those of the app with `tag`. */
async function expectKeysOnlyOf(node: RedisServer, tag: string): Promise<void> {
  const keys = await ask(node, (client) => client.keys(`{${PREFIX}:*`));
  expect(keys.length).toBeGreaterThan(0);
  expect(keys.filter((key) => !key.startsWith(tag))).toEqual([]);
}
