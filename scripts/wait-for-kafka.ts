/**
 * Waits until a Kafka broker answers a real metadata round trip (not merely an open port).
 *   npx tsx scripts/wait-for-kafka.ts 127.0.0.1:9092 [timeoutSeconds]
 * Exits 0 when the broker answered, 1 when the deadline passed.
 */
import { waitForKafka } from '../test/helpers/kafka-broker.js';

// kafkajs 2.2.4 on Node 24 warns of a negative timeout it means as "now" (see routeProcessWarnings in
// src/ops/logger.ts); other warnings are printed as usual.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name !== 'TimeoutNegativeWarning') console.warn(warning);
});
const [brokers = '127.0.0.1:9092', timeoutSeconds = '60'] = process.argv.slice(2);
try {
  const ms = await waitForKafka(brokers.split(','), Number(timeoutSeconds) * 1000);
  console.log(`kafka ready at ${brokers} after ${ms} ms`);
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
