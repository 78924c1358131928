import { compareEpochs } from './contract.js';

/**
 * Gap detection per user and epoch. A topic is either complete (it carries every event of every user it has
 * events of: the default transitions topic) or partial (a watchlist's own topic carries a user's events only while
 * the user is in that watchlist). Seq gaps on a partial topic are normal and never reported.
 */

/** The part of an event gap detection reads (any decoded event, known kind or not). */
export interface EventPosition {
  sdkAppId: number;
  userId: string;
  epoch: string;
  seq: number;
}

export type GapCheck =
  /** The first event of this user seen on this topic (nothing to compare with). */
  | { type: 'first' }
  /** The next event, as expected. */
  | { type: 'next' }
  /** Events `fromSeq..toSeq` of `epoch` never arrived on this complete topic. */
  | { type: 'gap'; epoch: string; fromSeq: number; toSeq: number }
  /** Not newer than the last event seen (a redelivery or a replay): already accounted for. */
  | { type: 'stale' };

export interface GapDetectorOptions {
  /** Topics that carry every event of a user. */
  completeTopics: readonly string[];
  /** Topics that carry only some of a user's events (per-watchlist topics). */
  partialTopics?: readonly string[];
}

export interface GapDetector {
  /** Checks one event read from `topic` and records it as the latest of its user there. */
  check(topic: string, event: EventPosition): GapCheck;
  /** Starts a user's history at `position` (e.g. from the state topic) so the next event is checked against it. */
  seed(topic: string, position: EventPosition): void;
}

/** A gap detector for the given topics; an event from any other topic is a programming error (it throws). */
export function createGapDetector(options: GapDetectorOptions): GapDetector {
  const complete = new Set(options.completeTopics);
  const partial = new Set(options.partialTopics ?? []);
  for (const topic of complete) {
    if (partial.has(topic)) throw new TypeError(`topic ${topic} is listed both as complete and as partial`);
  }
  // topic -> "<sdkAppId>:<userId>" -> latest (epoch, seq) seen there
  const latest = new Map<string, Map<string, { epoch: string; seq: number }>>();

  function usersOf(topic: string): Map<string, { epoch: string; seq: number }> {
    if (!complete.has(topic) && !partial.has(topic)) {
      throw new TypeError(`topic ${topic} is neither a complete nor a partial topic of this gap detector`);
    }
    let users = latest.get(topic);
    if (!users) latest.set(topic, (users = new Map()));
    return users;
  }

  return {
    check(topic, event) {
      const users = usersOf(topic);
      const user = `${event.sdkAppId}:${event.userId}`;
      const last = users.get(user);
      const epochOrder = last === undefined ? 1 : compareEpochs(event.epoch, last.epoch);
      if (last !== undefined && (epochOrder < 0 || (epochOrder === 0 && event.seq <= last.seq))) {
        return { type: 'stale' };
      }
      users.set(user, { epoch: event.epoch, seq: event.seq });
      if (last === undefined) return { type: 'first' };
      const expectedSeq = epochOrder === 0 ? last.seq + 1 : 1;
      if (event.seq === expectedSeq || !complete.has(topic)) return { type: 'next' };
      return { type: 'gap', epoch: event.epoch, fromSeq: expectedSeq, toSeq: event.seq - 1 };
    },
    seed(topic, position) {
      const users = usersOf(topic);
      const user = `${position.sdkAppId}:${position.userId}`;
      const last = users.get(user);
      const epochOrder = last === undefined ? 1 : compareEpochs(position.epoch, last.epoch);
      if (last === undefined || epochOrder > 0 || (epochOrder === 0 && position.seq > last.seq)) {
        users.set(user, { epoch: position.epoch, seq: position.seq });
      }
    },
  };
}
