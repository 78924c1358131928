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
/** Per app: chunk jobs, one Tencent call per chunk, several chunks per job. */
export const POLL_QUEUE = 'poll';

export interface SweepJobData {
  watchlist: string;
}

export interface ChunkJobData {
  watchlist: string;
  /** Member version the chunk indexes refer to. */
  version: string;
  sweepId: string;
  /** The chunks this job calls, each one call of its own (see `chunkJob`). */
  chunks: number[];
}

/** A chunk job queued by a version that ran one chunk per job (it may still wait in the queue after an upgrade). */
interface OneChunkJobData extends Omit<ChunkJobData, 'chunks'> {
  chunk: number;
}

/** The chunks of a queued chunk job, whichever version queued it. */
export function chunksOf(data: ChunkJobData | OneChunkJobData): number[] {
  return 'chunks' in data ? data.chunks : [data.chunk];
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
 * Chunks of a sweep, several per job: BullMQ's work per job (add, take, lock, finish: a few scripts each) is then
 * paid once for `chunksPerJob` calls. The sweep job cuts a sweep into fixed blocks of chunks; `block` is the first
 * and last index of the block, so the id is deterministic and a re-run sweep job never duplicates its jobs even
 * when it leaves out chunks already done. Failed jobs are retried with backoff, then kept an hour for inspection.
 */
export function chunkJob(input: {
  data: ChunkJobData;
  block: { first: number; last: number };
  priority: number;
  attempts: number;
}): JobSpec<ChunkJobData> {
  return {
    name: 'chunk',
    data: input.data,
    opts: {
      jobId: `${input.data.sweepId}-${input.block.first}-${input.block.last}`,
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
