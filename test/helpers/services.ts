import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, inject } from 'vitest';

/**
 * Per-test-file access to the real services started by the global setup. Every client made here is closed
 * automatically after the file; every name is unique so test files never see each other's keys or topics.
 */
const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  // One after the other, newest first: a pipeline must be stopped before the Redis server it uses is destroyed
  // (closing them all at once let a service's clients reconnect forever to a server that was gone).
  for (const close of closers.splice(0).reverse()) {
    await close().catch(() => undefined);
  }
});

/** Registers a cleanup to run after the test file (in reverse order of registration). */
export function onTeardown(close: () => Promise<unknown>): void {
  closers.push(close);
}

export function testRedisUrl(): string {
  return inject('redisUrl');
}

export function testKafkaBrokers(): string[] {
  return inject('kafkaBrokers');
}

/** A unique name for keys, topics, queues: `<label>-<random>`. */
export function uniqueName(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

/** An ioredis client on the test Redis, closed after the file. */
export function testRedis(options: RedisOptions = {}, url = testRedisUrl()): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: null, ...options });
  onTeardown(() => client.quit().catch(() => client.disconnect()));
  return client;
}

/** A kafkajs client on the test broker (producers/consumers made from it must be registered with onTeardown). */
export function testKafka(brokers = testKafkaBrokers()): Kafka {
  return new Kafka({ brokers, clientId: uniqueName('test'), logLevel: logLevel.NOTHING });
}
