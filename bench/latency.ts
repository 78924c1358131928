/**
 * Transition latency, from the API's answer to Kafka's acknowledgement.
 *
 * The bench creates the topics itself (the service leaves existing topics alone) with
 * `message.timestamp.type=LogAppendTime`, so every record carries the time the broker appended it, which is when
 * an acks=-1 write to a single-node broker is acknowledged. Latency = append time - event.observedAt (the worker
 * stamps observedAt with Date.now() right after the answer arrived). Both clocks are this machine's wall clock.
 * The time the bench's consumer received the record is kept too, as an end-to-end upper bound.
 */
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { eventTypeOf } from '@presence-poller/events';

const TRANSITION_TYPE = eventTypeOf('transition');

export interface LatencySample {
  observedAtMs: number;
  /** Broker append time - observedAt. */
  ackMs: number;
  /** Bench consumer receive time - observedAt. */
  consumeMs: number;
}

export interface LatencyCollector {
  samples: LatencySample[];
  /** Events of other kinds seen (snapshot, devices, not_found, ...). */
  otherKinds: number;
  stop(): Promise<void>;
}

export function benchKafka(brokers: string[]): Kafka {
  return new Kafka({ brokers, clientId: 'presence-bench', logLevel: logLevel.NOTHING });
}

/** Creates the transitions and state topics with broker-side timestamps (see the module comment). */
export async function createTimedTopics(
  kafka: Kafka,
  topics: { transitions: string; state: string },
  partitions: number,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const logAppend = { name: 'message.timestamp.type', value: 'LogAppendTime' };
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic: topics.transitions,
          numPartitions: partitions,
          replicationFactor: 1,
          configEntries: [logAppend],
        },
        {
          topic: topics.state,
          numPartitions: partitions,
          replicationFactor: 1,
          configEntries: [logAppend, { name: 'cleanup.policy', value: 'compact' }],
        },
      ],
    });
  } finally {
    await admin.disconnect();
  }
}

/** Consumes the transitions topic from the beginning and records one sample per `transition` event. */
export async function collectLatency(kafka: Kafka, topic: string): Promise<LatencyCollector> {
  const consumer: Consumer = kafka.consumer({ groupId: `bench-${topic}`, maxWaitTimeInMs: 50 });
  const collector: LatencyCollector = {
    samples: [],
    otherKinds: 0,
    async stop() {
      await consumer.disconnect();
    },
  };
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const receivedAt = Date.now();
      for (const message of batch.messages) {
        if (!message.value) continue;
        // The type header names the kind: a burst of a million snapshots is skipped without parsing each value.
        if (message.headers?.ce_type?.toString() !== TRANSITION_TYPE) {
          collector.otherKinds++;
          continue;
        }
        const event = JSON.parse(message.value.toString()) as { observedAt: string };
        const observedAtMs = Date.parse(event.observedAt);
        collector.samples.push({
          observedAtMs,
          ackMs: Number(message.timestamp) - observedAtMs,
          consumeMs: receivedAt - observedAtMs,
        });
      }
    },
  });
  return collector;
}

export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export interface LatencySummary {
  count: number;
  ackP50Ms?: number;
  ackP99Ms?: number;
  ackMaxMs?: number;
  consumeP50Ms?: number;
  consumeP99Ms?: number;
}

/** Percentiles of the samples observed in [fromMs, toMs). */
export function summarizeLatency(
  samples: readonly LatencySample[],
  fromMs: number,
  toMs: number,
): LatencySummary {
  const inWindow = samples.filter((s) => s.observedAtMs >= fromMs && s.observedAtMs < toMs);
  const ack = inWindow.map((s) => s.ackMs);
  const consume = inWindow.map((s) => s.consumeMs);
  return {
    count: inWindow.length,
    ackP50Ms: percentile(ack, 50),
    ackP99Ms: percentile(ack, 99),
    ackMaxMs: percentile(ack, 100),
    consumeP50Ms: percentile(consume, 50),
    consumeP99Ms: percentile(consume, 99),
  };
}
