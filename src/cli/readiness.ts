/**
 * What `/readyz` checks for `run`: every app's Redis answers PING, and for the relay role Kafka answers a metadata
 * request. Kafka is asked through a small admin client of its own rather than the relay's producer: kafkajs keeps
 * a producer "connected" while its brokers are gone, so only a round trip says whether publishing can work.
 */
import type { Admin } from 'kafkajs';
import type { LoadedConfig } from '../config/index.js';
import { createKafka } from '../relay/kafka.js';
import type { Role, Service } from '../main.js';
import type { Readiness, ReadinessCheck } from '../ops/http-server.js';
import type { Logger } from '../ops/logger.js';

export interface ReadinessProbe {
  check(): Promise<Readiness>;
  close(): Promise<void>;
}

const CHECK_TIMEOUT_MS = 1_500;

export function createReadinessProbe(input: {
  config: LoadedConfig;
  service: Service;
  roles: readonly Role[];
  logger: Logger;
}): ReadinessProbe {
  const { config, service, roles, logger } = input;
  let admin: Admin | undefined;
  let connecting: Promise<void> | undefined;
  let kafkaCheck: Promise<ReadinessCheck> | undefined;

  async function checkKafka(): Promise<ReadinessCheck> {
    admin ??= createKafka(config.kafka, logger).admin({ retry: { retries: 0 } });
    connecting ??= admin.connect().catch((error: unknown) => {
      connecting = undefined;
      throw error;
    });
    await connecting;
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0
      ? { ok: true }
      : { ok: false, reason: 'no Kafka broker in the metadata' };
  }

  return {
    async check() {
      const checks: Record<string, ReadinessCheck> = {};
      const pending: Promise<void>[] = service.apps.map(async (runtime) => {
        checks[`redis:${runtime.app.name}`] = await probe(async () => {
          const answer = await runtime.redis.ping();
          return answer === 'PONG' ? { ok: true } : { ok: false, reason: `PING answered ${answer}` };
        });
      });
      if (roles.includes('relay')) {
        // One Kafka round trip at a time, however many probes arrive meanwhile.
        kafkaCheck ??= probe(checkKafka).finally(() => (kafkaCheck = undefined));
        pending.push(kafkaCheck.then((result) => void (checks.kafka = result)));
      }
      await Promise.all(pending);
      return { ready: Object.values(checks).every((check) => check.ok), checks };
    },
    async close() {
      await admin?.disconnect().catch(() => undefined);
    },
  };
}

async function probe(run: () => Promise<ReadinessCheck>): Promise<ReadinessCheck> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<ReadinessCheck>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, reason: `no answer within ${CHECK_TIMEOUT_MS} ms` }),
      CHECK_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([
      run().catch((error: unknown) => ({ ok: false, reason: (error as Error).message })),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
