import { HEARTBEAT_SCHEMA_NAME, type Heartbeat } from '@presence-poller/events';
import type { Producer } from 'kafkajs';
import { hostname } from 'node:os';
import { buildInfo } from '../ops/build-info.js';
import { createKafka } from '../relay/kafka.js';
import type { AppRuntime } from './app-runtime.js';
import type { Closer } from './roles.js';
import { readAppStatus } from './status.js';

/**
 * The heartbeat of every app this process relays: while it holds an app's relay lease (of outbox shard 0), every `heartbeat.interval` it
 * publishes a `presence.heartbeat/1` record (key = SDKAppID) with the last completed sweep per watchlist and the
 * outbox depth, so consumers can alert on silence (packages/events/src/heartbeat.ts has the contract).
 *
 * It uses a producer of its own: the relay's idempotent producer sends one batch at a time, and a send from here in
 * between would break that rule. A failed heartbeat is only logged (at debug: the relay's outage lines already say
 * when Kafka is away); the next interval tries again.
 */
export function startHeartbeats(runtimes: readonly AppRuntime[]): Closer {
  const first = runtimes[0];
  if (!first || first.config.heartbeat.intervalMs <= 0) return async () => undefined;
  const { config, logger, events } = first;
  const intervalMs = config.heartbeat.intervalMs;
  const holding = new Set<string>();
  // With outbox shards, the holder of shard 0 sends the app's heartbeat (one sender, as with a single outbox).
  const unsubscribe = events.on('relayLease', ({ app, shard, held }) => {
    if (shard !== 0) return;
    if (held) holding.add(app);
    else holding.delete(app);
  });
  const producerName = `${hostname()}:${process.pid}`;
  const producer: Producer = createKafka(config.kafka, logger).producer({ allowAutoTopicCreation: false });
  let connected: Promise<void> | undefined;

  async function beat(): Promise<void> {
    const due = runtimes.filter((runtime) => holding.has(runtime.label));
    if (due.length === 0) return;
    connected ??= producer.connect().catch((error: unknown) => {
      connected = undefined;
      throw error;
    });
    await connected;
    const messages = await Promise.all(
      due.map(async (runtime) => {
        const value = await heartbeatOf(runtime, producerName, intervalMs);
        return { key: String(runtime.app.sdkAppId), value: JSON.stringify(value) };
      }),
    );
    await producer.send({ topic: config.kafka.topics.heartbeat, messages });
  }

  let beating: Promise<void> | undefined;
  const timer = setInterval(() => {
    beating ??= beat()
      .catch((error: unknown) => logger.debug({ err: error }, 'heartbeat not sent'))
      .finally(() => (beating = undefined));
  }, intervalMs);
  return async () => {
    clearInterval(timer);
    unsubscribe();
    await beating;
    await producer.disconnect().catch(() => undefined);
  };
}

async function heartbeatOf(runtime: AppRuntime, producer: string, intervalMs: number): Promise<Heartbeat> {
  const status = await readAppStatus(runtime.app, runtime.config, runtime.redis, Date.now());
  return {
    schema: HEARTBEAT_SCHEMA_NAME,
    sdkAppId: runtime.app.sdkAppId,
    sentAt: new Date().toISOString(),
    intervalMs,
    producer,
    version: buildInfo().version,
    // The heartbeat's contract (packages/events) has the outbox's total and age only.
    outbox: { entries: status.outbox.entries, oldestAgeSeconds: status.outbox.oldestAgeSeconds },
    watchlists: status.watchlists.map((list) => ({
      name: list.name,
      members: list.members,
      intervalMs: list.intervalMs,
      lastSweepCompletedAt: list.lastSweepCompletedAt,
    })),
  };
}
