import type { LoadedApp, LoadedConfig } from '../config/index.js';
import type { FlowEvents } from '../ops/flow-events.js';
import type { Logger } from '../ops/logger.js';
import { createOutageLog, type OutageLog } from '../ops/outage-log.js';
import { isRedisConnectionError, watchRedis } from '../ops/watch-redis.js';
import { createRedisClient, type RedisClient } from '../redis/client.js';
import { configuredAppKeys, type AppKeys } from '../redis/keys.js';
import { createAppQueues, type AppQueues } from '../schedule/jobs.js';
import { createSchedulerKeeper, type SchedulerKeeper } from '../schedule/schedulers.js';
import { createSweepTracker, type SweepTracker } from '../schedule/sweep-tracker.js';
import { createStateStore, type StateStore } from '../state/state-store.js';
import { createWatchlistRegistry, type WatchlistRegistry } from '../state/watchlist-registry.js';
import type { CloserStack } from './roles.js';
import type { OutboxRelay } from '../relay/outbox-relay.js';

/**
 * What every role of one app (SDKAppID) shares in a process: its keys, one Redis connection, the registry, the
 * state store, the sweep tracker, the queues and the scheduler keeper. Apps never share any of it, so one app's
 * outage or cap never touches another.
 */
export interface AppRuntime {
  app: LoadedApp;
  /** The SDKAppID as a string: the `app` of every flow event and metric. */
  label: string;
  config: LoadedConfig;
  logger: Logger;
  events: FlowEvents;
  keys: AppKeys;
  redis: RedisClient;
  registry: WatchlistRegistry;
  stateStore: StateStore;
  sweeps: SweepTracker;
  queues: AppQueues;
  keeper: SchedulerKeeper;
  /** One outage log for the app's Redis: every connection to it reports there (a few lines per outage). */
  redisOutage: OutageLog;
  /** An `error` listener for BullMQ queues and workers: connection errors join the outage, others are logged. */
  reportBullError(what: string): (error: Error) => void;
  /** Set when this process runs the app's relay. */
  relay?: OutboxRelay;
  /** Set when this process runs the app's poller: whether its chunk worker takes jobs (read by readiness). */
  poller?: { takingJobs(): boolean };
}

/** Builds the app's runtime; what it opens is pushed onto `closers`. */
export function createAppRuntime(input: {
  config: LoadedConfig;
  app: LoadedApp;
  logger: Logger;
  events: FlowEvents;
  closers: CloserStack;
  /** Least time between two summary lines of one Redis outage, in ms. Default 60 s. */
  outageSummaryIntervalMs?: number | undefined;
}): AppRuntime {
  const { config, app, events, closers } = input;
  const label = String(app.sdkAppId);
  const logger = input.logger.child({ app: label });
  const keys = configuredAppKeys(config.redis, app.sdkAppId);
  const redis = createRedisClient(config.redis, {
    maxRetriesPerRequest: null,
    connectionName: `presence:${label}`,
  });
  closers.push(() => redis.quit());
  const redisOutage = createOutageLog({
    logger,
    dependency: 'redis',
    ...(input.outageSummaryIntervalMs ? { summaryIntervalMs: input.outageSummaryIntervalMs } : {}),
  });
  watchRedis(redis, { name: 'commands', outage: redisOutage, key: keys.tag });
  // BullMQ relays its connections' errors through its queues and workers.
  const reportBullError = (what: string) => (error: Error) => {
    if (isRedisConnectionError(error)) redisOutage.failure(error);
    else logger.error({ err: error }, what);
  };
  const registry = createWatchlistRegistry(redis, keys);
  const sweeps = createSweepTracker(redis, keys);
  const queues = createAppQueues(redis, keys);
  closers.push(
    () => queues.sweepQueue.close(),
    () => queues.pollQueue.close(),
  );
  for (const queue of [queues.sweepQueue, queues.pollQueue])
    queue.on('error', reportBullError('queue error'));
  const keeper = createSchedulerKeeper({
    app: label,
    registry,
    sweepQueue: queues.sweepQueue,
    sweeps,
    events,
    logger,
  });
  return {
    app,
    label,
    config,
    logger,
    events,
    keys,
    redis,
    registry,
    stateStore: createStateStore(redis, keys),
    sweeps,
    queues,
    keeper,
    redisOutage,
    reportBullError,
  };
}
