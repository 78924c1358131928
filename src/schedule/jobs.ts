/**
 * The BullMQ jobs of one app, defined once: queue names, each job kind's payload, and the options every producer
 * of a job uses (the job schedulers, the sweep job, the chunk job's follow-up sweep), so producers and processors
 * always agree.
 */
import { Queue, type JobsOptions } from 'bullmq';
import type { RedisClient } from '../redis/client.js';
import type { AppKeys } from '../redis/keys.js';

/** Per app: sweep jobs, produced by the job schedulers (one scheduler per watchlist). */
export const SWEEP_QUEUE = 'sweep';
/** Per app: chunk jobs, one Tencent call each. */
export const POLL_QUEUE = 'poll';

export interface SweepJobData {
  watchlist: string;
}

export interface ChunkJobData {
  watchlist: string;
  /** Member version the chunk index refers to. */
  version: string;
  sweepId: string;
  chunk: number;
}

/** What a job needs to be queued: BullMQ's `add`/`addBulk` entry. */
export interface JobSpec<Data> {
  name: string;
  data: Data;
  opts: JobsOptions;
}

/** Sweep jobs leave nothing behind when done; a few failed ones are kept to look at. */
const SWEEP_JOB_OPTIONS = { removeOnComplete: true, removeOnFail: { count: 100 } } satisfies JobsOptions;

/** The job scheduler id of a watchlist (idempotent upsert by every process). */
export function schedulerIdOf(watchlist: string): string {
  return `watchlist-${watchlist}`;
}

/** The job a watchlist's scheduler produces at every tick. */
export function scheduledSweep(watchlist: string): JobSpec<SweepJobData> {
  return { name: 'sweep', data: { watchlist }, opts: SWEEP_JOB_OPTIONS };
}

/** The sweep started when a running one completes after a tick was deferred meanwhile (see begin-sweep.lua). */
export function followUpSweep(watchlist: string, nowMs: number): JobSpec<SweepJobData> {
  // Not derived from the previous sweep's id: follow-ups of follow-ups would grow it every time.
  return {
    name: 'sweep',
    data: { watchlist },
    opts: { ...SWEEP_JOB_OPTIONS, jobId: `after-${watchlist}-${nowMs}` },
  };
}

/**
 * One chunk of a sweep. The id is deterministic, so a re-run sweep job never duplicates its chunks; failed chunks
 * are retried with backoff, then kept an hour for inspection.
 */
export function chunkJob(input: {
  data: ChunkJobData;
  priority: number;
  attempts: number;
}): JobSpec<ChunkJobData> {
  return {
    name: 'chunk',
    data: input.data,
    opts: {
      jobId: `${input.data.sweepId}-${input.data.chunk}`,
      priority: input.priority,
      attempts: input.attempts,
      backoff: { type: 'exponential', delay: 250 },
      removeOnComplete: true,
      removeOnFail: { age: 3_600, count: 1_000 },
    },
  };
}

/** BullMQ custom job ids may not contain ':'; scheduler iteration ids do. */
export function safeJobId(id: string): string {
  return id.replaceAll(':', '_');
}

export interface AppQueues {
  sweepQueue: Queue<SweepJobData>;
  pollQueue: Queue<ChunkJobData>;
}

/** The app's two queues on `redis`, under the app's hash-tagged BullMQ prefix. */
export function createAppQueues(redis: RedisClient, keys: AppKeys): AppQueues {
  return {
    sweepQueue: new Queue<SweepJobData>(SWEEP_QUEUE, { connection: redis, prefix: keys.bullPrefix }),
    pollQueue: new Queue<ChunkJobData>(POLL_QUEUE, { connection: redis, prefix: keys.bullPrefix }),
  };
}
