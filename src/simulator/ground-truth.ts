/**
 * The simulator's oracle: an append-only log of every change it made to a user, in order. Tests compare what the
 * poller published against it.
 */
import type { DeviceStatus, PresenceState } from '../tencent/types.js';

export type ChangeCause = 'churn' | 'manual';

export interface GroundTruthEntry {
  userId: string;
  /** Top-level state before the change (equal to `to` when only devices changed). */
  from: PresenceState;
  to: PresenceState;
  /** Every known device after the change, including Offline ones. */
  devices: DeviceStatus[];
  /** Wall-clock time of the change, Unix ms. */
  atMs: number;
  cause: ChangeCause;
}

export interface GroundTruthLog {
  append(entry: GroundTruthEntry): void;
  /** A copy of the retained entries, oldest first. */
  entries(): GroundTruthEntry[];
  /** Entries appended so far, including any dropped by the size bound. */
  readonly total: number;
  /** Entries dropped because the log exceeded `maxEntries`. */
  readonly dropped: number;
}

/**
 * @param maxEntries retained entries; the oldest are dropped beyond it (counted in `dropped`); default 1,000,000.
 */
export function createGroundTruthLog(maxEntries = 1_000_000): GroundTruthLog {
  let log: GroundTruthEntry[] = [];
  let total = 0;
  let dropped = 0;
  return {
    append(entry) {
      log.push(entry);
      total++;
      if (log.length > maxEntries * 1.1) {
        const excess = log.length - maxEntries;
        log = log.slice(excess);
        dropped += excess;
      }
    },
    entries() {
      const excess = Math.max(0, log.length - maxEntries);
      return log.slice(excess);
    },
    get total() {
      return total;
    },
    get dropped() {
      return dropped + Math.max(0, log.length - maxEntries);
    },
  };
}
