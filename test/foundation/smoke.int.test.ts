import { Queue, QueueEvents, Worker } from 'bullmq';
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { onTeardown, testKafka, testRedis, uniqueName } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

describe('real services wiring', () => {
  it('runs a BullMQ job through the real Redis and returns its result', async () => {
    const prefix = uniqueName('smoke');
    const connection = testRedis();
    const queue = new Queue('echo', { connection, prefix });
    const events = new QueueEvents('echo', { connection: testRedis(), prefix });
    const worker = new Worker('echo', async (job) => ({ doubled: (job.data as { n: number }).n * 2 }), {
      connection: testRedis(),
      prefix,
    });
    onTeardown(() => Promise.all([worker.close(), events.close(), queue.close()]));
    await events.waitUntilReady();

    const job = await queue.add('double', { n: 21 });
    const result = await job.waitUntilFinished(events, 10_000);

    expect(result).toEqual({ doubled: 42 });
  });

  it('produces with an idempotent acks=-1 producer and consumes the same record back from the real broker', async () => {
    const kafka = testKafka();
    const topic = uniqueName('smoke');
    const admin = kafka.admin();
    await admin.connect();
    onTeardown(() => admin.disconnect());
    await admin.createTopics({
      topics: [{ topic, numPartitions: 2, replicationFactor: 1 }],
      waitForLeaders: true,
    });

    const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    onTeardown(() => producer.disconnect());
    const [ack] = await producer.send({
      topic,
      acks: -1,
      messages: [{ key: 'alice', value: JSON.stringify({ to: 'Online' }), headers: { ce_type: 'smoke' } }],
    });
    expect(ack?.errorCode).toBe(0);

    const received: Array<{ key: string; value: string; type: string }> = [];
    const consumer = kafka.consumer({ groupId: uniqueName('smoke-group') });
    await consumer.connect();
    onTeardown(() => consumer.disconnect());
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        received.push({
          key: message.key?.toString() ?? '',
          value: message.value?.toString() ?? '',
          type: message.headers?.ce_type?.toString() ?? '',
        });
      },
    });

    await waitFor(() => received.length === 1, { timeoutMs: 30_000, description: 'the record to come back' });
    expect(received).toEqual([{ key: 'alice', value: '{"to":"Online"}', type: 'smoke' }]);
  });
});
