import type { PresenceEvent } from '@presence-poller/events';
import type { GroundTruthEntry } from '../../src/simulator/index.js';
import type { PresenceState } from '../../src/tencent/types.js';

export interface GroundTruthReport {
  /** Users whose published state sequence differs from the simulator's; empty when everything matches. */
  mismatches: Array<{ userId: string; expected: PresenceState[]; published: PresenceState[] }>;
  /** Users with an event whose seq is not greater than the previous one (after removing duplicates). */
  outOfOrder: string[];
  /** eventIds seen more than once (allowed: redeliveries are recognisable, consumers dedupe on eventId). */
  duplicates: number;
  /** Transitions compared in total. */
  compared: number;
}

/**
 * The oracle shared by the reliability tests. For every user in `initialStates`, the states published to Kafka
 * (snapshot, then transitions; duplicates by eventId removed) must equal the initial state followed by each state
 * change in the simulator's ground-truth log. Holds whenever every change stayed in place for longer than a sweep,
 * which the tests arrange: a change the API never had a chance to report cannot be published.
 */
export function compareWithGroundTruth(
  initialStates: ReadonlyMap<string, PresenceState>,
  changeLog: readonly GroundTruthEntry[],
  events: readonly PresenceEvent[],
): GroundTruthReport {
  const expected = new Map<string, PresenceState[]>();
  for (const [userId, state] of initialStates) expected.set(userId, [state]);
  for (const change of changeLog) {
    const sequence = expected.get(change.userId);
    if (sequence && sequence[sequence.length - 1] !== change.to) sequence.push(change.to);
  }

  const seen = new Set<string>();
  const published = new Map<string, PresenceState[]>();
  const lastSeq = new Map<string, number>();
  const outOfOrder = new Set<string>();
  let duplicates = 0;
  for (const event of events) {
    if (seen.has(event.eventId)) {
      duplicates++;
      continue;
    }
    seen.add(event.eventId);
    if (!expected.has(event.userId)) continue;
    const key = `${event.userId}/${event.epoch}`;
    if ((lastSeq.get(key) ?? 0) >= event.seq) outOfOrder.add(event.userId);
    lastSeq.set(key, event.seq);
    if ((event.kind === 'snapshot' || event.kind === 'transition') && event.to !== null) {
      const list = published.get(event.userId) ?? [];
      list.push(event.to);
      published.set(event.userId, list);
    }
  }

  const mismatches: GroundTruthReport['mismatches'] = [];
  let compared = 0;
  for (const [userId, states] of expected) {
    const got = published.get(userId) ?? [];
    compared += states.length;
    if (got.length !== states.length || got.some((s, i) => s !== states[i])) {
      mismatches.push({ userId, expected: states, published: got });
    }
  }
  return { mismatches, outOfOrder: [...outOfOrder], duplicates, compared };
}
