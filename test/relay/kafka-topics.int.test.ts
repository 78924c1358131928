import type { Admin, Kafka } from 'kafkajs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createKafka,
  createProducer,
  ensureTopics,
  MissingTopicsError,
  type TopicSpec,
} from '../../src/relay/kafka.js';
import { createLogger } from '../../src/ops/logger.js';
import { onTeardown, testKafkaBrokers, uniqueName } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

/** The project's Kafka module against the shared 3.9 broker (the 4.x broker has its own smoke test). */
let kafka: Kafka;
let admin: Admin;

beforeAll(async () => {
  kafka = createKafka(
    { brokers: testKafkaBrokers(), clientId: uniqueName('topics') },
    createLogger({ level: 'silent' }),
  );
  admin = kafka.admin();
  await admin.connect();
  onTeardown(() => admin.disconnect());
});

describe('ensureTopics on Kafka 3.9', () => {
  it('creates topics with replication factor -1, resolved by the broker, and compaction for the state topic', async () => {
    const transitions = uniqueName('rf.transitions');
    const state = uniqueName('rf.state');
    const specs: TopicSpec[] = [
      { topic: transitions, numPartitions: 2, replicationFactor: -1 },
      { topic: state, numPartitions: 2, replicationFactor: -1, cleanupPolicy: 'compact' },
    ];
    expect(await ensureTopics(admin, specs)).toEqual([transitions, state]);

    const metadata = await admin.fetchTopicMetadata({ topics: [transitions, state] });
    for (const topic of metadata.topics) {
      expect(topic.partitions).toHaveLength(2);
      for (const partition of topic.partitions) expect(partition.replicas).toHaveLength(1);
    }
    const described = await admin.describeConfigs({
      resources: [{ type: 2, name: state, configNames: ['cleanup.policy'] }],
      includeSynonyms: false,
    });
    expect(described.resources[0]?.configEntries[0]).toMatchObject({
      configName: 'cleanup.policy',
      configValue: 'compact',
    });
  });

  it('with creation off, leaves the cluster untouched and names every missing topic', async () => {
    const present = uniqueName('off.present');
    const missing = uniqueName('off.missing');
    await ensureTopics(admin, [{ topic: present, numPartitions: 1, replicationFactor: -1 }]);
    const specs: TopicSpec[] = [present, missing].map((topic) => ({
      topic,
      numPartitions: 1,
      replicationFactor: -1,
    }));

    await expect(ensureTopics(admin, specs, { create: false })).rejects.toThrow(
      new MissingTopicsError([missing]),
    );
    expect(await admin.listTopics()).not.toContain(missing);
    // Once someone else created it, the same check passes and creates nothing.
    await ensureTopics(admin, [specs[1]!]);
    expect(await ensureTopics(admin, specs, { create: false })).toEqual([]);
  });

  it('publishes gzip batches through the relay call (sendBatch without a codec) that a consumer decodes', async () => {
    const topic = uniqueName('gzip');
    await ensureTopics(admin, [{ topic, numPartitions: 1, replicationFactor: -1 }]);
    const producer = createProducer(kafka, { compression: 'gzip' });
    await producer.connect();
    onTeardown(() => producer.disconnect());
    const values = Array.from({ length: 10 }, (_, index) => `event-${index}`);
    await producer.sendBatch({
      topicMessages: [{ topic, messages: values.map((value) => ({ key: 'bob', value })) }],
      acks: -1,
    });

    const received: string[] = [];
    const consumer = kafka.consumer({ groupId: uniqueName('gzip-group'), maxWaitTimeInMs: 200 });
    await consumer.connect();
    onTeardown(() => consumer.disconnect());
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void received.push(String(message.value)) });
    await waitFor(() => received.length >= values.length, {
      timeoutMs: 45_000,
      description: 'every gzip record',
    });
    expect(received).toEqual(values);
  });
});
