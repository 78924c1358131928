/**
 * The detection bench's judge (bench/detection.ts): pairs each change of the simulator's ground truth with the
 * transition that published it, and counts the changes that lasted long enough to be seen and never were.
 */
import { parseDurationMs } from '../src/config/duration.js';
import { appSchema } from '../src/config/schema.js';
import type { GroundTruthEntry } from '../src/simulator/index.js';
import { percentile } from './latency.js';

/** A transition as it reached Kafka: its observation time and its append time (LogAppendTime), ms. */
export interface Appended {
  userId: string;
  to: string;
  observedMs: number;
  appendMs: number;
}

export interface LostChange {
  change: GroundTruthEntry;
  /** When the user changed next (ms), if it did. */
  untilMs: number | undefined;
  userChanges: Array<Pick<GroundTruthEntry, 'from' | 'to' | 'atMs' | 'cause'>>;
  userTransitions: Array<Omit<Appended, 'userId'>>;
}

export interface Percentiles {
  p50: number | undefined;
  p99: number | undefined;
}

/**
 * The longest a call may take (the service's default `requestTimeout`, which the detection bench keeps): a
 * transition observed up to this long after a short state ended may still have been read while it lasted.
 */
const MAX_CALL_MS = parseDurationMs(appSchema.shape.requestTimeout.parse(undefined))!;

/**
 * Pairs each change of the window with the first transition to the same state observed after it, for its user.
 * A change replaced by another change of the same user within `minLastingMs` (before a sweep was certain to see it)
 * is not counted.
 */
export function matchChanges(
  changes: readonly GroundTruthEntry[],
  appended: readonly Appended[],
  { windowStart, windowEnd, minLastingMs }: { windowStart: number; windowEnd: number; minLastingMs: number },
) {
  const byUser = new Map<string, Array<Appended & { used: boolean }>>();
  for (const a of appended) {
    const list = byUser.get(a.userId) ?? [];
    list.push({ ...a, used: false });
    byUser.set(a.userId, list);
  }
  const nextChange = new Map<number, number>();
  const previousChange = new Map<number, number>();
  const lastIndex = new Map<string, number>();
  changes.forEach((change, i) => {
    const previous = lastIndex.get(change.userId);
    if (previous !== undefined) {
      nextChange.set(previous, change.atMs);
      previousChange.set(i, previous);
    }
    lastIndex.set(change.userId, i);
  });
  // A return to the state published before a run of changes too short to count: if none of them was published,
  // the published state never left this one, so there is nothing to publish (and no latency to measure). The run
  // may hold several changes (Online -> PushOnline -> Offline -> Online, each shorter than a sweep could see).
  const returnsToPublished = (i: number): boolean => {
    const change = changes[i]!;
    const published = byUser.get(change.userId) ?? [];
    let later = change;
    for (let p = previousChange.get(i); p !== undefined; p = previousChange.get(p)) {
      const blip = changes[p]!;
      if (later.atMs - blip.atMs >= minLastingMs) return false;
      // A publication of the short state observed while it lasted (or within a call's time after) saw it. Not a
      // later one: the same state reached again after the return is a change of its own, and counting it here
      // made the return look lost.
      const seen = (a: Appended) =>
        a.to === blip.to && a.observedMs >= blip.atMs && a.observedMs < later.atMs + MAX_CALL_MS;
      if (published.some(seen)) return false;
      if (blip.from === change.to) return true;
      later = blip;
    }
    return false;
  };
  const withCallback: number[] = [];
  const toObservation: number[] = [];
  const observationToKafka: number[] = [];
  const slowSeconds = new Map<number, { count: number; maxMs: number }>();
  const withoutCallback: number[] = [];
  let lost = 0;
  const lostChanges: LostChange[] = [];
  changes.forEach((change, i) => {
    if (change.atMs < windowStart || change.atMs > windowEnd || change.from === change.to) return;
    const until = nextChange.get(i) ?? Infinity;
    if (until - change.atMs < minLastingMs) return;
    const match = byUser
      .get(change.userId)
      ?.find((a) => !a.used && a.to === change.to && a.observedMs >= change.atMs);
    // Seen while it lasted, even if the relay appended it later (a busy relay is latency, not a loss).
    if (!match || match.observedMs > until) {
      if (!returnsToPublished(i)) {
        lost++;
        if (lostChanges.length < 10) {
          lostChanges.push({
            change,
            untilMs: nextChange.get(i),
            userChanges: changes
              .filter((c) => c.userId === change.userId)
              .map(({ from, to, atMs, cause }) => ({ from, to, atMs, cause })),
            userTransitions: (byUser.get(change.userId) ?? []).map(({ to, observedMs, appendMs }) => ({
              to,
              observedMs,
              appendMs,
            })),
          });
        }
      }
      return;
    }
    match.used = true;
    const latency = match.appendMs - change.atMs;
    const callback = change.to === 'Online' || (change.from === 'Online' && change.to === 'Offline');
    (callback ? withCallback : withoutCallback).push(latency);
    if (callback) {
      toObservation.push(match.observedMs - change.atMs);
      const toKafkaMs = match.appendMs - match.observedMs;
      observationToKafka.push(toKafkaMs);
      if (toKafkaMs > 500) {
        const second = Math.floor((match.observedMs - windowStart) / 1000);
        const slow = slowSeconds.get(second) ?? { count: 0, maxMs: 0 };
        slowSeconds.set(second, { count: slow.count + 1, maxMs: Math.max(slow.maxMs, toKafkaMs) });
      }
    }
  });
  const summary = (list: number[]) => ({
    count: list.length,
    p50: percentile(list, 50),
    p99: percentile(list, 99),
  });
  const percentiles = (list: number[]) => ({ p50: percentile(list, 50), p99: percentile(list, 99) });
  return {
    withCallback: summary(withCallback),
    withCallbackSplit: {
      toObservation: percentiles(toObservation),
      observationToKafka: percentiles(observationToKafka),
    },
    slowToKafkaSeconds: [...slowSeconds]
      .sort(([a], [b]) => a - b)
      .map(([second, slow]) => ({ second, ...slow })),
    withoutCallback: summary(withoutCallback),
    lost,
    lostChanges,
  };
}
