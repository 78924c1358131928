import type { Producer } from 'kafkajs';
import type { LoadedConfig } from '../config/index.js';
import type { FlowEvents } from '../ops/flow-events.js';
import type { Logger } from '../ops/logger.js';
import { watchRedis } from '../ops/watch-redis.js';
import { createKafka, createProducer, ensureTopics } from '../relay/kafka.js';
import { createOutboxRelay } from '../relay/outbox-relay.js';
import { topicSpecs } from '../relay/topics.js';
import { createWatchlistRegistry } from '../state/watchlist-registry.js';
import type { AppRuntime } from './app-runtime.js';
import type { CloserStack } from './roles.js';

/** The process's Kafka producer for every app's relay, after the topics they need exist. */
export async function connectRelayProducer(
  config: LoadedConfig,
  logger: Logger,
  events: FlowEvents,
  closers: CloserStack,
): Promise<Producer> {
  const kafka = createKafka({ ...config.kafka, sasl: config.kafka.sasl }, logger);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const created = await ensureTopics(admin, topicSpecs(config), { create: config.kafka.createTopics });
    if (created.length > 0) logger.info({ topics: created }, 'created Kafka topics');
  } finally {
    await admin.disconnect();
  }
  const producer = createProducer(kafka, { compression: config.kafka.compression });
  producer.on(producer.events.CONNECT, () => events.emit('kafkaConnection', { connected: true }));
  producer.on(producer.events.DISCONNECT, () => events.emit('kafkaConnection', { connected: false }));
  events.emit('kafkaConnection', { connected: false });
  await producer.connect();
  closers.push(() => producer.disconnect());
  return producer;
}

/**
 * The relay role of one app: competes for the app's relay lease and, while it holds it, publishes the outbox to
 * Kafka in order. It gets connections of its own: behind the poller's chunk jobs on the shared one, every publish
 * would queue.
 */
export function startRelay(runtime: AppRuntime, producer: Producer, closers: CloserStack): void {
  const { app, config, keys, events, logger } = runtime;
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
      producer,
      events,
      logger,
    },
    {
      sdkAppId: app.sdkAppId,
      transitionsTopic: config.kafka.topics.transitions,
      stateTopic: config.kafka.topics.state,
    },
  );
  void relay.run().catch((error: unknown) => logger.error({ err: error }, 'relay stopped'));
  closers.push(() => relay.stop());
  runtime.relay = relay;
}
