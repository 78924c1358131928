import type { Queue } from 'bullmq';
import type { Logger } from '../ops/logger.js';
import type { FlowEvents } from '../ops/flow-events.js';
import type { WatchlistRegistry } from '../state/watchlist-registry.js';
import { scheduledSweep, schedulerIdOf, type SweepJobData } from './jobs.js';
import type { SweepTracker } from './sweep-tracker.js';

const SCHEDULER_PREFIX = schedulerIdOf('');
/** A watchlist whose last tick is older than this many intervals (plus a grace) has a stuck scheduler. */
const MISSED_TICKS = 3;
const GRACE_MS = 10_000;

export interface SchedulerKeeper {
  /** Makes the app's job schedulers match the registry: one per watchlist, with its interval. */
  reconcile(): Promise<{ upserted: string[]; removed: string[] }>;
  /** Re-creates schedulers that stopped ticking (upstream BullMQ has reported silent stops). */
  repairStalled(nowMs?: number): Promise<string[]>;
}

export function createSchedulerKeeper(deps: {
  app: string;
  registry: WatchlistRegistry;
  sweepQueue: Queue<SweepJobData>;
  sweeps: SweepTracker;
  events: FlowEvents;
  logger: Logger;
}): SchedulerKeeper {
  const { app, registry, sweepQueue, sweeps, events, logger } = deps;

  const upsert = (name: string, everyMs: number) =>
    sweepQueue.upsertJobScheduler(schedulerIdOf(name), { every: everyMs }, scheduledSweep(name));

  return {
    async reconcile() {
      const definitions = await registry.list();
      const existing = new Map(
        (await sweepQueue.getJobSchedulers(0, -1)).map((scheduler) => [scheduler.key, scheduler]),
      );
      const upserted: string[] = [];
      for (const definition of definitions) {
        const current = existing.get(schedulerIdOf(definition.name));
        // Upserting an unchanged scheduler would restart its timing on every call from every process.
        if (current?.every === definition.intervalMs) continue;
        await upsert(definition.name, definition.intervalMs);
        upserted.push(definition.name);
      }
      const wanted = new Set(definitions.map((definition) => schedulerIdOf(definition.name)));
      const removed: string[] = [];
      for (const key of existing.keys()) {
        if (key.startsWith(SCHEDULER_PREFIX) && !wanted.has(key)) {
          await sweepQueue.removeJobScheduler(key);
          removed.push(key.slice(SCHEDULER_PREFIX.length));
        }
      }
      return { upserted, removed };
    },

    async repairStalled(nowMs = Date.now()) {
      const repaired: string[] = [];
      for (const definition of await registry.list()) {
        const scheduler = await sweepQueue.getJobScheduler(schedulerIdOf(definition.name));
        const stats = await sweeps.stats(definition.name);
        const lastTick = stats.lastTickAt ?? stats.startedAt;
        const limit = MISSED_TICKS * definition.intervalMs + GRACE_MS;
        const nextOverdue = scheduler?.next !== undefined && nowMs - scheduler.next > limit;
        // A scheduler younger than the limit may simply not have ticked yet.
        const silent = lastTick !== undefined && nowMs - lastTick > limit;
        if (scheduler && !nextOverdue && !silent) continue;
        logger.warn(
          { app, watchlist: definition.name, lastTick, next: scheduler?.next },
          'repairing a job scheduler that stopped ticking',
        );
        await sweepQueue.removeJobScheduler(schedulerIdOf(definition.name));
        await upsert(definition.name, definition.intervalMs);
        events.emit('schedulerRepaired', { app, watchlist: definition.name });
        repaired.push(definition.name);
      }
      return repaired;
    },
  };
}
