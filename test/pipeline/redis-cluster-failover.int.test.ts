import type { PresenceEvent } from '@presence-poller/events';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/ops/logger.js';
import { hashSlotOf } from '../../src/redis/client.js';
import { appKeys } from '../../src/redis/keys.js';
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
import { ask, roleOf, startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import type { RedisServer } from '../helpers/redis-server.js';
import { onTeardown, testKafka } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

const PREFIX = 'presence';

/** Nodes a test killed: later tests deploy their app on a shard without them. */
const killed = new Set<RedisServer>();
async function kill(node: RedisServer): Promise<void> {
  killed.add(node);
  await node.kill();
}

describe("Redis Cluster with replicas: a replica takes over its master's shard while the service runs", () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster(3, { replicas: 1 });
    onTeardown(() => cluster.destroy());
  });

  it('loses, invents, reorders and repeats nothing through a planned failover (CLUSTER FAILOVER), and holds the cap', async () => {
    const { slot, master, replica, run } = await deployApp(cluster, 1_400_000_011, 64);
    const before = await run.changeWhileCalling(0);
    // The planned failover: the replica catches up with its master, which holds writes meanwhile, then the two swap
    // roles; the service's commands follow the slot to the new master.
    expect(await ask(replica, (client) => client.call('CLUSTER', 'FAILOVER'))).toBe('OK');
    await waitFor(async () => (await roleOf(replica)) === 'master' && (await roleOf(master)) === 'slave', {
      timeoutMs: 30_000,
      intervalMs: 100,
      description: 'the replica promoted and the master turned replica',
    });
    await run.waitSlotServedBy(slot, replica);

    await run.waitPublished(before, 'the changes made around the failover');
    const after = run.change(1);
    await run.waitPublished(after, 'the changes made after the failover');

    const report = run.report();
    expect(report.mismatches).toEqual([]);
    expect(report.outOfOrder).toEqual([]);
    expect(report.compared).toBe(run.users.length + before.length + after.length);
    // The new master had every write: nothing was published twice.
    expect(report.duplicates).toBe(0);
    run.expectCapHeld();
    // The app's keys now live on the promoted replica, and its readiness is back.
    expect((await ask(replica, (client) => client.keys(`${run.tag}*`))).length).toBeGreaterThan(0);
    await run.waitReady();
    await run.stop();
  }, 180_000);

  it('with redis.waitForReplicas 1 publishes nothing its replica lacks: the same failover repeats no event', async () => {
    // Before the test that kills a master for good: this one brings its master back.
    const { master, run } = await deployApp(cluster, 1_400_000_031, 66, {
      waitForReplicas: 1,
    });
    // Nothing in flight when the replica stops: every snapshot published and trimmed, the replica at the master's
    // offset (a trim it missed would publish a batch again after the failover).
    await waitFor(
      async () => {
        const offset = /master_repl_offset:(\d+)/.exec(
          await ask(master, (client) => client.info('replication')),
        );
        if ((await ask(master, (client) => client.xlen(run.outbox))) > 0) return false;
        const acked = /slave0:.*offset=(\d+)/.exec(await ask(master, (client) => client.info('replication')));
        return Number(acked?.[1]) >= Number(offset?.[1]);
      },
      { timeoutMs: 30_000, intervalMs: 100, description: 'the outbox empty and the replica in sync' },
    );
    await run.cutOffReplica();
    const before = run.change(0);
    // The master takes the changes' diffs alone; no replica acknowledges them, so the relay holds them back.
    const heldBefore = run.batchesHeld();
    await waitFor(
      async () =>
        run.batchesHeld() >= heldBefore + 2 &&
        (await ask(master, (client) => client.xlen(run.outbox))) >= before.length,
      { timeoutMs: 30_000, description: "every change's diff on the master, and its batch held back" },
    );
    expect(run.anyPublished(before)).toBe(false);
    await run.takeOverFromDeadMaster();

    // The promoted replica has no replica of its own: the relay holds every batch until one is back. The old master
    // restarts and rejoins as its replica (it resyncs, its own last writes are dropped). The held diffs died with it;
    // the next sweeps observe the changes again, and each is published once.
    await master.start();
    await waitFor(async () => (await roleOf(master)) === 'slave', {
      timeoutMs: 30_000,
      intervalMs: 100,
      description: 'the old master back as a replica',
    });
    await run.waitPublished(before, 'the changes, observed again after the failover', 60_000);
    const after = run.change(1);
    await run.waitPublished(after, 'the changes made after the failover', 60_000);
    await waitFor(run.redisHoldsTruth, { timeoutMs: 60_000, description: "every user's state in Redis" });

    const report = run.report();
    expect(report.mismatches).toEqual([]);
    expect(report.outOfOrder).toEqual([]);
    expect(report.compared).toBe(run.users.length + before.length + after.length);
    expect(report.duplicates).toBe(0);
    await run.stop();
  }, 180_000);

  it('publishes every change, in order, when a master dies with writes its replica never got', async () => {
    const { run } = await deployApp(cluster, 1_400_000_021, 65);
    // The diffs of the changes made now, their outbox entries and the relay's trims after publishing them reach the
    // master only.
    await run.cutOffReplica();
    const before = run.change(0);
    await run.waitPublished(before, 'the changes, published from the master while its replica is stopped');
    await run.takeOverFromDeadMaster();

    const after = run.change(1);
    await run.waitPublished(after, 'the changes made after the failover', 60_000);
    // The lost diffs are observed again by the next sweeps: Redis holds every user's state again, and what was
    // published twice went out under the same eventId (a repeat consumers drop), never as a new event.
    await waitFor(run.redisHoldsTruth, {
      timeoutMs: 60_000,
      description: "every user's state back in Redis",
    });
    expect(run.report().duplicates).toBeGreaterThan(0);

    const report = run.report();
    expect(report.mismatches).toEqual([]);
    expect(report.outOfOrder).toEqual([]);
    expect(report.compared).toBe(run.users.length + before.length + after.length);
    await run.waitReady();
  }, 180_000);
});

/**
 * One app on the cluster, at the cap, with the whole service in this process: snapshots published, then the
 * tools a failover test needs. The app's master and its replica are those of the app's slot now.
 */
async function deployApp(
  cluster: RedisCluster,
  firstSdkAppId: number,
  seed: number,
  { waitForReplicas = 0 } = {},
) {
  // The first SDKAppID from `firstSdkAppId` whose shard has a master and a replica that no earlier test killed.
  await cluster.refreshSlots();
  const shardOf = (id: number) => {
    const master = cluster.masterOf(hashSlotOf(appKeys(PREFIX, id).tag));
    let replica: RedisServer | undefined;
    try {
      replica = cluster.replicaOf(master);
    } catch {
      return undefined; // a promoted replica whose master is gone
    }
    return killed.has(master) || killed.has(replica) ? undefined : { master, replica };
  };
  let sdkAppId = firstSdkAppId;
  while (!shardOf(sdkAppId)) sdkAppId++;
  const tag = appKeys(PREFIX, sdkAppId).tag;
  const slot = hashSlotOf(tag);
  const { master, replica } = shardOf(sdkAppId)!;

  // Demand above the cap (4 chunks a second against 3 calls a second): calls wait for slots throughout.
  const cap = 3;
  const users = userIds(2_000);
  const simulator = await startTestSimulator({
    seed,
    apps: [{ ...DEFAULT_SIMULATOR_APP, sdkAppId, callsPerSecond: cap }],
    population: { size: users.length, notImportedShare: 0 },
    latency: { minMs: 20, maxMs: 60 },
  });
  // A wide margin, as in redis-cluster-restart.int.test.ts: the simulator stamps arrivals on this process's event
  // loop, which also runs the whole service.
  const app = simulatorApp(simulator, { sdkAppId, name: 'app', callsPerSecond: cap, callMargin: 0.35 });
  const config = testConfig([app], [{ name: 'all', userIds: users, app: app.name, sdkAppId }]);
  // Every node as a seed, replicas included: the client finds the masters itself.
  config.redis = { ...config.redis, prefix: PREFIX, cluster: { nodes: cluster.seeds }, waitForReplicas };

  const log = captureLogLines();
  const service = await startTestService(config, {
    logger: createLogger({ level: 'info', destination: log.stream }),
  });
  let held = 0;
  service.events.on('publishHeld', () => held++);
  onTeardown(() => service.stop());

  const topic = config.kafka.topics.transitions;
  const collector = await collectRecords(testKafka(), [topic]);
  const published = (): PresenceEvent[] => collector.events(topic);
  const states = new Map(users.map((id) => [id, simulator.getUserState(id)!.state]));
  const admitted = () => simulator.stats().apps[String(sdkAppId)]?.admitted ?? 0;
  const explain = (error: Error): never => {
    throw new Error(
      `${error.message}\n${published().length} events; calls ${JSON.stringify(simulator.stats().apps)}\n` +
        `service log:\n${log.rawLines().slice(-20).join('\n')}`,
    );
  };
  const change = (round: number): string[] => changeUsers(simulator, users, round, 7);

  await waitFor(() => published().length >= users.length, {
    timeoutMs: 60_000,
    description: 'the snapshots',
  }).catch(explain);
  simulator.resetStats();

  const run = {
    users,
    tag,
    change,
    /** Changes users, then waits until calls are under way: the failover that follows meets them in flight. */
    async changeWhileCalling(round: number): Promise<string[]> {
      const changed = change(round);
      const calls = admitted();
      await waitFor(() => admitted() >= calls + 2, { timeoutMs: 20_000, description: 'calls in flight' });
      return changed;
    },
    async waitPublished(changed: readonly string[], description: string, timeoutMs = 30_000): Promise<void> {
      const done = () => {
        const events = published();
        return changed.every((id) =>
          events.some(
            (e) => e.userId === id && e.kind === 'transition' && e.to === simulator.getUserState(id)!.state,
          ),
        );
      };
      await waitFor(done, { timeoutMs, description }).catch(explain);
    },
    report: () => compareWithGroundTruth(states, simulator.changeLog(), published()),
    expectCapHeld(): void {
      const stats = simulator.stats().apps[String(sdkAppId)]!;
      expect(stats.rejectedOverCap).toBe(0);
      expect(stats.maxCallsInAnyWindow).toBeLessThanOrEqual(cap);
      expect(stats.admitted).toBeGreaterThan(0);
    },
    /** Until the cluster's slot map (as a node that answers sees it) gives the slot to `node`. */
    async waitSlotServedBy(slot: number, node: RedisServer): Promise<void> {
      await waitFor(
        async () => {
          await cluster.refreshSlots();
          return cluster.masterOf(slot) === node;
        },
        { timeoutMs: 30_000, intervalMs: 100, description: `slot ${slot} served by port ${node.port}` },
      );
    },
    stop: () => service.stop(),
    /**
     * Stops the replica (SIGSTOP) and has the master drop it at its next write (an output buffer limit of one byte
     * for replicas; a stopped replica would otherwise still get what fits in its socket's kernel buffer): from now on
     * the master's writes reach it no more.
     */
    async cutOffReplica(): Promise<void> {
      replica.pause();
      await ask(master, (client) => client.config('SET', 'client-output-buffer-limit', 'replica 1 1 0'));
    },
    /** The master dies; the replica takes the slots over as it is (TAKEOVER: no vote, no catch-up). */
    async takeOverFromDeadMaster(): Promise<void> {
      await kill(master);
      replica.resume();
      expect(await ask(replica, (client) => client.call('CLUSTER', 'FAILOVER', 'TAKEOVER'))).toBe('OK');
      await waitFor(async () => (await roleOf(replica)) === 'master', {
        timeoutMs: 30_000,
        intervalMs: 100,
        description: 'the replica promoted after its master died',
      });
      await run.waitSlotServedBy(slot, replica);
    },
    /** The app's outbox stream (one shard). */
    outbox: appKeys(PREFIX, sdkAppId).outbox,
    /** Times the relay held a batch back for want of a replica (redis.waitForReplicas). */
    batchesHeld: () => held,
    /** Whether any event of these users' current states was published. */
    anyPublished(changed: readonly string[]): boolean {
      return published().some(
        (e) =>
          changed.includes(e.userId) &&
          e.kind === 'transition' &&
          e.to === simulator.getUserState(e.userId)!.state,
      );
    },
    /** Whether the app's Redis holds each user's state as the simulator has it. */
    async redisHoldsTruth(): Promise<boolean> {
      const stored = await service.apps[0]!.stateStore.readStates(users);
      return stored.every((record, i) => record?.state === simulator.getUserState(users[i]!)!.state);
    },
    async waitReady(): Promise<void> {
      await waitFor(() => service.health.readiness().dependencies?.['redis:app'] === 'ready', {
        timeoutMs: 20_000,
        description: "the app's Redis ready",
      });
    },
  };
  return { slot, master, replica, run };
}
