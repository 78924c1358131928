import type { Kafka, Producer, TopicMessages } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FlowEvents } from '../ops/flow-events.js';
import type { Logger } from '../ops/logger.js';
import { messageOf, type OutageLog } from '../ops/outage-log.js';
import {
  compressionCodecOf,
  createProducer,
  ensureTopics,
  MissingTopicsError,
  type KafkaCompression,
  type TopicSpec,
} from './kafka.js';

/**
 * The Kafka producer of one app's relay, connected when Kafka can be reached rather than at start: the service
 * starts and polls with Kafka down (the outbox buffers), and the relay waits here until a producer is connected.
 * Topics are ensured before their first use, including topics that a reloaded watchlist brings.
 */
export interface ProducerSession {
  /**
   * One attempt, for start-up, to ensure the configured topics: resolves whether Kafka answered. Throws only a
   * `MissingTopicsError` (topics the service may not create are missing: a deployment error to report at once).
   * It connects no producer: with fencing, connecting one fences the app's current relay, so only the lease holder
   * connects (in `connected`).
   */
  tryConnect(): Promise<boolean>;
  /**
   * The connected producer, connecting first (with backoff) when needed; `undefined` once `signal` aborts.
   * `onRetry` runs after each failed attempt (the relay reports its liveness there while Kafka is down).
   */
  connected(signal: AbortSignal, onRetry?: () => void): Promise<Producer | undefined>;
  /**
   * Sends one batch with acks=-1, as `requests` one after the other (each a `sendBatch`, kept under the batch byte
   * cap). Fenced (a transactional id): all of them inside one transaction, committed or aborted, so a producer
   * fenced by a newer holder of the same id can never land any of it, and the transaction's round trips are paid
   * once per batch rather than once per request.
   */
  send(producer: Producer, requests: TopicMessages[][]): Promise<void>;
  /** Makes sure `topics` exist (created with `specOf` unless creation is off); each is checked once. */
  ensureTopics(topics: readonly string[]): Promise<void>;
  /**
   * Drops the producer; the next `connected` makes a new one. For a failed send that may have partly landed: the
   * idempotent producer's sequence numbers no longer match the broker's, and only a new producer id resets them.
   */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export interface ProducerSessionOptions {
  kafka: Kafka;
  /** The topics known from the configuration at start (ensured on the first connection). */
  initialTopics: readonly TopicSpec[];
  /** The spec of a topic first met in a batch (a watchlist's own topic added by a reload). */
  specOf(topic: string): TopicSpec;
  createTopics: boolean;
  compression: KafkaCompression;
  events: FlowEvents;
  logger: Logger;
  /** Kafka's outage log: a start, summaries and an end line instead of a line per attempt. */
  outage: OutageLog;
  /**
   * Transactional id of the app's relay producer (`kafka.fencing`): the same in every process of the app, so a
   * new lease holder's producer fences the old one's at the broker. Absent: an idempotent producer, unfenced.
   */
  transactionalId?: string | undefined;
  /** Longest wait between connection attempts. Default 5 s. */
  maxBackoffMs?: number;
}

const SOURCE = 'producer';

export function createProducerSession(options: ProducerSessionOptions): ProducerSession {
  const { kafka, events, logger, outage, maxBackoffMs = 5_000 } = options;
  const known = new Set<string>();
  const compression = compressionCodecOf(options.compression);
  let producer: Producer | undefined;
  let connecting: Promise<Producer> | undefined;

  async function ensure(specs: readonly TopicSpec[]): Promise<void> {
    const missing = specs.filter((spec) => !known.has(spec.topic));
    if (missing.length === 0) return;
    // Few retries: the caller has its own backoff, and a start with Kafka down should not wait long here.
    const admin = kafka.admin({ retry: { retries: 1, initialRetryTime: 200, maxRetryTime: 1_000 } });
    await admin.connect();
    try {
      const created = await ensureTopics(admin, missing, { create: options.createTopics });
      if (created.length > 0) logger.info({ topics: created }, 'created Kafka topics');
    } catch (error) {
      if (error instanceof MissingTopicsError) throw error;
      const names = missing.map((spec) => spec.topic).join(', ');
      throw new Error(`could not ensure Kafka topic(s) ${names}: ${messageOf(error)}`, { cause: error });
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    for (const spec of missing) known.add(spec.topic);
  }

  async function connectOnce(): Promise<Producer> {
    await ensure(options.initialTopics);
    const next = createProducer(kafka, {
      compression: options.compression,
      transactionalId: options.transactionalId,
    });
    next.on(next.events.CONNECT, () => events.emit('kafkaConnection', { connected: true }));
    next.on(next.events.DISCONNECT, () => events.emit('kafkaConnection', { connected: false }));
    try {
      await next.connect();
    } catch (error) {
      await next.disconnect().catch(() => undefined);
      throw error;
    }
    outage.success(SOURCE);
    return next;
  }

  /** One attempt, shared by concurrent callers. */
  function attempt(): Promise<Producer> {
    connecting ??= connectOnce()
      .then((connected) => (producer = connected))
      .finally(() => (connecting = undefined));
    return connecting;
  }

  events.emit('kafkaConnection', { connected: false });
  return {
    async tryConnect() {
      try {
        await ensure(options.initialTopics);
        return true;
      } catch (error) {
        if (error instanceof MissingTopicsError) throw error;
        outage.failure(error, SOURCE);
        return false;
      }
    },
    async connected(signal, onRetry) {
      for (let failures = 0; !signal.aborted; failures++) {
        if (producer) return producer;
        try {
          return await attempt();
        } catch (error) {
          // Topics missing with creation off is logged like an outage too: the relay waits until they exist.
          outage.failure(error, SOURCE);
          onRetry?.();
          const backoffMs = Math.min(maxBackoffMs, 200 * 2 ** failures);
          await sleep(backoffMs, undefined, { signal }).catch(() => undefined);
        }
      }
      return undefined;
    },
    async send(producer, requests) {
      if (options.transactionalId === undefined) {
        for (const topicMessages of requests) await producer.sendBatch({ topicMessages, acks: -1 });
        return;
      }
      const transaction = await producer.transaction();
      try {
        for (const topicMessages of requests) {
          await transaction.sendBatch({ topicMessages, acks: -1, compression });
        }
        await transaction.commit();
      } catch (error) {
        // A fenced producer cannot abort either; the broker aborted its transaction when the new holder started.
        await transaction.abort().catch(() => undefined);
        throw error;
      }
    },
    async ensureTopics(topics) {
      await ensure(topics.filter((topic) => !known.has(topic)).map((topic) => options.specOf(topic)));
    },
    async reset() {
      const old = producer;
      producer = undefined;
      await old?.disconnect().catch(() => undefined);
    },
    async close() {
      await connecting?.catch(() => undefined);
      const old = producer;
      producer = undefined;
      await old?.disconnect().catch(() => undefined);
      outage.closed(SOURCE);
    },
  };
}
