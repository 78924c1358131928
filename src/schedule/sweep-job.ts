import type { Job, Queue } from 'bullmq';
import type { FlowEvents } from '../ops/flow-events.js';
import type { Logger } from '../ops/logger.js';
import type { WatchlistRegistry } from '../state/watchlist-registry.js';
import { chunkJob, safeJobId, type ChunkJobData, type SweepJobData } from './jobs.js';
import type { SweepTracker } from './sweep-tracker.js';

export interface SweepJobDeps {
  app: string;
  registry: WatchlistRegistry;
  sweeps: SweepTracker;
  pollQueue: Queue<ChunkJobData>;
  events: FlowEvents;
  /** Attempts per chunk job before its users wait for the next sweep. */
  chunkAttempts: number;
  /** Chunks per chunk job (jobs.ts). */
  chunksPerJob: number;
  /** The app's outbox: while it holds `maxEntries` events or more, new sweeps are deferred (backpressure). */
  outbox: { maxEntries: number; length(): Promise<number> };
  logger: Logger;
}

/**
 * A sweep still running after this many intervals (and at least `MIN_STALE_MS`) is abandoned, not waited on: its
 * queued chunks then finish as obsolete without a call, so abandoning costs nothing but the users' wait.
 */
export const STALE_AFTER_INTERVALS = 3;
export const MIN_STALE_MS = 60_000;
/** Chunk jobs per addBulk. */
const ADD_BATCH = 100;

/**
 * One sweep job per scheduler tick: applies the overlap policy, then queues the sweep's chunks (500 members each),
 * `chunksPerJob` to a job, with `addBulk`, 100 jobs at a time. Chunk job ids are deterministic (jobs.ts), so a
 * re-run sweep job never duplicates its chunks.
 */
export function createSweepProcessor(deps: SweepJobDeps): (job: Job<SweepJobData>) => Promise<string> {
  const { app, registry, sweeps, pollQueue, events, chunkAttempts, chunksPerJob, outbox, logger } = deps;
  let backpressure = false;

  /**
   * Backpressure: a sweep makes events faster than a relay publishes them in a burst (a first sweep, a mass
   * change). While the outbox is over its bound, due sweeps are deferred to a later tick, so observation slows to
   * the relay's pace instead of Redis memory running out. The tick still counts for the watchdogs.
   */
  async function deferred(watchlist: string): Promise<boolean> {
    const waiting = await outbox.length();
    if (waiting < outbox.maxEntries) {
      if (backpressure)
        logger.info({ app, outbox: waiting }, 'outbox drained below its bound; sweeps resume');
      backpressure = false;
      return false;
    }
    if (!backpressure) {
      logger.warn(
        { app, outbox: waiting, outboxMaxEntries: outbox.maxEntries },
        'outbox over redis.outboxMaxEntries: new sweeps are deferred until the relay drains it',
      );
    }
    backpressure = true;
    await sweeps.recordTick(watchlist, Date.now());
    return true;
  }

  return async function processSweep(job) {
    const definition = await registry.get(job.data.watchlist);
    if (!definition) return 'removed';
    if (await deferred(definition.name)) {
      events.emit('sweepDecided', { app, watchlist: definition.name, decision: 'deferred' });
      return 'deferred';
    }
    const sweepId = safeJobId(job.id ?? `${definition.name}-${job.timestamp}`);
    const decision = await sweeps.begin({
      watchlist: definition.name,
      sweepId,
      chunks: definition.chunkCount,
      version: definition.version,
      nowMs: Date.now(),
      staleAfterMs: Math.max(MIN_STALE_MS, STALE_AFTER_INTERVALS * definition.intervalMs),
    });
    events.emit('sweepDecided', { app, watchlist: definition.name, decision });
    if (decision === 'skip') return decision;

    // A re-run sweep job resumes: chunks already done (their jobs are gone) must not be queued and called again.
    const done =
      decision === 'resume' ? await sweeps.doneChunks(definition.name, definition.chunkCount) : undefined;
    const chunkJobs = [];
    for (let first = 0; first < definition.chunkCount; first += chunksPerJob) {
      const last = Math.min(first + chunksPerJob, definition.chunkCount) - 1;
      const chunks = Array.from({ length: last - first + 1 }, (_, i) => first + i).filter(
        (chunk) => !done?.has(chunk),
      );
      if (chunks.length === 0) continue;
      chunkJobs.push(
        chunkJob({
          data: { watchlist: definition.name, version: definition.version, sweepId, chunks },
          block: { first, last },
          priority: definition.priority,
          attempts: chunkAttempts,
        }),
      );
    }
    // Small batches: the first chunks can start while the rest is queued. The sweep's clock runs from begin, and
    // one addBulk of a whole sweep's prioritized jobs takes ten times as long as one of 100, with the cap idle.
    for (let i = 0; i < chunkJobs.length; i += ADD_BATCH)
      await pollQueue.addBulk(chunkJobs.slice(i, i + ADD_BATCH));
    return decision;
  };
}
