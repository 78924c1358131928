import type { PresenceEvent } from '@presence-poller/events';
import { describe, expect, it } from 'vitest';
import type { LoadedConfig } from '../../src/config/index.js';
import { appKeys, DEFAULT_STATE_BUCKETS, type AppKeys } from '../../src/redis/keys.js';
import { collectRecords } from '../helpers/kafka-events.js';
import { simulatorApp, startTestSimulator, testConfig, userIds } from '../helpers/pipeline.js';
import { testKafka, testRedis } from '../helpers/services.js';
import { spawnWorker, type WorkerProcess } from '../helpers/spawn-worker.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Several relay processes (real child processes, `--roles relay`) over an outbox of four shards, fencing on: the
 * shards spread over the processes, and every user's events reach Kafka once each, in order. The test writes the
 * outbox itself, so what it wrote is the ground truth.
 */
const SHARDS = 4;
const users = userIds(40);

async function shardedDeployment() {
  const simulator = await startTestSimulator({ seed: 5, population: { size: 10, notImportedShare: 0 } });
  const config: LoadedConfig = testConfig([simulatorApp(simulator)], []);
  config.redis.outboxShards = SHARDS;
  const sdkAppId = config.apps[0]!.sdkAppId;
  const keys = appKeys(config.redis.prefix, sdkAppId, DEFAULT_STATE_BUCKETS, SHARDS);
  const redis = testRedis();
  await redis.hset(keys.watchlistIds, { 1: JSON.stringify({ name: 'all' }) });
  const topic = config.kafka.topics.transitions;
  // After the first relay process started: it creates the topics.
  const collect = () => collectRecords(testKafka(), [topic]);
  return { config, keys, redis, topic, collect };
}

/** Appends event `seq` of every user to the user's shard, as the Lua scripts would. */
async function appendRound(redis: ReturnType<typeof testRedis>, keys: AppKeys, seq: number): Promise<void> {
  const pipeline = redis.pipeline();
  for (const user of users) {
    const observedAt = 1_764_000_000_000 + seq * 1_000;
    pipeline.xadd(
      keys.outboxShard(keys.outboxShardOf(user)),
      '*',
      ...['u', user, 'k', 'transition', 'f', seq % 2 ? 'F' : 'N', 't', seq % 2 ? 'N' : 'F', 's', String(seq)],
      ...['o', String(observedAt), 'p', String(observedAt - 1_000), 'w', '1', 'd', '', 'e', 'epoch1'],
    );
  }
  const results = (await pipeline.exec()) ?? [];
  for (const [error] of results) if (error) throw error;
}

/** The process (pid) holding each shard's lease, null for a shard without a holder. */
async function leaseHolders(
  redis: ReturnType<typeof testRedis>,
  keys: AppKeys,
): Promise<Array<number | null>> {
  const holders = await Promise.all(
    Array.from({ length: SHARDS }, (_, shard) => redis.get(keys.relayLeaseOf(shard))),
  );
  // A token is `<host>:<pid>:<random>`.
  return holders.map((token) => (token === null ? null : Number(token.split(':').at(-2))));
}

const pidOf = (worker: WorkerProcess) => worker.child.pid!;

/** Each user's published seqs, in the order a consumer received them. */
function seqsByUser(events: readonly PresenceEvent[]): Map<string, number[]> {
  const byUser = new Map<string, number[]>();
  for (const event of events) byUser.set(event.userId, [...(byUser.get(event.userId) ?? []), event.seq]);
  return byUser;
}

describe('relay processes sharing an outbox of several shards', () => {
  it('spread the shards (at most their fair share each) and publish every event once, each user in order', async () => {
    const { config, keys, redis, topic, collect } = await shardedDeployment();
    const workers = [];
    for (let i = 0; i < 3; i++) workers.push(await spawnWorker(config, ['relay']));
    const collector = await collect();
    const pids = workers.map(pidOf);
    // Three processes, four shards: at most ceil(4 / 3) = 2 each, so at least two processes publish.
    const holders = await waitFor(
      async () => {
        const held = await leaseHolders(redis, keys);
        if (held.some((pid) => pid === null || !pids.includes(pid))) return undefined;
        const most = Math.max(...pids.map((pid) => held.filter((holder) => holder === pid).length));
        return most <= 2 ? held : undefined;
      },
      { timeoutMs: 45_000, description: 'every shard held, no process beyond its fair share' },
    );
    expect(new Set(holders).size).toBeGreaterThanOrEqual(2);

    const rounds = 20;
    for (let seq = 1; seq <= rounds; seq++) await appendRound(redis, keys, seq);
    await waitFor(() => collector.events(topic).length >= users.length * rounds, {
      timeoutMs: 45_000,
      description: 'every event published',
    });
    // The trim follows Kafka's acknowledgement, so a consumer may see the last batch before its shard is trimmed.
    const shardLengths = () =>
      Promise.all(Array.from({ length: SHARDS }, (_, shard) => redis.xlen(keys.outboxShard(shard))));
    await waitFor(async () => (await shardLengths()).every((length) => length === 0), {
      timeoutMs: 45_000,
      description: 'every shard trimmed',
    });
    const byUser = seqsByUser(collector.events(topic));
    const expected = Array.from({ length: rounds }, (_, i) => i + 1);
    expect([...byUser.keys()].sort()).toEqual([...users].sort());
    for (const user of users) expect(byUser.get(user), user).toEqual(expected);
    expect(Number(await redis.hget(keys.relayState, 'published'))).toBe(users.length * rounds);
  }, 120_000);

  it('takes over the shards of a process killed mid-stream: nothing lost, a user’s order kept (repeats only of what was published)', async () => {
    const { config, keys, redis, topic, collect } = await shardedDeployment();
    const env = { PRESENCE_TEST_RELAY_LEASE_MS: '4000' };
    const victim = await spawnWorker(config, ['relay'], env);
    const survivor = await spawnWorker(config, ['relay'], env);
    const collector = await collect();
    await waitFor(
      async () => {
        const held = await leaseHolders(redis, keys);
        return (
          held.filter((pid) => pid === pidOf(victim)).length === 2 &&
          held.filter((pid) => pid === pidOf(survivor)).length === 2
        );
      },
      { timeoutMs: 45_000, description: 'two shards held by each process' },
    );

    const rounds = 30;
    for (let seq = 1; seq <= rounds / 2; seq++) await appendRound(redis, keys, seq);
    // Killed while its shards are still being published.
    await waitFor(() => collector.events(topic).length > 0, { description: 'publishing under way' });
    await victim.kill();
    for (let seq = rounds / 2 + 1; seq <= rounds; seq++) await appendRound(redis, keys, seq);

    await waitFor(async () => (await leaseHolders(redis, keys)).every((pid) => pid === pidOf(survivor)), {
      timeoutMs: 45_000,
      description: 'the survivor holding every shard',
    });
    const expected = Array.from({ length: rounds }, (_, i) => i + 1);
    const firstSeen = (seqs: number[]) => seqs.filter((seq, i) => seqs.indexOf(seq) === i);
    await waitFor(
      () => {
        const byUser = seqsByUser(collector.events(topic));
        return users.every((user) => firstSeen(byUser.get(user) ?? []).length === rounds);
      },
      { timeoutMs: 45_000, description: 'every event published' },
    );
    // The consumer contract: a repeat (same eventId, same seq) may follow a takeover, a gap or a reordering never.
    const byUser = seqsByUser(collector.events(topic));
    for (const user of users) {
      const seqs = byUser.get(user)!;
      expect(firstSeen(seqs), user).toEqual(expected);
      let highest = 0;
      for (const seq of seqs) {
        // A repeat goes back at most to what was already published, and the first copies are in order.
        expect(seq <= highest + 1, `${user}: ${seqs.join(',')}`).toBe(true);
        highest = Math.max(highest, seq);
      }
    }
  }, 150_000);
});
