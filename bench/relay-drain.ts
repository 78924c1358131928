/**
 * The relay alone: fills an outbox with `--events` snapshot entries shaped as the Lua scripts write them, drains
 * it with the relay (nothing else running), then sends the same records with kafkajs alone. Isolates the relay's
 * own cost from the poller's; `npm run bench -- --only burst` measures the two together.
 *
 *   KAFKA_BROKERS=127.0.0.1:19092 npx tsx bench/relay-drain.ts [--events 100000] [--fencing]
 *     [--snapshot-priority low]   (the snapshots in the low-priority stream, as `redis.snapshotPriority: low` writes)
 *     [--read-entries 4000]        (outbox entries per relay read; the relay's default when absent)
 *     [--wait-for-replicas 1]      (that many replicas of the private Redis, and the relay's redis.waitForReplicas)
 *
 * Not part of `npm run bench`; figures in BENCHMARKS.md ("Relay bursts").
 */
import { Redis } from 'ioredis';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { createFlowEvents } from '../src/ops/flow-events.js';
import { createSilentLogger } from '../src/ops/logger.js';
import { createOutageLog } from '../src/ops/outage-log.js';
import { appKeys, DEFAULT_STATE_BUCKETS } from '../src/redis/keys.js';
import { createKafka } from '../src/relay/kafka.js';
import { createOutboxRelay } from '../src/relay/outbox-relay.js';
import { createProducerSession } from '../src/relay/producer-session.js';
import { createWatchlistRegistry } from '../src/state/watchlist-registry.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { benchKafka } from './latency.js';
import { runRawClient } from './scenarios.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' },
    fencing: { type: 'boolean', default: false },
    'snapshot-priority': { type: 'string', default: 'normal' },
    'read-entries': { type: 'string' },
    'wait-for-replicas': { type: 'string', default: '0' },
  },
});
const low = values['snapshot-priority'] === 'low';
const events = Number(values.events);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const logger = createSilentLogger();
const sdkAppId = 1_400_000_000;
const id = Math.random().toString(36).slice(2, 8);
const topics = { transitions: `drain-${id}.transitions`, state: `drain-${id}.state` };
const keys = appKeys(`drain-${id}`, sdkAppId, DEFAULT_STATE_BUCKETS, 1, low ? 'low' : 'normal');
// Where the scripts put a snapshot: the low-priority stream (with its user's field in the hash) or the outbox.
const stream = low ? keys.lowOutboxShard(0) : keys.outbox;

const waitForReplicas = Number(values['wait-for-replicas']);
if (!Number.isInteger(waitForReplicas) || waitForReplicas < 0 || waitForReplicas > 16) {
  throw new Error(`--wait-for-replicas must be an integer from 0 to 16, not ${values['wait-for-replicas']}`);
}
const server = await startRedisServer({ appendOnly: false });
const replicas: Array<Awaited<ReturnType<typeof startRedisServer>>> = [];
const redis = new Redis(server.url, { maxRetriesPerRequest: null });
try {
  for (let i = 0; i < waitForReplicas; i++) {
    replicas.push(
      await startRedisServer({
        appendOnly: false,
        extraArgs: ['--replicaof', '127.0.0.1', String(server.port)],
      }),
    );
  }
  // Every replica in sync before the outbox is filled: the drain then measures WAIT, not a first full sync.
  const online = async () =>
    (await redis.info('replication')).match(/^slave\d+:.*state=online/gm)?.length ?? 0;
  for (const deadline = Date.now() + 30_000; (await online()) < waitForReplicas; await sleep(50)) {
    if (Date.now() > deadline) throw new Error(`fewer than ${waitForReplicas} replicas in sync after 30 s`);
  }
  await redis.hset(keys.watchlistIds, '1', JSON.stringify({ name: 'everyone' }));
  const epoch = Date.now().toString(36);
  for (let from = 0; from < events; from += 10_000) {
    const pipeline = redis.pipeline();
    const users: string[] = [];
    for (let i = from; i < Math.min(events, from + 10_000); i++) {
      const user = `u${String(i).padStart(7, '0')}`;
      users.push(user);
      pipeline.xadd(
        stream,
        '*',
        ...['u', user, 'k', 'snapshot', 'f', '', 't', 'N'],
        ...['s', '1', 'o', String(Date.now()), 'p', '0', 'w', '1', 'd', '', 'e', epoch],
      );
    }
    const ids = ((await pipeline.exec()) ?? []).map(([, entryId]) => String(entryId));
    if (low)
      await redis.hset(keys.lowPendingOf(0), Object.fromEntries(users.map((user, i) => [user, ids[i]])));
  }
  const rows = (await redis.xrange(stream, '-', '+')) as Array<[string, string[]]>;

  const kafka = createKafka({ brokers, clientId: `drain-${id}` }, logger);
  const spec = (topic: string) => ({
    topic,
    numPartitions: 12,
    replicationFactor: 1,
    cleanupPolicy: topic === topics.state ? ('compact' as const) : ('delete' as const),
  });
  const session = createProducerSession({
    kafka,
    initialTopics: [spec(topics.transitions), spec(topics.state)],
    specOf: spec,
    createTopics: true,
    compression: 'none',
    events: createFlowEvents(),
    logger,
    outage: createOutageLog({ logger, dependency: 'kafka' }),
    transactionalId: values.fencing ? `drain-${id}` : undefined,
  });
  await session.tryConnect();
  await session.connected(new AbortController().signal);
  const blocking = redis.duplicate();
  const relay = createOutboxRelay(
    {
      redis,
      blockingRedis: blocking,
      keys,
      registry: createWatchlistRegistry(redis, keys),
      kafka: session,
      events: createFlowEvents(),
      logger,
    },
    {
      sdkAppId,
      transitionsTopic: topics.transitions,
      stateTopic: topics.state,
      batchSize: values['read-entries'] === undefined ? undefined : Number(values['read-entries']),
      waitForReplicas,
    },
  );
  const started = performance.now();
  void relay.run();
  while ((await redis.xlen(stream)) > 0) await sleep(20);
  const relaySeconds = (performance.now() - started) / 1000;
  await relay.stop();
  await session.close();
  const kafkaClient = benchKafka(brokers);

  // The same records, sent by kafkajs alone.
  const raw = await runRawClient(kafkaClient, sdkAppId, topics, 'everyone', rows);
  const relayRate = events / relaySeconds;
  const rawRate = raw.eventsPerSecond;
  console.log(
    `${events} events${low ? ' (low priority)' : ''}, ${raw.batches + 1} batches, fencing ${values.fencing ? 'on' : 'off'}, reads of ${values['read-entries'] ?? 'default'}, waitForReplicas ${waitForReplicas}: relay ${relayRate.toFixed(0)}/s, ` +
      `raw kafkajs ${rawRate.toFixed(0)}/s, relay/raw ${(relayRate / rawRate).toFixed(2)}`,
  );
} finally {
  await redis.quit();
  await Promise.all(replicas.map((replica) => replica.destroy()));
  await server.destroy();
}
