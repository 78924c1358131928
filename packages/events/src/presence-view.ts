import { comparePositions, type CurrentState, type PresenceEvent } from './contract.js';
import { currentStateAfter, stateKeyOf } from './kafka-records.js';

/** What `applyEvent` did with an event. */
export type ApplyOutcome = 'applied' | 'covered';

/**
 * The current state of every tracked user, built from the state topic and kept current by the transitions topics.
 * Each user's entry remembers two positions `(epoch, seq)`: the one of the state record read (`includes`: events up
 * to it are in the state already) and the newest one applied (`applyEvent` never moves a user back, because events
 * read from several topics may arrive out of order across topics).
 */
export interface PresenceView {
  /** The latest state of one user, `undefined` when not tracked. */
  get(sdkAppId: number, userId: string): CurrentState | undefined;
  /** Every tracked user's state. */
  states(): CurrentState[];
  /** Number of tracked users. */
  readonly size: number;
  /** Takes a state-topic record (later records of a key replace earlier ones, as compaction does). */
  applyState(state: CurrentState): void;
  /** Takes a state-topic tombstone: the user is no longer tracked. */
  applyTombstone(sdkAppId: number, userId: string): void;
  /** `true` when the state record taken for the user already includes the event (its position is not after it). */
  includes(event: { sdkAppId: number; userId: string; epoch: string; seq: number }): boolean;
  /** Takes a transitions event: `covered` (and no change) when the view is already at or past its position. */
  applyEvent(event: PresenceEvent): ApplyOutcome;
}

interface Position {
  epoch: string;
  seq: number;
}

interface Entry extends Position {
  /** `null` after an `untracked` event: the position stays so older events of that epoch remain covered. */
  state: CurrentState | null;
  /** The position of the state record taken for the user, if any. */
  stateRecord: Position | undefined;
}

/** An empty view. */
export function createPresenceView(): PresenceView {
  const entries = new Map<string, Entry>();
  let size = 0;

  function put(key: string, entry: Entry): void {
    const before = entries.get(key);
    size += (entry.state ? 1 : 0) - (before?.state ? 1 : 0);
    entries.set(key, entry);
  }

  return {
    get(sdkAppId, userId) {
      return entries.get(stateKeyOf(sdkAppId, userId))?.state ?? undefined;
    },
    states() {
      const states: CurrentState[] = [];
      for (const entry of entries.values()) if (entry.state) states.push(entry.state);
      return states;
    },
    get size() {
      return size;
    },
    applyState(state) {
      const position = { epoch: state.epoch, seq: state.seq };
      put(stateKeyOf(state.sdkAppId, state.userId), { state, ...position, stateRecord: position });
    },
    applyTombstone(sdkAppId, userId) {
      const key = stateKeyOf(sdkAppId, userId);
      if (entries.get(key)?.state) size -= 1;
      entries.delete(key);
    },
    includes(event) {
      const taken = entries.get(stateKeyOf(event.sdkAppId, event.userId))?.stateRecord;
      return taken !== undefined && comparePositions(event, taken) <= 0;
    },
    applyEvent(event) {
      const key = stateKeyOf(event.sdkAppId, event.userId);
      const entry = entries.get(key);
      if (entry && comparePositions(event, entry) <= 0) return 'covered';
      put(key, {
        state: currentStateAfter(event),
        epoch: event.epoch,
        seq: event.seq,
        stateRecord: entry?.stateRecord,
      });
      return 'applied';
    },
  };
}
