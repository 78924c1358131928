/**
 * How fast a dead worker's jobs are taken over. A worker renews the lock of each job it runs; when it dies (SIGKILL,
 * OOM) the lock expires and another worker's stalled check, which runs every `stalledInterval`, puts the job back.
 * Until then the chunk counts as running, so its sweep does not complete and every tick of the watchlist is a skip
 * (begin-sweep.lua): the watchlist is blind for up to lockDuration + stalledInterval.
 *
 * BullMQ's defaults (30 s + 30 s) blind a 2 s watchlist for a minute, so both follow the app's shortest interval.
 * The lock has a floor: it is renewed at half its duration from the main thread, and a lock shorter than a long
 * pause of that thread would put a live job back (it would then run twice; the pacer still bounds the calls and
 * the diff's watermark drops the older answer, so that costs cap, not correctness).
 */

/** Never shorter: the main thread may pause this long / 2 without a live job looking dead. */
export const MIN_LOCK_DURATION_MS = 5_000;
/** BullMQ's defaults, kept for slow watchlists: nothing is gained by checking more often than they need. */
export const MAX_LOCK_DURATION_MS = 30_000;
export const MIN_STALLED_INTERVAL_MS = 1_000;
export const MAX_STALLED_INTERVAL_MS = 30_000;

export interface StallSettings {
  /** BullMQ `lockDuration`. */
  lockDurationMs: number;
  /** BullMQ `stalledInterval`. */
  stalledIntervalMs: number;
}

/**
 * The stall settings for workers serving watchlists of these intervals: a lock of one interval and a check every
 * half interval, within the bounds above. A dead worker's chunks are back in the queue within 1.5 intervals (at
 * least 6 s). No watchlist: a 30 s lock checked every 15 s.
 */
export function stallSettingsFor(intervalsMs: readonly number[]): StallSettings {
  const shortest = intervalsMs.length > 0 ? Math.min(...intervalsMs) : MAX_LOCK_DURATION_MS;
  return {
    lockDurationMs: clamp(shortest, MIN_LOCK_DURATION_MS, MAX_LOCK_DURATION_MS),
    stalledIntervalMs: clamp(Math.round(shortest / 2), MIN_STALLED_INTERVAL_MS, MAX_STALLED_INTERVAL_MS),
  };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
