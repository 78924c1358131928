import type { Kafka } from 'kafkajs';
import type { LoadedConfig } from '../config/index.js';
import type { Logger } from '../ops/logger.js';
import { watchRedis } from '../ops/watch-redis.js';
import { createOutageLog, type OutageLog } from '../ops/outage-log.js';
import { createKafka } from '../relay/kafka.js';
import { createOutboxRelay } from '../relay/outbox-relay.js';
import { createRelayGroup } from '../relay/relay-group.js';
import { createProducerSession } from '../relay/producer-session.js';
import { topicSpecOf, topicSpecs } from '../relay/topics.js';
import { createWatchlistRegistry } from '../state/watchlist-registry.js';
import type { AppRuntime } from './app-runtime.js';
import type { CloserStack } from './roles.js';

/** What every app's relay in a process shares: one Kafka client and one outage log for Kafka. */
export interface RelayKafka {
  kafka: Kafka;
  outage: OutageLog;
}

export function createRelayKafka(
  config: LoadedConfig,
  logger: Logger,
  outageSummaryIntervalMs?: number,
): RelayKafka {
  return {
    kafka: createKafka({ ...config.kafka, sasl: config.kafka.sasl }, logger),
    outage: createOutageLog({
      logger,
      dependency: 'kafka',
      ...(outageSummaryIntervalMs ? { summaryIntervalMs: outageSummaryIntervalMs } : {}),
    }),
  };
}

/**
 * The transactional id of the relay producer of an app's outbox shard: the same in every process of the deployment
 * (the Redis prefix names the deployment), so the broker fences the producer of a relay that lost the shard's
 * lease. A single outbox keeps the id it had before shards.
 */
export function relayTransactionalId(config: LoadedConfig, sdkAppId: number, shard = 0): string {
  const id = `presence-relay.${config.redis.prefix}.${sdkAppId}`;
  return config.redis.outboxShards === 1 ? id : `${id}.${shard}`;
}

export interface RelayRoleOptions {
  /**
   * The relay leases' time: a relay renews its leases every third of it, and a dead process's shards are taken over
   * after it. Default 10 s (tests shorten it).
   */
  relayLeaseMs?: number;
}

const DEFAULT_RELAY_LEASE_MS = 10_000;

/**
 * The relay role of one app: competes for the relay leases of the app's outbox shards (a fair share of them, see
 * relay/relay-group.ts) and publishes each shard it holds to Kafka in order. It gets connections of its own: behind
 * the poller's chunk jobs on the shared one, every publish would queue. Each shard has its own producer (with
 * fencing, its own transactional id) and its own blocking connection (XREAD waits for the shard's next entry).
 */
export async function startRelay(
  runtime: AppRuntime,
  relayKafka: RelayKafka,
  closers: CloserStack,
  options: RelayRoleOptions = {},
): Promise<void> {
  const { app, config, keys, events, logger } = runtime;
  const leaseMs = options.relayLeaseMs ?? DEFAULT_RELAY_LEASE_MS;
  const producerOf = (shard: number) => {
    const session = createProducerSession({
      kafka: relayKafka.kafka,
      initialTopics: topicSpecs(config),
      specOf: (topic) => topicSpecOf(config, topic),
      createTopics: config.kafka.createTopics,
      compression: config.kafka.compression,
      events,
      logger,
      outage: relayKafka.outage,
      transactionalId: config.kafka.fencing ? relayTransactionalId(config, app.sdkAppId, shard) : undefined,
    });
    closers.push(() => session.close());
    return session;
  };
  const producers = Array.from({ length: keys.outboxShards }, (_, shard) => producerOf(shard));
  // One attempt now: missing topics that the service may not create stop the start (exit 3); Kafka unreachable
  // does not (the relay connects when it can and the outbox buffers meanwhile).
  await producers[0]!.tryConnect();
  const relayRedis = runtime.redis.duplicate();
  watchRedis(relayRedis, { name: 'relay', outage: runtime.redisOutage, key: keys.tag });
  closers.push(() => relayRedis.quit());
  const registry = createWatchlistRegistry(relayRedis, keys);
  // One warning a minute for the app, however many shards this process publishes.
  const outboxWarnings = { lastAt: 0 };
  const relay = createRelayGroup(
    { redis: relayRedis, keys, logger },
    { app: String(app.sdkAppId), leaseMs },
    (shard, share) => {
      const blockingRedis = runtime.redis.duplicate();
      watchRedis(blockingRedis, { name: 'relay-blocking', outage: runtime.redisOutage, key: keys.tag });
      closers.push(async () => blockingRedis.disconnect());
      return createOutboxRelay(
        {
          redis: relayRedis,
          blockingRedis,
          keys,
          registry,
          kafka: producers[shard]!,
          events,
          logger,
          share,
          outboxWarnings,
        },
        {
          sdkAppId: app.sdkAppId,
          shard,
          transitionsTopic: config.kafka.topics.transitions,
          stateTopic: config.kafka.topics.state,
          maxBatchBytes: config.kafka.maxBatchBytes,
          lingerMs: config.kafka.lingerMs,
          waitForReplicas: config.redis.waitForReplicas,
          outboxWarnEntries: config.redis.outboxWarnEntries,
          leaseMs,
        },
      );
    },
  );
  void relay.run().catch((error: unknown) => logger.error({ err: error }, 'relay stopped'));
  closers.push(() => relay.stop());
  runtime.relay = relay;
}
