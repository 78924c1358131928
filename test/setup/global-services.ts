import type { TestProject } from 'vitest/node';
import { startKafkaBroker, type KafkaBroker } from '../helpers/kafka-broker.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    kafkaBrokers: string[];
  }
}

/**
 * Brings up the real services the integration tests need, once per run: a private redis-server and a private
 * single-node Kafka broker, both on free loopback ports in temp dirs, torn down afterwards. `REDIS_URL` /
 * `KAFKA_BROKERS` point the run at existing services instead (then nothing is started or stopped).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let redis: RedisServer | undefined;
  let kafka: KafkaBroker | undefined;
  const startedAt = Date.now();
  try {
    // One after the other: both start in a few seconds, and a failure then names the service that failed.
    const redisUrl = process.env.REDIS_URL ?? (redis = await startRedisServer()).url;
    const kafkaBrokers = process.env.KAFKA_BROKERS?.split(',') ?? (kafka = await startKafkaBroker()).brokers;
    project.provide('redisUrl', redisUrl);
    project.provide('kafkaBrokers', kafkaBrokers);
    console.log(
      `[services] redis ${redisUrl}, kafka ${kafkaBrokers.join(',')} ready in ${Date.now() - startedAt} ms`,
    );
  } catch (error) {
    await Promise.allSettled([redis?.destroy(), kafka?.destroy()]);
    throw error;
  }
  return async () => {
    await Promise.allSettled([redis?.destroy(), kafka?.destroy()]);
  };
}
