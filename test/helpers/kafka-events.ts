import type { Consumer, Kafka } from 'kafkajs';
import type { PresenceEvent } from '@presence-poller/events';
import { onTeardown, uniqueName } from './services.js';

export interface ReceivedRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string;
  /** Parsed JSON value; `null` for a tombstone. */
  value: unknown;
  headers: Record<string, string>;
}

export interface EventCollector {
  records: ReceivedRecord[];
  /** Events (non-tombstone values) of the given topic, in arrival order. */
  events(topic: string): PresenceEvent[];
  consumer: Consumer;
}

/** Subscribes from the beginning to `topics` and collects every record; the consumer closes after the file. */
export async function collectRecords(kafka: Kafka, topics: string[]): Promise<EventCollector> {
  const consumer = kafka.consumer({ groupId: uniqueName('collector'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  onTeardown(() => consumer.disconnect());
  await consumer.subscribe({ topics, fromBeginning: true });
  const records: ReceivedRecord[] = [];
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
      records.push({
        topic,
        partition,
        offset: message.offset,
        key: message.key?.toString() ?? '',
        value: message.value === null ? null : (JSON.parse(message.value.toString()) as unknown),
        headers,
      });
    },
  });
  return {
    records,
    consumer,
    events: (topic) =>
      records.filter((r) => r.topic === topic && r.value !== null).map((r) => r.value as PresenceEvent),
  };
}
