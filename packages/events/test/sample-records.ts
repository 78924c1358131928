import {
  currentStateAfter,
  formatEventId,
  stateRecordOf,
  transitionRecordOf,
  type PresenceEvent,
} from '../src/index.js';

/** A valid v1 event of `userId` at `(epoch, seq)`; `overrides` change any field (eventId follows the position). */
export function sampleEvent(overrides: Partial<PresenceEvent> = {}): PresenceEvent {
  const sdkAppId = overrides.sdkAppId ?? 1400000123;
  const userId = overrides.userId ?? 'alice';
  const epoch = overrides.epoch ?? 'mz1abc';
  const seq = overrides.seq ?? 1;
  return {
    schema: 'presence.transition/1',
    eventId: formatEventId(sdkAppId, userId, epoch, seq),
    sdkAppId,
    userId,
    kind: 'transition',
    from: 'Offline',
    to: 'Online',
    seq,
    epoch,
    observedAt: new Date(Date.UTC(2026, 11, 4, 12, 0, seq)).toISOString(),
    previousObservedAt: null,
    watchlists: ['everyone'],
    ...overrides,
  };
}

/** The state record an event leaves behind (the event must not be `untracked`). */
export function sampleStateRecord(event: PresenceEvent) {
  const state = currentStateAfter(event);
  if (state === null) throw new Error('an untracked event leaves a tombstone, not a state');
  return stateRecordOf(state, event.eventId);
}

export { transitionRecordOf };
