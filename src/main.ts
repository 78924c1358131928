import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Kafka, Producer } from 'kafkajs';
import type { LoadedApp, LoadedConfig, ResolvedWatchlist } from './config/index.js';
import { createKafka, createProducer, ensureTopics, type TopicSpec } from './events/kafka.js';
import { createOutboxRelay, type OutboxRelay } from './events/outbox-relay.js';
import type { Logger } from './ops/logger.js';
import type { Metrics } from './ops/metrics.js';
import { createOutageLog } from './ops/outage-log.js';
import { isRedisConnectionError, watchRedis } from './ops/watch-redis.js';
import { createChunkProcessor } from './schedule/chunk-job.js';
import { createPacedTransport } from './schedule/paced-transport.js';
import { POLL_QUEUE, SWEEP_QUEUE, type ChunkJobData, type SweepJobData } from './schedule/queues.js';
import { createSchedulerKeeper, type SchedulerKeeper } from './schedule/schedulers.js';
import { createSweepProcessor } from './schedule/sweep-job.js';
import { createSweepTracker } from './schedule/sweep-tracker.js';
import { syncWatchlists, type SyncReport } from './schedule/watchlist-sync.js';
import { appKeys, type AppKeys } from './state/keys.js';
import { createStateStore, type StateStore } from './state/state-store.js';
import { createWatchlistRegistry, type WatchlistRegistry } from './state/watchlist-registry.js';
import {
  createTencentClient,
  type OnlineStatusClient,
  type TencentClientOptions,
  type Transport,
} from './tencent/index.js';

/**
 * The one place that wires modules together. Each app (SDKAppID) gets its own pacer, queues, state, outbox and
 * relay, so apps never share a cap and one app's outage never stalls another.
 */

export type Role = 'scheduler' | 'poller' | 'relay';
export const ALL_ROLES: readonly Role[] = ['scheduler', 'poller', 'relay'];

export interface ServiceOptions {
  roles: readonly Role[];
  logger: Logger;
  metrics: Metrics;
  /**
   * Chunk jobs in flight per app per process, at most the app's `connections`. Default: `connections` (64), which
   * needs to cover cap x call latency (200/s x 100 ms = 20) with room for slow answers.
   */
  pollConcurrency?: number;
  /** Attempts per chunk before its users wait for the next sweep. Default 5. */
  chunkAttempts?: number;
  /**
   * Lock on an active chunk job, renewed while it runs; a worker that dies loses it and the job is re-run by another
   * worker after at most lockDurationMs + stalledIntervalMs. Defaults 30 s / 30 s (BullMQ's).
   */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** How often the scheduler role checks its job schedulers. Default 30 s. */
  watchdogIntervalMs?: number;
  /** Least time between two summary lines of one Redis outage, in ms. Default 60 s. */
  outageSummaryIntervalMs?: number;
  /**
   * Replaces the Tencent client (tests use it to shorten timeouts or watch calls). It should send through
   * `transport`, the app's paced one, or its calls ignore the cap.
   */
  createClient?: (app: LoadedApp, transport: Transport) => OnlineStatusClient;
}

export interface AppRuntime {
  app: LoadedApp;
  keys: AppKeys;
  redis: Redis;
  registry: WatchlistRegistry;
  stateStore: StateStore;
  keeper: SchedulerKeeper;
  relay?: OutboxRelay;
}

export interface Service {
  apps: AppRuntime[];
  /** Syncs a new set of watchlists into Redis and reconciles the schedulers (scheduler role only). */
  applyWatchlists(watchlists: readonly ResolvedWatchlist[]): Promise<SyncReport[]>;
  /** Graceful stop: no new jobs, in-flight chunks finish, the relay flushes its batch, connections close. */
  stop(): Promise<void>;
}

export async function startService(config: LoadedConfig, options: ServiceOptions): Promise<Service> {
  const { roles, logger, metrics } = options;
  const has = (role: Role) => roles.includes(role);
  const closers: Array<() => Promise<unknown>> = [];
  let kafka: Kafka | undefined;
  let producer: Producer | undefined;

  if (has('relay')) {
    kafka = createKafka({ ...config.kafka, sasl: config.kafka.sasl }, logger);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const created = await ensureTopics(admin, topicSpecs(config));
      if (created.length > 0) logger.info({ topics: created }, 'created Kafka topics');
    } finally {
      await admin.disconnect();
    }
    producer = createProducer(kafka);
    await producer.connect();
    closers.push(() => producer!.disconnect());
  }

  const stallSettings = {
    ...(options.lockDurationMs ? { lockDuration: options.lockDurationMs } : {}),
    ...(options.stalledIntervalMs ? { stalledInterval: options.stalledIntervalMs } : {}),
  };
  const apps: AppRuntime[] = [];
  try {
    for (const app of config.apps) apps.push(await startApp(app));
  } catch (error) {
    await closeAll();
    throw error;
  }

  async function startApp(app: LoadedApp): Promise<AppRuntime> {
    const label = String(app.sdkAppId);
    const appLogger = logger.child({ app: label });
    const keys = appKeys(config.redis.prefix, app.sdkAppId);
    const redis = new Redis(config.redis.url, {
      maxRetriesPerRequest: null,
      connectionName: `presence:${label}`,
    });
    closers.push(() => redis.quit());
    // One outage log per app's Redis: every connection to it reports there, so an outage is a few lines, not one per
    // reconnect attempt and connection.
    const redisOutage = createOutageLog({
      logger: appLogger,
      dependency: 'redis',
      ...(options.outageSummaryIntervalMs ? { summaryIntervalMs: options.outageSummaryIntervalMs } : {}),
    });
    watchRedis(redis, { name: 'commands', outage: redisOutage });
    // BullMQ relays its connections' errors through its queues and workers.
    const reportBullError = (what: string) => (error: Error) => {
      if (isRedisConnectionError(error)) redisOutage.failure(error);
      else appLogger.error({ err: error }, what);
    };
    const registry = createWatchlistRegistry(redis, keys);
    const stateStore = createStateStore(redis, keys);
    const sweeps = createSweepTracker(redis, keys);
    const sweepQueue = new Queue<SweepJobData>(SWEEP_QUEUE, { connection: redis, prefix: keys.bullPrefix });
    const pollQueue = new Queue<ChunkJobData>(POLL_QUEUE, { connection: redis, prefix: keys.bullPrefix });
    closers.push(
      () => sweepQueue.close(),
      () => pollQueue.close(),
    );
    for (const queue of [sweepQueue, pollQueue]) queue.on('error', reportBullError('queue error'));
    const keeper = createSchedulerKeeper({
      app: label,
      registry,
      sweepQueue,
      sweeps,
      metrics,
      logger: appLogger,
    });
    const runtime: AppRuntime = { app, keys, redis, registry, stateStore, keeper };

    if (has('scheduler')) {
      await syncApp(runtime, config.watchlists);
      // One check at a time: while Redis is away the checks wait in the command queue, and a pile of them would all
      // repair the same scheduler (and log it) at once when it is back.
      let checking = false;
      const timer = setInterval(() => {
        if (checking) return;
        checking = true;
        keeper
          .reconcile()
          .then(() => keeper.repairStalled())
          .catch((error: unknown) => appLogger.warn({ err: error }, 'scheduler watchdog failed'))
          .finally(() => (checking = false));
      }, options.watchdogIntervalMs ?? 30_000);
      closers.push(async () => clearInterval(timer));
    }

    if (has('poller')) {
      // Slots and sockets live in a thread of their own, so main-thread pauses cannot make a call start late.
      const transport = createPacedTransport({
        redisUrl: config.redis.url,
        pacerKey: keys.pacer,
        pacer: { callsPerSecond: app.callsPerSecond, safetyMargin: app.callMargin },
        connections: app.connections,
        connectTimeoutMs: app.requestTimeoutMs,
        connectionName: `presence:${label}:pacer`,
        onCall: ({ waitMs, latenessMs, durationMs }) => {
          metrics.pacerWait.observe({ app: label }, waitMs / 1000);
          metrics.pacerStartLateness.observe({ app: label }, latenessMs / 1000);
          metrics.callDuration.observe({ app: label }, durationMs / 1000);
        },
        onLateSlot: () => metrics.pacerLateSlots.inc({ app: label }),
        onError: (message) => {
          // The thread's connection fails with the others; it carries only a message, so it joins an open outage
          // rather than starting one.
          if (redisOutage.down && message.startsWith('pacer Redis:')) redisOutage.failure(message);
          else appLogger.warn({ error: message }, 'sending thread');
        },
      });
      closers.push(() => transport.close());
      const client =
        options.createClient?.(app, transport) ??
        createTencentClient({ ...clientOptionsOf(app), transport, logger: appLogger });
      closers.push(() => client.close());
      const pollWorker: Worker<ChunkJobData> = new Worker<ChunkJobData>(
        POLL_QUEUE,
        createChunkProcessor({
          app: label,
          registry,
          client,
          stateStore,
          sweeps,
          metrics,
          logger: appLogger,
          penalize: (ms) => transport.penalize(ms),
          pauseQueue: (ms) => pollWorker.rateLimit(ms),
          startFollowUpSweep: async (watchlist) => {
            await sweepQueue.add(
              'sweep',
              { watchlist },
              // Not derived from the previous sweep's id: follow-ups of follow-ups would grow it every time.
              {
                jobId: `after-${watchlist}-${Date.now()}`,
                removeOnComplete: true,
                removeOnFail: { count: 100 },
              },
            );
          },
        }),
        {
          connection: redis,
          prefix: keys.bullPrefix,
          // Never more chunks in flight than connections: a call must not wait for a socket after its slot.
          concurrency: Math.min(options.pollConcurrency ?? app.connections, app.connections),
          ...stallSettings,
        },
      );
      const sweepWorker = new Worker<SweepJobData>(
        SWEEP_QUEUE,
        createSweepProcessor({
          app: label,
          registry,
          sweeps,
          pollQueue,
          metrics,
          chunkAttempts: options.chunkAttempts ?? 5,
        }),
        { connection: redis, prefix: keys.bullPrefix, concurrency: 4, ...stallSettings },
      );
      for (const worker of [pollWorker, sweepWorker]) {
        worker.on('error', reportBullError('worker error'));
      }
      // Workers close first (stop taking jobs, let in-flight ones finish), before the connections they use.
      closers.push(() => Promise.all([pollWorker.close(), sweepWorker.close()]));
    }

    if (has('relay') && producer) {
      // Its own connections: behind the poller's 64 chunk jobs on the shared one, every publish would queue.
      const relayRedis = redis.duplicate();
      const blockingRedis = redis.duplicate();
      watchRedis(relayRedis, { name: 'relay', outage: redisOutage });
      watchRedis(blockingRedis, { name: 'relay-blocking', outage: redisOutage });
      closers.push(
        async () => blockingRedis.disconnect(),
        () => relayRedis.quit(),
      );
      const relay = createOutboxRelay(
        {
          redis: relayRedis,
          blockingRedis,
          keys,
          registry: createWatchlistRegistry(relayRedis, keys),
          producer,
          metrics,
          logger: appLogger,
        },
        {
          sdkAppId: app.sdkAppId,
          transitionsTopic: config.kafka.topics.transitions,
          stateTopic: config.kafka.topics.state,
        },
      );
      void relay.run().catch((error: unknown) => appLogger.error({ err: error }, 'relay stopped'));
      closers.push(() => relay.stop());
      runtime.relay = relay;
    }
    return runtime;
  }

  async function syncApp(runtime: AppRuntime, watchlists: readonly ResolvedWatchlist[]): Promise<SyncReport> {
    const { app, keys, redis } = runtime;
    const specs = watchlists.filter((w) => w.sdkAppId === app.sdkAppId);
    const report = await syncWatchlists(
      {
        redis,
        keys,
        registry: createWatchlistRegistry(redis, keys),
        stateStore: createStateStore(redis, keys),
      },
      specs,
    );
    await runtime.keeper.reconcile();
    if (report.changed) logger.info({ app: runtime.app.sdkAppId, ...report }, 'watchlists synced');
    return report;
  }

  async function closeAll(): Promise<void> {
    // Reverse order of creation: workers and relay before queues, queues before connections.
    for (const close of closers.splice(0).reverse()) {
      await close().catch((error: unknown) => logger.warn({ err: error }, 'error while closing'));
    }
  }

  return {
    apps,
    async applyWatchlists(watchlists) {
      if (!has('scheduler')) return [];
      return Promise.all(apps.map((runtime) => syncApp(runtime, watchlists)));
    },
    stop: closeAll,
  };
}

/** The Tencent client's options for a configured app (the one mapping from config to client). */
export function clientOptionsOf(app: LoadedApp): TencentClientOptions {
  return {
    sdkAppId: app.sdkAppId,
    identifier: app.identifier,
    secretKey: app.secretKey,
    endpoint: app.endpoint,
    timeoutMs: app.requestTimeoutMs,
    connections: app.connections,
    userSigTtlSeconds: app.userSigTtlSeconds,
  };
}

/** Topics the relay needs: the default transitions topic, the compacted state topic, every watchlist's own. */
export function topicSpecs(config: LoadedConfig): TopicSpec[] {
  const { partitions, replicationFactor, topics } = config.kafka;
  const spec = (topic: string, cleanupPolicy: TopicSpec['cleanupPolicy'] = 'delete'): TopicSpec => ({
    topic,
    numPartitions: partitions,
    replicationFactor,
    cleanupPolicy,
  });
  const watchlistTopics = config.watchlists.flatMap((w) => (w.topic ? [w.topic] : []));
  return [
    spec(topics.transitions),
    spec(topics.state, 'compact'),
    ...[...new Set(watchlistTopics)].filter((t) => t !== topics.transitions).map((t) => spec(t)),
  ];
}
