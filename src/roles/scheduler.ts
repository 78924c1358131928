import type { ResolvedWatchlist } from '../config/index.js';
import { syncWatchlists, type SyncReport, type WatchlistSpec } from '../state/watchlist-sync.js';
import type { AppRuntime } from './app-runtime.js';
import type { Closer } from './roles.js';
import { createStateGuard, type StateRecoveryOptions } from './state-recovery.js';

export interface SchedulerRoleOptions extends StateRecoveryOptions {
  /** How often the watchdog checks the job schedulers. Default 30 s. */
  watchdogIntervalMs?: number;
  /** How often Redis is checked for a loss of the app's data. Default 5 s. */
  lossCheckIntervalMs?: number;
}

export interface SchedulerRole {
  /** Syncs the app's share of `watchlists` into Redis and reconciles the job schedulers with it. */
  applyWatchlists(watchlists: readonly ResolvedWatchlist[]): Promise<SyncReport>;
  close: Closer;
}

/**
 * The scheduler role of one app: syncs the configured watchlists into Redis, keeps one job scheduler per watchlist,
 * runs the watchdog that re-creates schedulers that stopped ticking, and heals a Redis that lost its data (states
 * restored from the state topic, then watchlists and schedulers re-created from the configuration).
 */
export async function startScheduler(
  runtime: AppRuntime,
  watchlists: readonly ResolvedWatchlist[],
  options: SchedulerRoleOptions = {},
): Promise<SchedulerRole> {
  const { keeper, logger } = runtime;
  const guard = createStateGuard(runtime, options);
  // The lists last applied: what a Redis that lost its data is rebuilt from.
  let current = watchlists;

  async function sync(lists: readonly ResolvedWatchlist[]): Promise<SyncReport> {
    const report = await syncWatchlists(
      {
        redis: runtime.redis,
        keys: runtime.keys,
        registry: runtime.registry,
        stateStore: runtime.stateStore,
      },
      lists.filter((list) => list.sdkAppId === runtime.app.sdkAppId).map(specOf),
    );
    await keeper.reconcile();
    if (report.changed) logger.info({ ...report }, 'watchlists synced');
    return report;
  }

  async function applyWatchlists(lists: readonly ResolvedWatchlist[]): Promise<SyncReport> {
    current = lists;
    return sync(lists);
  }

  await guard.ensure(current, () => sync(current), false);
  await applyWatchlists(watchlists);
  // One check at a time: while Redis is away the checks wait in the command queue, and a pile of them would all
  // repair the same scheduler (and log it) at once when it is back.
  let checking = false;
  const timer = setInterval(() => {
    if (checking) return;
    checking = true;
    keeper
      .reconcile()
      .then(() => keeper.repairStalled())
      .catch((error: unknown) => logger.warn({ err: error }, 'scheduler watchdog failed'))
      .finally(() => (checking = false));
  }, options.watchdogIntervalMs ?? 30_000);
  let guarding = false;
  const lossCheck = setInterval(() => {
    if (guarding) return;
    guarding = true;
    guard
      .ensure(current, () => sync(current), true)
      .catch((error: unknown) => logger.warn({ err: error }, 'Redis data-loss check failed'))
      .finally(() => (guarding = false));
  }, options.lossCheckIntervalMs ?? 5_000);
  return {
    applyWatchlists,
    close: async () => {
      clearInterval(timer);
      clearInterval(lossCheck);
    },
  };
}

/** A resolved watchlist as the sync wants it: its settings and members, without where it came from. */
function specOf(list: ResolvedWatchlist): WatchlistSpec {
  const { app: _app, sdkAppId: _sdkAppId, sources: _sources, ...spec } = list;
  return spec;
}
