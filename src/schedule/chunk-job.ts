import type { Job } from 'bullmq';
import { Worker } from 'bullmq';
import type { FlowEvents } from '../ops/flow-events.js';
import type { Logger } from '../ops/logger.js';
import { countObserved, toObservations } from '../state/observations.js';
import type { ChunkProgress, CodedObservations, Observation, StateStore } from '../state/state-store.js';
import type { WatchlistDefinition, WatchlistRegistry } from '../state/watchlist-registry.js';
import {
  isTencentError,
  type AccountError,
  type OnlineStatusClient,
  type QuarantinedEntry,
  type UserIdList,
} from '../tencent/index.js';
import { classifyChunkFailure, unrecoverable } from './job-errors.js';
import { chunksOf, type ChunkJobData } from './jobs.js';
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
  /**
   * Calls of one job in flight at once: the worker's jobs in flight times this stays within the calls the process
   * may have in flight, whatever number of chunks the process that queued the job put in it.
   */
  callsPerJob: number;
}

/** One call's answer, ready for the diff: the observations and what is only reported. */
interface ChunkAnswer {
  observations: Observation[] | CodedObservations;
  otherAccountErrors: AccountError[];
  quarantined: QuarantinedEntry[];
  /** Users observed (those the diff compares). */
  users: number;
}

/** What one chunk of a job came to. */
type ChunkResult =
  | { status: 'observed'; users: number; events: number; stale: number }
  /** No call: the watchlist version or sweep is gone. */
  | { status: 'obsolete' }
  /** Counted for its sweep as given up; the job fails (for inspection) once its other chunks are through. */
  | { status: 'givenUp'; error: unknown }
  /** To be run again: with the job's next attempt, or without spending one after a rate-limit answer. */
  | { status: 'retry' | 'rateLimited'; error: unknown };

/** A chunk job's result, kept by BullMQ: counts of its chunks and the users and events of those observed. */
export interface ChunkJobOutcome {
  observed: number;
  obsolete: number;
  /** Already finished by an earlier run of the job (a retry, a stalled or rate-limited run). */
  done: number;
  users: number;
  events: number;
  stale: number;
}

/**
 * One chunk job = a few chunks of one sweep, each one Tencent call: query up to 500 users (the call waits for its
 * send slot in the transport), diff the answer into Redis (state + outbox in one script), count the chunk as done
 * for its sweep. The chunks of a job run side by side and fail apart: a failed one does not stop the others, and
 * the job is retried for the failed ones only, as the chunks already counted done for the sweep are skipped then
 * (see ARCHITECTURE.md, "Chunk jobs").
 */
export function createChunkProcessor(
  deps: ChunkJobDeps,
): (job: Job<ChunkJobData>) => Promise<ChunkJobOutcome> {
  const { app, registry, client, stateStore, sweeps, events, logger } = deps;
  const lastFatalLogAt = new Map<string, number>();
  const reportQuarantine = createQuarantineReporter(app, events, logger);

  return async function processChunkJob(job) {
    const data = job.data;
    let chunks = chunksOf(data);
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    let definition: WatchlistDefinition | undefined;
    let currentSweep: string | undefined;
    let members: Map<number, UserIdList>;
    try {
      // A job that ran before (a retry, a stalled or rate-limited run) skips the chunks it already finished: they
      // are set in the sweep's done bitmap, given-up ones included. Calling them again would only spend the cap
      // (the diff would drop or repeat nothing: the watermark and the stored states see to that).
      const ranBefore = job.attemptsStarted > 1 || job.attemptsMade > 0;
      let done: Set<number> | undefined;
      [definition, currentSweep, done] = await Promise.all([
        registry.get(data.watchlist),
        sweeps.currentSweepId(data.watchlist),
        ranBefore ? sweeps.doneChunks(data.watchlist, Math.max(...chunks) + 1) : undefined,
      ]);
      if (done && currentSweep === data.sweepId) chunks = chunks.filter((chunk) => !done.has(chunk));
      // The member lists of all the job's chunks in one read (they lie side by side in the version's list).
      members =
        definition && currentSweep === data.sweepId
          ? await registry.readChunks(data.watchlist, data.version, chunks)
          : new Map();
    } catch (error) {
      // Redis failed before any call: the job's chunks are each handled as failed, as one chunk was before.
      return settle(job, await Promise.all(chunks.map((chunk) => failure(data, chunk, error, lastAttempt))));
    }
    const current = definition && currentSweep === data.sweepId ? definition : undefined;
    const results = await mapLimited(chunks, deps.callsPerJob, async (chunk): Promise<ChunkResult> => {
      try {
        return await observeChunk(data, chunk, current, members.get(chunk));
      } catch (error) {
        // Every failure, Tencent's or Redis's, goes through one policy, so a chunk's last attempt is always
        // counted for its sweep (else the sweep would never complete and later ticks would be skipped).
        return await failure(data, chunk, error, lastAttempt);
      }
    });
    return settle(job, results);
  };

  async function observeChunk(
    data: ChunkJobData,
    chunk: number,
    definition: WatchlistDefinition | undefined,
    userIds: UserIdList | undefined,
  ): Promise<ChunkResult> {
    if (!definition || !userIds) {
      // The watchlist changed or went away after this job was queued (the new version has its own sweep), or its
      // sweep was abandoned for a newer one: calling Tencent for it would only spend the cap twice.
      events.emit('chunkObsolete', { app, watchlist: data.watchlist });
      await recordSweepProgress(data, chunk);
      return { status: 'obsolete' };
    }

    // Detail if any watchlist of a member asks for it (the sync marks such chunks), see chunksWithDetailUsers.
    const detail = definition.detail || (definition.detailChunks?.includes(chunk) ?? false);
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
      source: { watchlist: data.watchlist, version: data.version, chunk },
      observedAtMs,
      firstObservation: definition.firstObservation,
      deviceEvents: definition.deviceEvents,
      observations,
      countDoneFor: data.sweepId,
    });
    events.emit('chunkObserved', {
      app,
      watchlist: definition.name,
      users: answer.users,
      events: applied.events,
      stale: applied.stale,
    });
    await recordSweepProgress(data, chunk, applied.chunkProgress);
    return { status: 'observed', users: answer.users, events: applied.events, stale: applied.stale };
  }

  /**
   * One call. Without detail the answer is read as codes when the client can (no object per user on the hot path);
   * both readings validate alike and observe the same users.
   */
  async function query(userIds: UserIdList, detail: boolean, priority: number): Promise<ChunkAnswer> {
    if (!detail && client.queryOnlineStatusCodes) {
      const { codes, otherAccountErrors, quarantined } = await client.queryOnlineStatusCodes(userIds, {
        priority,
      });
      const observations = { userIds, codes };
      return { observations, otherAccountErrors, quarantined, users: countObserved(observations) };
    }
    const result = await client.queryOnlineStatus(userIds.ids(), { detail, priority });
    const { observations, otherAccountErrors } = toObservations(result, detail);
    return { observations, otherAccountErrors, quarantined: result.quarantined, users: observations.length };
  }

  /** Counts the chunk done for its sweep, unless the diff did (`counted`), and acts on what that came to. */
  async function recordSweepProgress(
    data: ChunkJobData,
    chunk: number,
    counted?: ChunkProgress,
  ): Promise<void> {
    const { startNext, durationMs } =
      counted ??
      (await sweeps.finishChunk({
        watchlist: data.watchlist,
        sweepId: data.sweepId,
        chunk,
        nowMs: Date.now(),
      }));
    if (durationMs !== undefined) {
      events.emit('sweepCompleted', { app, watchlist: data.watchlist, durationMs });
    }
    if (startNext) await deps.startFollowUpSweep(data.watchlist);
  }

  /**
   * A chunk's failure, as it happens: a rate-limit answer pauses every process at once (not when the job's other
   * chunks are through), and a chunk given up is counted for its sweep.
   */
  async function failure(
    data: ChunkJobData,
    chunk: number,
    error: unknown,
    lastAttempt: boolean,
  ): Promise<ChunkResult> {
    const action = classifyChunkFailure(error);
    if (isTencentError(error)) {
      events.emit('callFailed', { app, kind: error.kind, errorCode: error.errorCode });
    }
    if (action.type === 'rate_limit') {
      events.emit('rateLimited', { app });
      await deps.penalize(action.pauseMs);
      if (action.pauseQueue) await deps.pauseQueue(action.pauseMs);
      return { status: 'rateLimited', error };
    }
    if (action.type === 'retry' && !lastAttempt) return { status: 'retry', error };
    events.emit('chunkGivenUp', { app, watchlist: data.watchlist, error });
    await recordSweepProgress(data, chunk).catch((progressError: unknown) =>
      logger.warn(
        { app, err: progressError },
        'could not count a given-up chunk; the stale limit ends its sweep',
      ),
    );
    if (action.type === 'give_up' && action.fatalConfig) logFatal(error);
    return { status: 'givenUp', error };
  }

  /**
   * The job's end, once every chunk is through. A rate-limited chunk gives the job back without spending an
   * attempt; else a chunk to retry fails the job for BullMQ's retry with backoff (as does a chunk given up on the
   * last attempt: the job is out of attempts); a chunk given up for good fails it for inspection, never retried.
   * Whichever way, the next run calls only the chunks not counted done.
   */
  function settle(job: Job<ChunkJobData>, results: ChunkResult[]): ChunkJobOutcome {
    const first = (status: ChunkResult['status']) => results.find((result) => result.status === status);
    if (first('rateLimited')) throw Worker.RateLimitError();
    const retry = first('retry');
    if (retry && 'error' in retry) throw retry.error;
    const givenUp = first('givenUp');
    if (givenUp && 'error' in givenUp) {
      const action = classifyChunkFailure(givenUp.error);
      throw action.type === 'give_up' ? unrecoverable(givenUp.error) : givenUp.error;
    }
    const outcome: ChunkJobOutcome = {
      observed: 0,
      obsolete: 0,
      done: chunksOf(job.data).length,
      users: 0,
      events: 0,
      stale: 0,
    };
    for (const result of results) {
      outcome.done -= 1;
      if (result.status === 'observed') {
        outcome.observed += 1;
        outcome.users += result.users;
        outcome.events += result.events;
        outcome.stale += result.stale;
      } else if (result.status === 'obsolete') outcome.obsolete += 1;
    }
    return outcome;
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

/** `fn` over `items`, at most `limit` at once, results in the order of `items`. */
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  // A failure stops the lanes taking new items and is thrown only once the calls already running have settled:
  // BullMQ's retry of the job must not run beside them (the same chunks called twice, one of them maybe uncounted).
  let failed: { error: unknown } | undefined;
  const lane = async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index]!);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, lane));
  if (failed) throw failed.error;
  return results;
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
