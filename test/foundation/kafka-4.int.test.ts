import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKafka,
  createProducer,
  ensureTopics,
  MissingTopicsError,
  type TopicSpec,
} from '../../src/relay/kafka.js';
import { createLogger } from '../../src/ops/logger.js';
import { startKafkaBroker, type KafkaBroker } from '../helpers/kafka-broker.js';
import { onTeardown, uniqueName } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * The supported range's upper end: an Apache Kafka 4.1 broker of its own (scripts/kafka/4.x/pom.xml; the shared
 * broker of the other tests is 3.9), driven only through the project's Kafka module.
 */
let broker: KafkaBroker;
let kafka: Kafka;
let admin: Admin;
const logger = createLogger({ level: 'silent' });

beforeAll(async () => {
  broker = await startKafkaBroker({ line: 4 });
  kafka = createKafka({ brokers: broker.brokers, clientId: uniqueName('kafka4') }, logger);
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  await admin?.disconnect();
  await broker?.destroy();
});

/** The compression codec (attributes & 0x07) of the first record batch in a partition's first log segment. */
async function firstBatchCodec(topic: string, partition: number): Promise<number> {
  const segment = await readFile(
    join(broker.dir, 'data', `${topic}-${partition}`, '00000000000000000000.log'),
  );
  // Record batch v2 header: baseOffset int64, batchLength int32, partitionLeaderEpoch int32, magic int8, crc
  // uint32, then attributes int16 at byte 21.
  expect(segment.length).toBeGreaterThan(23);
  expect(segment.readInt8(16)).toBe(2);
  return segment.readInt16BE(21) & 0x07;
}

describe('Kafka 4.1 through the project Kafka module', () => {
  it('is a 4.x broker', async () => {
    const log = await readFile(join(broker.dir, 'kafka.log'), 'utf8');
    expect(log).toMatch(/Kafka version: 4\.\d+\.\d+/);
  });

  it('creates topics with replication factor -1 (the broker default) and the compacted state topic', async () => {
    const transitions = uniqueName('k4.transitions');
    const state = uniqueName('k4.state');
    const specs: TopicSpec[] = [
      { topic: transitions, numPartitions: 3, replicationFactor: -1, cleanupPolicy: 'delete' },
      { topic: state, numPartitions: 2, replicationFactor: -1, cleanupPolicy: 'compact' },
    ];
    expect(await ensureTopics(admin, specs)).toEqual([transitions, state]);
    expect(await ensureTopics(admin, specs)).toEqual([]);

    const metadata = await admin.fetchTopicMetadata({ topics: [transitions, state] });
    const byName = new Map(metadata.topics.map((topic) => [topic.name, topic.partitions]));
    expect(byName.get(transitions)).toHaveLength(3);
    expect(byName.get(state)).toHaveLength(2);
    // default.replication.factor of a single-node broker is 1: -1 was resolved by the broker, not rejected.
    for (const partitions of byName.values()) {
      for (const partition of partitions) expect(partition.replicas).toEqual([1]);
    }
    const described = await admin.describeConfigs({
      resources: [
        { type: 2, name: state, configNames: ['cleanup.policy'] },
        { type: 2, name: transitions, configNames: ['cleanup.policy'] },
      ],
      includeSynonyms: false,
    });
    const policies = described.resources.map((resource) => [
      resource.resourceName,
      resource.configEntries.find((entry) => entry.configName === 'cleanup.policy')?.configValue,
    ]);
    expect(new Map(policies as [string, string][])).toEqual(
      new Map([
        [state, 'compact'],
        [transitions, 'delete'],
      ]),
    );
  });

  it('publishes with the idempotent acks=-1 producer, gzip on the wire, and a consumer group reads it back in order', async () => {
    const gzipTopic = uniqueName('k4.gzip');
    const plainTopic = uniqueName('k4.plain');
    await ensureTopics(admin, [
      { topic: gzipTopic, numPartitions: 1, replicationFactor: -1 },
      { topic: plainTopic, numPartitions: 1, replicationFactor: -1 },
    ]);
    const gzipProducer = createProducer(kafka, { compression: 'gzip' });
    const plainProducer = createProducer(kafka);
    await Promise.all([gzipProducer.connect(), plainProducer.connect()]);
    onTeardown(() => Promise.all([gzipProducer.disconnect(), plainProducer.disconnect()]));
    expect(gzipProducer.isIdempotent()).toBe(true);

    const values = Array.from({ length: 20 }, (_, index) => JSON.stringify({ seq: index, to: 'Online' }));
    const messages = values.map((value) => ({ key: 'alice', value }));
    // The relay's call: sendBatch without a codec of its own.
    const [gzipAck] = await gzipProducer.sendBatch({
      topicMessages: [{ topic: gzipTopic, messages }],
      acks: -1,
    });
    const [plainAck] = await plainProducer.sendBatch({
      topicMessages: [{ topic: plainTopic, messages }],
      acks: -1,
    });
    expect(gzipAck).toMatchObject({ topicName: gzipTopic, errorCode: 0 });
    expect(plainAck).toMatchObject({ topicName: plainTopic, errorCode: 0 });
    expect(await firstBatchCodec(gzipTopic, 0)).toBe(1);
    expect(await firstBatchCodec(plainTopic, 0)).toBe(0);

    const received: string[] = [];
    const groupId = uniqueName('k4-group');
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
    await consumer.connect();
    onTeardown(() => consumer.disconnect());
    await consumer.subscribe({ topic: gzipTopic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        received.push(message.value?.toString() ?? '');
      },
    });
    await waitFor(() => received.length >= values.length, {
      timeoutMs: 45_000,
      description: 'the consumer group to read every record',
    });
    expect(received).toEqual(values);
    const offsets = await waitFor(
      async () => {
        const [topic] = await admin.fetchOffsets({ groupId, topics: [gzipTopic] });
        return topic?.partitions[0]?.offset === String(values.length) ? topic : undefined;
      },
      { timeoutMs: 20_000, description: 'the group to commit its offset' },
    );
    expect(offsets.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '20' })]);
  });

  it('with creation off, creates nothing and names every missing topic', async () => {
    const present = uniqueName('k4.present');
    const missingA = uniqueName('k4.missing-a');
    const missingB = uniqueName('k4.missing-b');
    await ensureTopics(admin, [{ topic: present, numPartitions: 1, replicationFactor: -1 }]);
    const specs: TopicSpec[] = [present, missingA, missingB].map((topic) => ({
      topic,
      numPartitions: 1,
      replicationFactor: -1,
    }));

    const error = await ensureTopics(admin, specs, { create: false }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MissingTopicsError);
    expect((error as MissingTopicsError).topics).toEqual([missingA, missingB]);
    expect((error as Error).message).toContain(`${missingA}, ${missingB}`);
    const topics = await admin.listTopics();
    expect(topics).toContain(present);
    expect(topics).not.toContain(missingA);
    expect(topics).not.toContain(missingB);
  });
});
