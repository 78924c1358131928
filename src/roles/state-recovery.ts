import type { ResolvedWatchlist } from '../config/index.js';
import { createLease } from '../redis/lease.js';
import { createKafka } from '../relay/kafka.js';
import { restoreStates, type RestoreReport } from '../state/restore.js';
import type { AppRuntime } from './app-runtime.js';

export interface StateRecoveryOptions {
  /** Longest time a restore may read the state topic before the app goes on without it. Default 60 s. */
  restoreTimeoutMs?: number;
}

export interface StateGuard {
  /**
   * Makes sure Redis holds the app's data before anything is scheduled. When the generation marker is missing and
   * so is the registry, Redis lost its data (or this is the very first start): the states are restored from the
   * state topic, `sync` rebuilds watchlists and schedulers, and only then is the marker written. `running` says the
   * service was already up (then the loss is an error worth waking someone for).
   */
  ensure(
    watchlists: readonly ResolvedWatchlist[],
    sync: () => Promise<unknown>,
    running: boolean,
  ): Promise<void>;
}

/** How long one process may hold the restore lock without renewing it. */
const RESTORE_LOCK_MS = 30_000;
/** How often a process that does not hold the lock looks whether the holder finished. */
const WAIT_STEP_MS = 250;

/**
 * Detects that Redis lost the app's data and heals it: Redis is a cache of what Kafka already holds durably, and is
 * rebuilt from it. One process restores (under a lease); the others wait for its marker. While a restore runs the
 * flow event `stateRecovery` says so (metrics and readiness listen).
 */
export function createStateGuard(runtime: AppRuntime, options: StateRecoveryOptions = {}): StateGuard {
  const { redis, keys, logger, events, label, app, config } = runtime;
  const restoreTimeoutMs = options.restoreTimeoutMs ?? 60_000;

  async function intact(): Promise<boolean> {
    if ((await redis.exists(keys.generation)) === 1) return true;
    // Data written by a version before the marker existed: adopt it rather than restore over it.
    if ((await redis.hlen(keys.watchlists)) > 0) {
      await redis.set(keys.generation, String(Date.now()), 'NX');
      return true;
    }
    return false;
  }

  async function restore(watchlists: readonly ResolvedWatchlist[]): Promise<RestoreReport> {
    const tracked = new Set<string>();
    for (const list of watchlists) {
      if (list.sdkAppId === app.sdkAppId) for (const id of list.userIds) tracked.add(id);
    }
    const kafka = createKafka(config.kafka, logger);
    return restoreStates({
      redis,
      keys,
      kafka,
      topic: config.kafka.topics.state,
      sdkAppId: app.sdkAppId,
      isTracked: (id) => tracked.has(id),
      timeoutMs: restoreTimeoutMs,
    });
  }

  async function recover(
    watchlists: readonly ResolvedWatchlist[],
    sync: () => Promise<unknown>,
  ): Promise<void> {
    const lock = createLease(redis, keys.restoreLock, RESTORE_LOCK_MS);
    while (!(await lock.hold())) {
      // Another process restores; it writes the marker when done (or its lease runs out and this one takes over).
      if ((await redis.exists(keys.generation)) === 1) return;
      await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
    }
    const renew = setInterval(() => void lock.hold().catch(() => undefined), RESTORE_LOCK_MS / 3);
    try {
      if ((await redis.exists(keys.generation)) === 1) return;
      events.emit('stateRecovery', { app: label, phase: 'started', restored: 0 });
      let report: RestoreReport | undefined;
      try {
        report = await restore(watchlists);
        logger.info({ ...report }, 'states restored from the state topic');
      } catch (error) {
        logger.warn(
          { err: error },
          'could not restore states from the state topic: users whose state is not in Redis start a new epoch',
        );
      }
      await sync();
      await redis.set(keys.generation, String(Date.now()), 'NX');
      events.emit('stateRecovery', { app: label, phase: 'finished', restored: report?.restored ?? 0 });
    } finally {
      clearInterval(renew);
      await lock.release().catch(() => undefined);
    }
  }

  return {
    async ensure(watchlists, sync, running) {
      if (await intact()) return;
      if (running) {
        events.emit('redisDataLost', { app: label });
        logger.error(
          'Redis lost the data of this app (restart without persistence, failover to an empty replica, or a flush): ' +
            'restoring states from the state topic and re-creating watchlists and schedulers',
        );
      }
      await recover(watchlists, sync);
    },
  };
}
