/**
 * What fencing (`kafka.fencing`: each relay batch in a Kafka transaction) costs in relay throughput: the same batches
 * sent by the relay's producer session with and without a transactional id, against a running broker.
 *
 *   KAFKA_BROKERS=127.0.0.1:9092 npx tsx bench/relay-fencing.ts
 *
 * Not part of `npm run bench`; results and method in BENCHMARKS.md ("Fenced relay").
 */
import { createFlowEvents } from '../src/ops/flow-events.js';
import { createSilentLogger } from '../src/ops/logger.js';
import { createOutageLog } from '../src/ops/outage-log.js';
import { createKafka } from '../src/relay/kafka.js';
import { createProducerSession } from '../src/relay/producer-session.js';

const logger = createSilentLogger();
async function run(fenced: boolean, batches: number, perBatch: number) {
  const id = Math.random().toString(36).slice(2, 8);
  const topic = `measure.${id}`;
  const session = createProducerSession({
    kafka: createKafka(
      { brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), clientId: `m-${id}` },
      logger,
    ),
    initialTopics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
    specOf: (t) => ({ topic: t, numPartitions: 3, replicationFactor: 1 }),
    createTopics: true,
    compression: 'none',
    events: createFlowEvents(),
    logger,
    outage: createOutageLog({ logger, dependency: 'kafka' }),
    transactionalId: fenced ? `m-${id}` : undefined,
  });
  await session.tryConnect();
  const producer = (await session.connected(new AbortController().signal))!;
  const value = 'x'.repeat(400);
  const headers = {
    ce_id: 'a'.repeat(40),
    ce_type: 'presence.transition',
    ce_source: 'x'.repeat(30),
    ce_time: new Date().toISOString(),
  };
  const batch = () => [
    { topic, messages: Array.from({ length: perBatch }, (_, i) => ({ key: `u${i}`, value, headers })) },
  ];
  await session.send(producer, [batch()]); // warm-up
  const start = performance.now();
  for (let i = 0; i < batches; i++) await session.send(producer, [batch()]);
  const ms = performance.now() - start;
  await session.close();
  return (batches * perBatch) / (ms / 1000);
}
for (const perBatch of [1000, 100]) {
  for (let round = 0; round < 2; round++) {
    const plain = await run(false, 20, perBatch);
    const fenced = await run(true, 20, perBatch);
    console.log(
      `batch ${perBatch}: idempotent ${plain.toFixed(0)}/s, transactional ${fenced.toFixed(0)}/s, cost ${(100 * (1 - fenced / plain)).toFixed(1)}%`,
    );
  }
}
process.exit(0);
