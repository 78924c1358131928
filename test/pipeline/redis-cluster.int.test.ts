import type { PresenceEvent } from '@presence-poller/events';
import { Redis } from 'ioredis';
import { readFileSync, writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../src/cli/load.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { hashSlotOf, serversOf } from '../../src/redis/client.js';
import { judgeDurability, readDurabilitySettings } from '../../src/redis/durability.js';
import { appKeys } from '../../src/redis/keys.js';
import { readStatus } from '../../src/roles/status.js';
import { DEFAULT_SIMULATOR_APP } from '../../src/simulator/index.js';
import type { StatusReport } from '../../src/roles/status.js';
import type { PresenceState } from '../../src/tencent/types.js';
import { runCliProcess, startCli } from '../cli/cli-process.js';
import { writeConfigDir } from '../cli/config-dir.js';
import { compareWithGroundTruth } from '../helpers/ground-truth.js';
import { collectRecords } from '../helpers/kafka-events.js';
import {
  simulatorApp,
  startTestService,
  startTestSimulator,
  testConfig,
  userIds,
} from '../helpers/pipeline.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import type { RedisServer } from '../helpers/redis-server.js';
import { onTeardown, testKafka, uniqueName } from '../helpers/services.js';
import { spawnWorker } from '../helpers/spawn-worker.js';
import { waitFor } from '../helpers/wait-for.js';

const NEXT: Record<PresenceState, PresenceState> = {
  Online: 'Offline',
  Offline: 'PushOnline',
  PushOnline: 'Online',
};

describe('Redis Cluster: apps on different shards', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    onTeardown(() => cluster.destroy());
  });

  it('`run` with redis.cluster checks every node, publishes, and `status` reads the cluster', async () => {
    const users = userIds(600);
    const simulator = await startTestSimulator({
      seed: 62,
      population: { size: users.length, notImportedShare: 0 },
    });
    const dir = writeConfigDir(simulator.url, {
      all: `name: all\ninterval: 1s\nusers: [${users.join(', ')}]\n`,
    });
    const yaml = readFileSync(dir.configPath, 'utf8');
    expect(yaml).toMatch(/^ {2}url: /m);
    writeFileSync(
      dir.configPath,
      yaml.replace(/^ {2}url: .*$/m, `  cluster:\n    nodes: [${cluster.seeds.join(', ')}]`),
    );
    const env = { TENCENT_IM_SECRET_KEY: DEFAULT_SIMULATOR_APP.secretKey };

    const service = startCli(['run', '--config', dir.configPath], env);
    const [line] = await service.waitForOutput(/^.*presence-poller running.*$/m);
    const opsUrl = (JSON.parse(line) as { http: string }).http;
    const appStatus = async () => ((await (await fetch(`${opsUrl}/status`)).json()) as StatusReport).apps[0]!;
    await waitFor(
      async () => {
        const app = await appStatus();
        return (
          app.relay.holder !== null && app.watchlists[0]!.sweepsCompleted >= 2 && app.outbox.entries === 0
        );
      },
      { timeoutMs: 60_000, description: 'a relay holder, two sweeps and an empty outbox in /status' },
    );
    // Every node was judged durable: no durability warning.
    expect(service.stdout()).not.toMatch(/appendfsync|appendonly|maxmemory-policy/);

    const status = await runCliProcess(['status', '--json', '--config', dir.configPath], env);
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout) as StatusReport;
    expect(report.apps[0]!.watchlists[0]!.members).toBe(users.length);
    expect(report.apps[0]!.relay.holder).not.toBeNull();

    service.signal('SIGTERM');
    expect((await service.exited).code).toBe(0);
  });

  it('loses nothing and holds each cap through a SIGKILLed worker and a restarted shard master', async () => {
    // Two SDKAppIDs whose hash tags land on different masters; the first one's master is restarted below.
    const prefix = uniqueName('presence-cluster');
    const masterOfApp = (sdkAppId: number) => cluster.masterOf(hashSlotOf(appKeys(prefix, sdkAppId).tag));
    const appA = 1_400_000_001;
    let appB = appA + 1;
    while (masterOfApp(appB) === masterOfApp(appA)) appB++;
    const [masterA, masterB] = [masterOfApp(appA), masterOfApp(appB)];

    // Demand above the cap: 4 chunks a second per app against 3 calls a second, so the cap binds throughout.
    const cap = 3;
    const users = userIds(2_000);
    const simulator = await startTestSimulator({
      seed: 61,
      apps: [appA, appB].map((sdkAppId) => ({ ...DEFAULT_SIMULATOR_APP, sdkAppId, callsPerSecond: cap })),
      population: { size: users.length, notImportedShare: 0 },
      latency: { minMs: 20, maxMs: 60 },
    });
    // A wide margin, wider than cap-and-overlap.int.test.ts's 0.2: this process's event loop also stamps the
    // simulator's arrivals, and here it also runs the service and the cluster's restart, so a stall can stamp calls
    // a few hundred ms apart at the same moment. How close to the cap the pacer gets is measured by the benchmark.
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
    config.redis = { ...config.redis, prefix, cluster: { nodes: cluster.seeds } };

    // What `run` checks before it starts: every node is read, and these nodes keep everything.
    const probe = await connectRedis(config.redis);
    const durability = await readDurabilitySettings(probe);
    expect(durability.map((server) => server.server).sort()).toEqual(
      cluster.nodes.map((node) => `127.0.0.1:${node.port}`).sort(),
    );
    expect(durability.flatMap((server) => judgeDurability(server.settings))).toEqual([]);
    await probe.quit();

    const metrics = createMetrics();
    const service = await startTestService(config, { roles: ['scheduler', 'relay'], metrics });
    onTeardown(() => service.stop());
    const spawnPoller = () => spawnWorker(config, ['poller'], { PRESENCE_TEST_CONCURRENCY: '8' });
    const pollers = [await spawnPoller(), await spawnPoller()];

    const topic = config.kafka.topics.transitions;
    const collector = await collectRecords(testKafka(), [topic]);
    const publishedBy = (sdkAppId: number): PresenceEvent[] =>
      collector.events(topic).filter((event) => event.sdkAppId === sdkAppId);
    const states = new Map(users.map((id) => [id, simulator.getUserState(id)!.state]));
    const changeUsers = (round: number, step: number) => {
      const changed = users.filter((_, i) => i % step === round % step);
      for (const id of changed) simulator.setUserState(id, NEXT[simulator.getUserState(id)!.state]);
      return changed;
    };
    const published = (sdkAppId: number, changed: readonly string[]) => () => {
      const events = publishedBy(sdkAppId);
      return changed.every((id) =>
        events.some(
          (e) => e.userId === id && e.kind === 'transition' && e.to === simulator.getUserState(id)!.state,
        ),
      );
    };
    const waitForCalls = async (count: number, description: string) => {
      const target = simulator.stats().calls + count;
      await waitFor(() => simulator.stats().calls >= target, { timeoutMs: 20_000, description });
    };
    // What a failed wait after the restart needs to be understood: per app what arrived, what was called, what
    // Redis holds; and the pollers' last lines.
    const explain = async (error: Error): Promise<never> => {
      const status = await Promise.race([
        readStatus(config, service.apps[0]!.redis).then((report) => JSON.stringify(report.apps)),
        new Promise<string>((resolve) => setTimeout(() => resolve('status: no answer within 5 s'), 5_000)),
      ]);
      const calls = JSON.stringify(simulator.stats().apps);
      const counts = [appA, appB].map((sdkAppId) => `${sdkAppId}: ${publishedBy(sdkAppId).length} events`);
      const outputs = pollers.map((poller) => poller.output().split('\n').slice(-12).join('\n'));
      throw new Error(
        `${error.message}\n${counts.join(', ')}\ncalls ${calls}\nstatus ${status}\n${outputs.join('\n=====\n')}`,
      );
    };
    const connected = async (sdkAppId: number) => {
      const text = await metrics.registry.getSingleMetricAsString('presence_redis_connected');
      return new RegExp(`sdk_app_id="${sdkAppId}"} 1$`, 'm').test(text);
    };

    await waitFor(
      () => publishedBy(appA).length >= users.length && publishedBy(appB).length >= users.length,
      {
        timeoutMs: 90_000,
        description: 'the snapshots of both apps',
      },
    );
    simulator.resetStats();

    // A poller dies mid-sweep: its chunks are taken over, on both shards.
    const killed = changeUsers(0, 7);
    await waitForCalls(2, 'calls in flight');
    await pollers[0]!.kill();
    pollers[0] = await spawnPoller();
    await waitFor(() => published(appA, killed)() && published(appB, killed)(), {
      timeoutMs: 60_000,
      description: 'the changes observed around the SIGKILL, for both apps',
    });

    // App A's master crashes. App B, on another shard, goes on publishing meanwhile; its readiness and metrics say
    // its Redis is there while A's is not.
    await waitForCalls(2, 'calls in flight');
    await masterA.kill();
    const duringOutage = changeUsers(1, 7);
    await waitFor(published(appB, duringOutage), {
      timeoutMs: 60_000,
      description: `app B publishing while app A's master (port ${masterA.port}) is down`,
    }).catch(explain);
    await waitFor(async () => !(await connected(appA)) && (await connected(appB)), {
      timeoutMs: 20_000,
      description: 'presence_redis_connected 0 for app A only',
    });
    expect(service.health.readiness().dependencies?.[`redis:app-${appA}`]).not.toBe('ready');

    // It comes back with its AOF: app A publishes every change made while it was down, and then some.
    await masterA.start();
    await cluster.waitHealthy();
    await waitFor(published(appA, duringOutage), {
      timeoutMs: 90_000,
      description: "app A publishing the outage's changes after its master came back",
    }).catch(explain);
    const after = changeUsers(2, 7);
    await waitFor(() => published(appA, after)() && published(appB, after)(), {
      timeoutMs: 60_000,
      description: 'the changes after the restart, for both apps',
    }).catch(explain);
    // Killed, not stopped: what is checked below is already in Kafka. (A graceful stop of a poller that lived
    // through the master's restart can hang in BullMQ's Worker.close on the cluster connection; `run` then exits 1
    // at its shutdown deadline.)
    await Promise.all(pollers.map((poller) => poller.kill()));

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
    await expectKeysOnlyOf(masterA, prefix, appKeys(prefix, appA).tag);
    await expectKeysOnlyOf(masterB, prefix, appKeys(prefix, appB).tag);
    const status = await readStatus(config, service.apps[0]!.redis);
    expect(
      status.apps.map((app) => [app.sdkAppId, app.relay.holder !== null, app.watchlists[0]!.members]),
    ).toEqual([
      [appA, true, users.length],
      [appB, true, users.length],
    ]);
    expect(serversOf(service.apps[0]!.redis).length).toBeGreaterThanOrEqual(2);
  }, 400_000);
});

/** Of the keys under `prefix` (this test's), the node holds some, and only those of the app with `tag`. */
async function expectKeysOnlyOf(node: RedisServer, prefix: string, tag: string): Promise<void> {
  const client = new Redis(node.url);
  try {
    const keys = await client.keys(`{${prefix}:*`);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.filter((key) => !key.startsWith(tag))).toEqual([]);
  } finally {
    client.disconnect();
  }
}
