import {
  CompressionTypes,
  Kafka,
  Partitioners,
  logLevel,
  type Admin,
  type KafkaConfig,
  type Producer,
  type SASLOptions,
} from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from '../ops/logger.js';

/**
 * The only module that knows kafkajs (2.2.4, unmaintained since 2023): swapping clients later touches this file.
 * Tested against Apache Kafka 3.9 and 4.1 brokers.
 */

/** TLS material, already read from its files (PEM). */
export interface KafkaTlsSettings {
  /** CAs that verify the brokers; absent for the system CAs. */
  ca?: Buffer | undefined;
  /** Client certificate and its key for mutual TLS. */
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
  rejectUnauthorized: boolean;
}

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  /** `undefined`: plaintext. */
  tls?: KafkaTlsSettings | undefined;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
}

/** Batch compression the service can produce with kafkajs alone (no codec package). */
export type KafkaCompression = 'none' | 'gzip';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  /** -1 takes the broker's `default.replication.factor`. */
  replicationFactor: number;
  /** `compact` for the current-state topic (latest value per user, tombstones delete). */
  cleanupPolicy?: 'delete' | 'compact';
}

/**
 * Thrown by `ensureTopics` when topic creation is off and topics are missing: a deployment problem that retrying
 * does not fix, so it names every missing topic at once.
 */
export class MissingTopicsError extends Error {
  override readonly name = 'MissingTopicsError';
  readonly code = 'PRESENCE_KAFKA_MISSING_TOPICS';
  /** The missing topics, in the order they were asked for. */
  readonly topics: readonly string[];

  constructor(topics: readonly string[]) {
    super(
      `Kafka topic${topics.length === 1 ? '' : 's'} missing: ${topics.join(', ')}. kafka.createTopics is false, so ` +
        'the service does not create them: create them (the state topic with cleanup.policy=compact) or set ' +
        'kafka.createTopics: true',
    );
    this.topics = [...topics];
  }
}

/** The kafkajs client configuration for `settings` (exported so tests can inspect what reaches the client). */
export function buildKafkaConfig(settings: KafkaSettings, logger: Logger): KafkaConfig {
  return {
    brokers: settings.brokers,
    clientId: settings.clientId,
    ssl: settings.tls ? tlsOptionsOf(settings.tls) : false,
    ...(settings.sasl ? { sasl: settings.sasl as SASLOptions } : {}),
    connectionTimeout: 3_000,
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => {
      const { message, ...extra } = entry.log;
      logger.debug({ kafka: extra, namespace: entry.namespace }, message);
    },
  };
}

/** A kafkajs client for `settings`. */
export function createKafka(settings: KafkaSettings, logger: Logger): Kafka {
  return new Kafka(buildKafkaConfig(settings, logger));
}

function tlsOptionsOf(tls: KafkaTlsSettings): ConnectionOptions {
  return {
    rejectUnauthorized: tls.rejectUnauthorized,
    ...(tls.ca ? { ca: [tls.ca] } : {}),
    ...(tls.cert ? { cert: tls.cert } : {}),
    ...(tls.key ? { key: tls.key } : {}),
  };
}

/** The kafkajs codec for a configured compression; for callers that build their own send requests. */
export function compressionCodecOf(compression: KafkaCompression): CompressionTypes {
  return compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
}

/**
 * Idempotent, acks=-1 producer with the murmur2 partitioner (the Java client's), one request in flight: with
 * kafkajs, concurrent sends under idempotence can lose messages, so the relay sends one batch at a time.
 * `compression` applies to every `send` and `sendBatch` that does not name a codec itself, so the relay needs no
 * knowledge of it (a transaction's sends name it themselves). With `transactionalId` the producer can run
 * transactions, and a newer producer with the same id fences it at the broker.
 */
export function createProducer(
  kafka: Kafka,
  options: { compression?: KafkaCompression; transactionalId?: string | undefined } = {},
): Producer {
  const producer = kafka.producer({
    ...(options.transactionalId === undefined ? {} : { transactionalId: options.transactionalId }),
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5_000 },
  });
  const compression = compressionCodecOf(options.compression ?? 'none');
  if (compression === CompressionTypes.None) return producer;
  return {
    ...producer,
    send: (record) => producer.send({ compression, ...record }),
    sendBatch: (batch) => producer.sendBatch({ compression, ...batch }),
  };
}

/**
 * Makes sure every topic of `specs` exists. With `create` (the default) the missing ones are created with explicit
 * partitions, replication and cleanup policy, and their names returned; existing ones are left as they are.
 * Without it nothing is created and a `MissingTopicsError` names every missing topic.
 */
export async function ensureTopics(
  admin: Admin,
  specs: readonly TopicSpec[],
  options: { create?: boolean } = {},
): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !existing.has(spec.topic));
  if (missing.length === 0) return [];
  if (options.create === false) throw new MissingTopicsError(missing.map((spec) => spec.topic));
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((spec) => ({
      topic: spec.topic,
      numPartitions: spec.numPartitions,
      replicationFactor: spec.replicationFactor,
      configEntries: spec.cleanupPolicy === 'compact' ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
    })),
  });
  return missing.map((spec) => spec.topic);
}

/** Broker error types that mean "this batch or record is larger than the topic or broker accepts". */
const TOO_LARGE_TYPES = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/**
 * Whether a send failed because a record or the batch is too large: not retriable as it is, only smaller. kafkajs
 * wraps the broker's error (KafkaJSNonRetriableError, with the protocol error as `cause`), so the chain is searched.
 */
export function isTooLargeError(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 10; depth++) {
    if (typeof current !== 'object') return false;
    const { type, cause, originalError } = current as {
      type?: unknown;
      cause?: unknown;
      originalError?: unknown;
    };
    if (typeof type === 'string' && TOO_LARGE_TYPES.has(type)) return true;
    current = cause ?? originalError;
  }
  return false;
}
