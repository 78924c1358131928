import { stateOfCode } from '../vocabulary.js';
import {
  EVENT_SCHEMA_ID,
  STATE_SCHEMA_ID,
  eventIdOf,
  type CurrentState,
  type DeviceInfo,
  type PresenceEvent,
  type PresenceEventKind,
} from './event.js';

/** One outbox stream entry as written by the Lua scripts (single-letter fields keep the stream small). */
export interface OutboxEntry {
  id: string;
  userId: string;
  kind: PresenceEventKind;
  fromCode: string;
  toCode: string;
  seq: number;
  observedAtMs: number;
  previousObservedAtMs: number;
  watchlistIds: number[];
  devicesJson: string;
  epoch: string;
}

/** Parses an XRANGE/XREAD entry (`[id, [field, value, ...]]`). */
export function parseOutboxEntry([id, fields]: [string, string[]]): OutboxEntry {
  const f: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) f[fields[i]!] = fields[i + 1] ?? '';
  return {
    id,
    userId: f.u ?? '',
    kind: (f.k ?? 'transition') as PresenceEventKind,
    fromCode: f.f ?? '',
    toCode: f.t ?? '',
    seq: Number(f.s),
    observedAtMs: Number(f.o),
    previousObservedAtMs: Number(f.p),
    watchlistIds: f.w ? f.w.split(',').map(Number) : [],
    devicesJson: f.d ?? '',
    epoch: f.e ?? '',
  };
}

/** Builds the public event for an outbox entry; `watchlistNames` maps ids to names. */
export function toPresenceEvent(
  entry: OutboxEntry,
  sdkAppId: number,
  watchlistNames: string[],
): PresenceEvent {
  const event: PresenceEvent = {
    schema: EVENT_SCHEMA_ID,
    eventId: eventIdOf(sdkAppId, entry.userId, entry.epoch, entry.seq),
    sdkAppId,
    userId: entry.userId,
    kind: entry.kind,
    from: stateOfCode(entry.fromCode),
    to: stateOfCode(entry.toCode),
    seq: entry.seq,
    epoch: entry.epoch,
    observedAt: new Date(entry.observedAtMs).toISOString(),
    previousObservedAt:
      entry.previousObservedAtMs > 0 ? new Date(entry.previousObservedAtMs).toISOString() : null,
    watchlists: watchlistNames,
  };
  if (entry.devicesJson !== '') event.devices = JSON.parse(entry.devicesJson) as DeviceInfo[];
  return event;
}

/** The compacted current-state value for an event; `null` (a tombstone) when the user is no longer tracked. */
export function toCurrentState(event: PresenceEvent): CurrentState | null {
  if (event.kind === 'untracked') return null;
  const state: CurrentState = {
    schema: STATE_SCHEMA_ID,
    sdkAppId: event.sdkAppId,
    userId: event.userId,
    state: event.to,
    seq: event.seq,
    epoch: event.epoch,
    observedAt: event.observedAt,
    watchlists: event.watchlists,
  };
  if (event.devices) state.devices = event.devices;
  return state;
}
