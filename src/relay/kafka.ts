import { Kafka, Partitioners, logLevel, type Admin, type Producer, type SASLOptions } from 'kafkajs';
import type { Logger } from '../ops/logger.js';

/**
 * The only module that knows kafkajs (2.2.4, unmaintained since 2023): swapping clients later touches this file.
 */
export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  ssl: boolean;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
}

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  /** `compact` for the current-state topic (latest value per user, tombstones delete). */
  cleanupPolicy?: 'delete' | 'compact';
}

export function createKafka(settings: KafkaSettings, logger: Logger): Kafka {
  return new Kafka({
    brokers: settings.brokers,
    clientId: settings.clientId,
    ssl: settings.ssl,
    ...(settings.sasl ? { sasl: settings.sasl as SASLOptions } : {}),
    connectionTimeout: 3_000,
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => {
      const { message, ...extra } = entry.log;
      logger.debug({ kafka: extra, namespace: entry.namespace }, message);
    },
  });
}

/**
 * Idempotent, acks=-1 producer with the murmur2 partitioner (the Java client's), one request in flight: with
 * kafkajs, concurrent sends under idempotence can lose messages, so the relay sends one batch at a time.
 */
export function createProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5_000 },
  });
}

/** Creates the missing topics with explicit partitions and replication; existing ones are left as they are. */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !existing.has(spec.topic));
  if (missing.length === 0) return [];
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
