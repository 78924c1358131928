import type { Kafka } from 'kafkajs';
import type { LoadedConfig } from '../config/index.js';
import type { Logger } from '../ops/logger.js';
import { watchRedis } from '../ops/watch-redis.js';
import { createOutageLog, type OutageLog } from '../ops/outage-log.js';
import { createKafka } from '../relay/kafka.js';
import { createOutboxRelay } from '../relay/outbox-relay.js';
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
 * The transactional id of an app's relay producer: the same in every process of the deployment (the Redis prefix
 * names the deployment), so the broker fences the producer of a relay that lost its lease.
 */
export function relayTransactionalId(config: LoadedConfig, sdkAppId: number): string {
  return `presence-relay.${config.redis.prefix}.${sdkAppId}`;
}

/**
 * The relay role of one app: competes for the app's relay lease and, while it holds it, publishes the outbox to
 * Kafka in order. It gets connections of its own: behind the poller's chunk jobs on the shared one, every publish
 * would queue.
 */
export async function startRelay(
  runtime: AppRuntime,
  relayKafka: RelayKafka,
  closers: CloserStack,
): Promise<void> {
  const { app, config, keys, events, logger } = runtime;
  const kafka = createProducerSession({
    kafka: relayKafka.kafka,
    initialTopics: topicSpecs(config),
    specOf: (topic) => topicSpecOf(config, topic),
    createTopics: config.kafka.createTopics,
    compression: config.kafka.compression,
    events,
    logger,
    outage: relayKafka.outage,
    transactionalId: config.kafka.fencing ? relayTransactionalId(config, app.sdkAppId) : undefined,
  });
  closers.push(() => kafka.close());
  // One attempt now: missing topics that the service may not create stop the start (exit 3); Kafka unreachable
  // does not (the relay connects when it can and the outbox buffers meanwhile).
  await kafka.tryConnect();
  const relayRedis = runtime.redis.duplicate();
  const blockingRedis = runtime.redis.duplicate();
  watchRedis(relayRedis, { name: 'relay', outage: runtime.redisOutage });
  watchRedis(blockingRedis, { name: 'relay-blocking', outage: runtime.redisOutage });
  closers.push(
    async () => blockingRedis.disconnect(),
    () => relayRedis.quit(),
  );
  const relay = createOutboxRelay(
    {
      redis: relayRedis,
      blockingRedis,
      keys,
      registry: createWatchlistRegistry(relayRedis, keys),
      kafka,
      events,
      logger,
    },
    {
      sdkAppId: app.sdkAppId,
      transitionsTopic: config.kafka.topics.transitions,
      stateTopic: config.kafka.topics.state,
      maxBatchBytes: config.kafka.maxBatchBytes,
      outboxWarnEntries: config.redis.outboxWarnEntries,
    },
  );
  void relay.run().catch((error: unknown) => logger.error({ err: error }, 'relay stopped'));
  closers.push(() => relay.stop());
  runtime.relay = relay;
}
