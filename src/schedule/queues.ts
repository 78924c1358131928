/** Queue names and the payload of each job kind (one typed map, so producers and processors agree). */

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

/** The job scheduler id of a watchlist (idempotent upsert by every process). */
export function schedulerIdOf(watchlist: string): string {
  return `watchlist-${watchlist}`;
}

/** BullMQ custom job ids may not contain ':'; scheduler iteration ids do. */
export function safeJobId(id: string): string {
  return id.replaceAll(':', '_');
}
