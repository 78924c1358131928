/**
 * Tencent's per-app call cap as a strict sliding one-second window: a call is admitted only if fewer than `cap` calls
 * were admitted in the preceding `windowMs` (the half-open interval (now - windowMs, now]). Rejected calls do not
 * count towards the window.
 */

export interface RateWindow {
  /** Admits (and records) a call at `nowMs`, or rejects it. Times must not go backwards. */
  tryAdmit(nowMs: number): boolean;
  readonly cap: number;
  readonly admitted: number;
  readonly rejected: number;
  /** Most calls admitted in any window of `windowMs`, computed exactly from the admitted timestamps. */
  readonly maxInAnyWindow: number;
  /** Zeroes the counters and the maximum but keeps the admission history, so the cap still holds across it. */
  resetCounters(): void;
}

/**
 * @param cap calls per window (Tencent default for query_online_status: 200 per second)
 * @param windowMs window length in ms; default 1000
 */
export function createRateWindow(cap: number, windowMs = 1_000): RateWindow {
  if (!Number.isSafeInteger(cap) || cap < 1) throw new RangeError('cap must be a positive integer');
  // The last `cap` admitted timestamps, as a ring: the oldest of them decides admission.
  const ring = new Float64Array(cap);
  let head = 0;
  let filled = 0;
  // Admitted timestamps of the last window, for the exact maximum (a queue over a growable array).
  let recent: number[] = [];
  let recentStart = 0;
  let admitted = 0;
  let rejected = 0;
  let maxInAnyWindow = 0;

  return {
    tryAdmit(nowMs) {
      if (filled === cap && (ring[head] as number) > nowMs - windowMs) {
        rejected++;
        return false;
      }
      ring[head] = nowMs;
      head = (head + 1) % cap;
      if (filled < cap) filled++;
      admitted++;
      while (recentStart < recent.length && (recent[recentStart] as number) <= nowMs - windowMs)
        recentStart++;
      recent.push(nowMs);
      if (recentStart > 4096) {
        recent = recent.slice(recentStart);
        recentStart = 0;
      }
      maxInAnyWindow = Math.max(maxInAnyWindow, recent.length - recentStart);
      return true;
    },
    get cap() {
      return cap;
    },
    get admitted() {
      return admitted;
    },
    get rejected() {
      return rejected;
    },
    get maxInAnyWindow() {
      return maxInAnyWindow;
    },
    resetCounters() {
      admitted = 0;
      rejected = 0;
      maxInAnyWindow = 0;
    },
  };
}

/**
 * The most timestamps that fall in any half-open window [t, t + windowMs), by a two-pointer sweep over sorted input.
 * An independent reference for tests and for checking recorded call times.
 */
export function maxInAnyWindow(timestamps: readonly number[], windowMs = 1_000): number {
  const sorted = [...timestamps].sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while ((sorted[lo] as number) <= (sorted[hi] as number) - windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}
