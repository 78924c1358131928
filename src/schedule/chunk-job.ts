import type { Job } from 'bullmq';
import { Worker } from 'bullmq';
import type { FlowEvents } from '../ops/flow-events.js';
import type { Logger } from '../ops/logger.js';
import { countObserved, toObservations } from '../state/observations.js';
import type { CodedObservations, Observation, StateStore } from '../state/state-store.js';
import type { WatchlistRegistry } from '../state/watchlist-registry.js';
import {
  isTencentError,
  type AccountError,
  type OnlineStatusClient,
  type QuarantinedEntry,
} from '../tencent/index.js';
import { classifyChunkFailure, unrecoverable } from './job-errors.js';
import type { ChunkJobData } from './jobs.js';
import type { SweepTracker } from './sweep-tracker.js';

export interface ChunkJobDeps {
  app: string;
  registry: WatchlistRegistry;
  /** Sends through the paced transport: every call waits for its send slot there. */
  client: OnlineStatusClient;
  stateStore: StateStore;
  sweeps: SweepTracker;
  events: FlowEvents;
  logger: Logger;
  /** After a rate-limit answer: pauses every process's send slots for `pauseMs` and slows the pace. */
  penalize(pauseMs: number): Promise<unknown>;
  /** Pauses this app's poll queue (all processes) after a rate-limit answer. */
  pauseQueue(ms: number): Promise<void>;
  /** Queues the follow-up sweep of a watchlist whose tick was deferred while its last sweep ran. */
  startFollowUpSweep(watchlist: string): Promise<void>;
}

/** One call's answer, ready for the diff: the observations and what is only reported. */
interface ChunkAnswer {
  observations: Observation[] | CodedObservations;
  otherAccountErrors: AccountError[];
  quarantined: QuarantinedEntry[];
  /** Users observed (those the diff compares). */
  users: number;
}

export type ChunkOutcome =
  { status: 'observed'; users: number; events: number; stale: number } | { status: 'obsolete' };

/**
 * One chunk job = one Tencent call: query up to 500 users (the call waits for its send slot in the transport), diff
 * the answer into Redis (state + outbox in one script), count the chunk as done for its sweep.
 */
export function createChunkProcessor(deps: ChunkJobDeps): (job: Job<ChunkJobData>) => Promise<ChunkOutcome> {
  const { app, registry, client, stateStore, sweeps, events, logger } = deps;
  const lastFatalLogAt = new Map<string, number>();
  const reportQuarantine = createQuarantineReporter(app, events, logger);

  const finish = (data: ChunkJobData) =>
    sweeps.finishChunk({
      watchlist: data.watchlist,
      sweepId: data.sweepId,
      chunk: data.chunk,
      nowMs: Date.now(),
    });

  return async function processChunk(job) {
    try {
      return await observeChunk(job);
    } catch (error) {
      // Every failure, Tencent's or Redis's, goes through one policy, so a chunk's last attempt is always counted
      // for its sweep (else the sweep would never complete and later ticks would be skipped).
      return await handleFailure(job, error);
    }
  };

  async function observeChunk(job: Job<ChunkJobData>): Promise<ChunkOutcome> {
    const data = job.data;
    const [definition, userIds, currentSweep] = await Promise.all([
      registry.get(data.watchlist),
      registry.readChunk(data.watchlist, data.version, data.chunk),
      sweeps.currentSweepId(data.watchlist),
    ]);
    if (!definition || !userIds || currentSweep !== data.sweepId) {
      // The watchlist changed or went away after this job was queued (the new version has its own sweep), or its
      // sweep was abandoned for a newer one: calling Tencent for it would only spend the cap twice.
      events.emit('chunkObsolete', { app, watchlist: data.watchlist });
      await recordSweepProgress(data);
      return { status: 'obsolete' };
    }

    // Detail if any watchlist of a member asks for it (the sync marks such chunks), see chunksWithDetailUsers.
    const detail = definition.detail || (definition.detailChunks?.includes(data.chunk) ?? false);
    let answer: ChunkAnswer;
    try {
      answer = await query(userIds, detail, definition.priority);
      events.emit('call', { app, outcome: 'ok' });
    } catch (error) {
      events.emit('call', { app, outcome: 'error' });
      throw error;
    }
    const observedAtMs = Date.now();
    // Set-aside entries are only reported: their users are not observed by this call, the rest is applied.
    reportQuarantine(definition.name, answer.quarantined);
    const { observations, otherAccountErrors } = answer;
    if (otherAccountErrors.length > 0) {
      events.emit('accountErrors', { app, errorCodes: otherAccountErrors.map((error) => error.errorCode) });
    }
    const applied = await stateStore.applyObservations({
      source: { watchlist: data.watchlist, version: data.version, chunk: data.chunk },
      observedAtMs,
      firstObservation: definition.firstObservation,
      deviceEvents: definition.deviceEvents,
      observations,
    });
    events.emit('chunkObserved', {
      app,
      watchlist: definition.name,
      users: answer.users,
      events: applied.events,
      stale: applied.stale,
    });
    await recordSweepProgress(data);
    return { status: 'observed', users: answer.users, events: applied.events, stale: applied.stale };
  }

  /**
   * One call. Without detail the answer is read as codes when the client can (no object per user on the hot path);
   * both readings validate alike and observe the same users.
   */
  async function query(userIds: string[], detail: boolean, priority: number): Promise<ChunkAnswer> {
    if (!detail && client.queryOnlineStatusCodes) {
      const { codes, otherAccountErrors, quarantined } = await client.queryOnlineStatusCodes(userIds, {
        priority,
      });
      const observations = { userIds, codes };
      return { observations, otherAccountErrors, quarantined, users: countObserved(observations) };
    }
    const result = await client.queryOnlineStatus(userIds, { detail, priority });
    const { observations, otherAccountErrors } = toObservations(result, detail);
    return { observations, otherAccountErrors, quarantined: result.quarantined, users: observations.length };
  }

  async function recordSweepProgress(data: ChunkJobData): Promise<void> {
    const { startNext, durationMs } = await finish(data);
    if (durationMs !== undefined) {
      events.emit('sweepCompleted', { app, watchlist: data.watchlist, durationMs });
    }
    if (startNext) await deps.startFollowUpSweep(data.watchlist);
  }

  async function handleFailure(job: Job<ChunkJobData>, error: unknown): Promise<never> {
    const action = classifyChunkFailure(error);
    if (isTencentError(error)) {
      events.emit('callFailed', { app, kind: error.kind, errorCode: error.errorCode });
    }
    if (action.type === 'rate_limit') {
      events.emit('rateLimited', { app });
      await deps.penalize(action.pauseMs);
      if (action.pauseQueue) await deps.pauseQueue(action.pauseMs);
      throw Worker.RateLimitError();
    }
    const lastAttempt = action.type === 'give_up' || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (lastAttempt) {
      events.emit('chunkGivenUp', { app, watchlist: job.data.watchlist, error });
      await recordSweepProgress(job.data).catch((progressError: unknown) =>
        logger.warn(
          { app, err: progressError },
          'could not count a given-up chunk; the stale limit ends its sweep',
        ),
      );
    }
    if (action.type === 'give_up') {
      if (action.fatalConfig) logFatal(error);
      throw unrecoverable(error);
    }
    throw error;
  }

  function logFatal(error: unknown): void {
    const key = isTencentError(error) ? String(error.errorCode ?? error.code) : 'unknown';
    const now = Date.now();
    if (now - (lastFatalLogAt.get(key) ?? 0) < 60_000) return;
    lastFatalLogAt.set(key, now);
    logger.error(
      { app, err: error },
      'Tencent rejected the configuration: polling cannot succeed until it is fixed',
    );
  }
}

/** Users remembered as logged per kind; past this the memory starts over (a few lines repeat, memory stays bounded). */
const MAX_REMEMBERED_QUARANTINES = 10_000;

/**
 * Counts every quarantined entry and logs it once per user and kind: an anomaly that persists (one user whose
 * state Tencent reports as "Busy" every sweep) is one warning, not one per sweep.
 */
function createQuarantineReporter(
  app: string,
  events: FlowEvents,
  logger: Logger,
): (watchlist: string, quarantined: readonly QuarantinedEntry[]) => void {
  const logged = new Set<string>();
  return (watchlist, quarantined) => {
    if (quarantined.length === 0) return;
    events.emit('entriesQuarantined', { app, kinds: quarantined.map((entry) => entry.kind) });
    for (const entry of quarantined) {
      const key = `${entry.kind}\n${entry.userId ?? ''}`;
      if (logged.has(key)) continue;
      if (logged.size >= MAX_REMEMBERED_QUARANTINES) logged.clear();
      logged.add(key);
      logger.warn(
        { app, watchlist, userId: entry.userId, kind: entry.kind, reason: entry.reason },
        'answer entry set aside: this user is not observed by this call, the rest of the chunk is applied',
      );
    }
  };
}
