/**
 * A BullMQ worker that is kept taking jobs, and whose close is bounded.
 *
 * A worker can report running and yet take no job: its fetch loop waits on something that never settles. One cause
 * is fixed where connections are made (redis/client.ts: an ioredis Cluster's `connect()` that never settled while a
 * master was gone); the watchdog here covers any other. It looks at the queue through the app's own connection,
 * not the worker's: when jobs are ready (waiting, prioritized, or delayed past their time) at every check for
 * `stuckAfterMs`, while the worker has a free slot, takes none, and the queue is neither rate limited nor paused,
 * the worker is replaced by a new one with the same processor and options, and the old one is closed in the
 * background. BullMQ's own pauses (a retry after a Redis error waits `runRetryDelay`, 15 s; a blocking read is cut
 * after its timeout plus 1 s) stay well below the default limit.
 *
 * Redis refusing writes (full memory or disk, ops/watch-redis.ts `isRedisRefusingWrites`) makes BullMQ's fetch loop
 * fail at once and try again at once, thousands of times a second. The worker is paused instead, for 1 s doubling
 * up to 15 s (BullMQ's own retry delay), with one warning per pause; it is not taking jobs meanwhile (readiness),
 * and the watchdog leaves it be.
 *
 * `close()` lets in-flight jobs finish, but gives up after `closeTimeoutMs` (a worker whose fetch loop is stuck
 * never finishes closing) and then drops the worker's connections: a job cut that way is run again by another
 * worker once its lock expires, as after a crash.
 */
import { Worker, type Job, type Queue, type WorkerOptions } from 'bullmq';
import type { FlowEvents } from '../ops/flow-events.js';
import type { Logger } from '../ops/logger.js';
import { isRedisRefusingWrites } from '../ops/watch-redis.js';

export const DEFAULT_WORKER_CHECK_INTERVAL_MS = 5_000;
export const DEFAULT_WORKER_STUCK_AFTER_MS = 30_000;
export const DEFAULT_WORKER_CLOSE_TIMEOUT_MS = 10_000;
/** A delayed job this late is ready: a working worker promotes it as soon as it is due. */
const DELAYED_DUE_GRACE_MS = 1_000;
/** How long dropping a worker's connections may take after its close gave up. */
const DISCONNECT_TIMEOUT_MS = 2_000;
/** The first pause after Redis refused a write, and the longest (BullMQ's `runRetryDelay`). */
const FIRST_REFUSAL_PAUSE_MS = 1_000;
const MAX_REFUSAL_PAUSE_MS = 15_000;

export interface WorkerWatchdogOptions {
  /** How often the queue is looked at. Default 5 s. */
  checkIntervalMs?: number;
  /** Jobs ready this long with none taken (and a slot free) and the worker is replaced. Default 30 s. */
  stuckAfterMs?: number;
  /** How long a close waits for in-flight jobs before it drops the worker's connections. Default 10 s. */
  closeTimeoutMs?: number;
}

export interface KeptWorkerOptions<Data, Result> extends WorkerWatchdogOptions {
  app: string;
  /** The app's handle on the worker's queue (its own connection): where ready jobs are counted. */
  queue: Queue<Data>;
  processor: (job: Job<Data>) => Promise<Result>;
  /** The worker's options; `concurrency` is also the number of slots the watchdog sees. */
  workerOptions: WorkerOptions & { concurrency: number };
  /** Every worker's `error` listener. */
  onError: (error: Error) => void;
  logger: Logger;
  events: FlowEvents;
  /** Builds a worker. Default `new Worker(queue.name, processor, options)`; tests build one that takes nothing. */
  createWorker?: (
    processor: (job: Job<Data>) => Promise<Result>,
    options: WorkerOptions,
  ) => Worker<Data, Result>;
}

export interface KeptWorker<Data, Result> {
  /** The worker now taking jobs (a new one after a replacement). */
  readonly current: Worker<Data, Result>;
  /** Whether the current worker runs, is not closing and is not paused for a Redis refusing writes (readiness). */
  takingJobs(): boolean;
  /** One watchdog check now (the timer runs them too); true when it replaced the worker. */
  check(): Promise<boolean>;
  /** Stops the watchdog and closes the worker within `closeTimeoutMs` (plus a short disconnect). */
  close(): Promise<void>;
}

/** One worker and what the watchdog knows of it. */
interface Generation<Data, Result> {
  worker: Worker<Data, Result>;
  /** Jobs its processor started, and how many of them have not returned yet. */
  taken: number;
  inFlight: number;
}

export function startKeptWorker<Data, Result>(
  options: KeptWorkerOptions<Data, Result>,
): KeptWorker<Data, Result> {
  const { app, queue, processor, workerOptions, onError, logger, events } = options;
  const checkIntervalMs = options.checkIntervalMs ?? DEFAULT_WORKER_CHECK_INTERVAL_MS;
  const stuckAfterMs = options.stuckAfterMs ?? DEFAULT_WORKER_STUCK_AFTER_MS;
  const closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_WORKER_CLOSE_TIMEOUT_MS;
  const createWorker =
    options.createWorker ??
    ((process: (job: Job<Data>) => Promise<Result>, opts: WorkerOptions) =>
      new Worker<Data, Result>(queue.name, process, opts));

  function start(): Generation<Data, Result> {
    const generation: Generation<Data, Result> = {
      worker: undefined as unknown as Worker<Data, Result>,
      taken: 0,
      inFlight: 0,
    };
    generation.worker = createWorker(async (job) => {
      generation.taken += 1;
      generation.inFlight += 1;
      try {
        return await processor(job);
      } finally {
        generation.inFlight -= 1;
      }
    }, workerOptions);
    generation.worker.on('error', (error) => {
      if (isRedisRefusingWrites(error)) pauseForRefusal(generation, error);
      else onError(error);
    });
    return generation;
  }

  // While Redis refuses writes: the pause under way, and the next one's length (back to the first once a job was
  // taken since the last refusal, or that refusal is long past: a new incident).
  let refusalPause: NodeJS.Timeout | undefined;
  let refusalPauseMs = FIRST_REFUSAL_PAUSE_MS;
  let takenAtRefusal = 0;
  let lastRefusalAt = 0;

  function pauseForRefusal(generation: Generation<Data, Result>, error: Error): void {
    if (refusalPause || closed || generation !== current) return;
    const nowMs = Date.now();
    if (generation.taken !== takenAtRefusal || nowMs - lastRefusalAt > 2 * MAX_REFUSAL_PAUSE_MS) {
      refusalPauseMs = FIRST_REFUSAL_PAUSE_MS;
    }
    const pauseMs = refusalPauseMs;
    refusalPauseMs = Math.min(MAX_REFUSAL_PAUSE_MS, refusalPauseMs * 2);
    takenAtRefusal = generation.taken;
    lastRefusalAt = nowMs;
    // A paused worker takes nothing by design: the watchdog starts counting afresh after the pause.
    readySince = undefined;
    logger.warn(
      { app, queue: queue.name, pauseMs, err: error },
      'Redis refuses writes (out of memory or disk): this worker takes no job for a while',
    );
    // Not waiting for the jobs in flight: they finish (or fail and retry) on their own.
    void generation.worker.pause(true).catch((pauseError: unknown) => onError(asError(pauseError)));
    refusalPause = setTimeout(() => {
      refusalPause = undefined;
      if (!closed && generation === current) void generation.worker.resume();
    }, pauseMs);
    refusalPause.unref();
  }

  let current = start();
  let closed = false;
  // When ready jobs were first seen with the worker taking none; the count of taken jobs at the last check.
  let readySince: number | undefined;
  let takenAtLastCheck = 0;
  let checking = false;

  /** Whether some job could be taken now by a working worker. */
  async function jobsReady(nowMs: number): Promise<boolean> {
    const counts = await queue.getJobCounts('wait', 'prioritized');
    let ready = (counts.wait ?? 0) + (counts.prioritized ?? 0) > 0;
    if (!ready) {
      const [next] = await queue.getDelayed(0, 0);
      ready = next !== undefined && next.timestamp + next.delay < nowMs - DELAYED_DUE_GRACE_MS;
    }
    if (!ready) return false;
    // Jobs a working worker would not take either.
    if ((await queue.getRateLimitTtl()) > 0) return false;
    return !(await queue.isPaused());
  }

  async function check(): Promise<boolean> {
    if (closed || checking || refusalPause) return false;
    checking = true;
    try {
      const generation = current;
      const took = generation.taken !== takenAtLastCheck;
      takenAtLastCheck = generation.taken;
      if (took || generation.inFlight >= workerOptions.concurrency) {
        readySince = undefined;
        return false;
      }
      const nowMs = Date.now();
      let ready: boolean;
      try {
        ready = await jobsReady(nowMs);
      } catch {
        // Redis is away (the outage log says so): the worker could not have taken anything either.
        readySince = undefined;
        return false;
      }
      // A job taken while the queue was read counts as taking; a pause begun meanwhile is not being stuck.
      if (
        !ready ||
        closed ||
        refusalPause ||
        generation !== current ||
        generation.taken !== takenAtLastCheck
      ) {
        readySince = undefined;
        return false;
      }
      readySince ??= nowMs;
      if (nowMs - readySince < stuckAfterMs) return false;
      logger.warn(
        { app, queue: queue.name, readyForMs: nowMs - readySince },
        'a BullMQ worker took no job while jobs were ready: replaced by a new one',
      );
      events.emit('workerReplaced', { app, queue: queue.name });
      current = start();
      readySince = undefined;
      takenAtLastCheck = 0;
      void closeWithin(generation.worker, 'replaced');
      return true;
    } finally {
      checking = false;
    }
  }

  async function closeWithin(worker: Worker<Data, Result>, why: string): Promise<void> {
    const closing = worker.close().catch((error: unknown) => onError(asError(error)));
    if (await settlesWithin(closing, closeTimeoutMs)) return;
    logger.warn(
      { app, queue: queue.name, closeTimeoutMs, why },
      'a BullMQ worker did not close in time: its connections are dropped (a job it still held runs again elsewhere)',
    );
    await settlesWithin(
      worker.disconnect().catch(() => undefined),
      DISCONNECT_TIMEOUT_MS,
    );
  }

  const timer = setInterval(() => void check(), checkIntervalMs);
  timer.unref();
  return {
    get current() {
      return current.worker;
    },
    takingJobs: () => current.worker.isRunning() && !current.worker.closing && !refusalPause,
    check,
    async close() {
      closed = true;
      clearInterval(timer);
      clearTimeout(refusalPause);
      await closeWithin(current.worker, 'stopping');
    },
  };
}

/** True when `promise` settled within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
