import {
  EVENT_SCHEMA_NAME,
  STATE_SCHEMA_NAME,
  currentStateAfter,
  formatEventId,
  stateRecordOf,
  tombstoneRecordOf,
  transitionRecordOf,
  type CurrentState,
  type DetectionSource as ContractDetectionSource,
  type DeviceInfo,
  type PresenceEvent,
  type PresenceEventKind,
  type ProducedRecord,
} from '@presence-poller/events';
import {
  DETECTION_LETTERS,
  MEMBERSHIP_ENTRY,
  stateOfCode,
  type DetectionSource,
  type EventKind,
  type OutboxKind,
} from '../vocabulary.js';

/**
 * The outbox entry and the Kafka records built from it. The public contract (types, headers, keys) is the
 * events package's (packages/events); this module only maps the diff's entries onto it.
 */

// The vocabulary's event kinds (metrics label them) and the contract's must be the same set: tsc fails otherwise.
type SameKinds = [EventKind] extends [PresenceEventKind]
  ? [PresenceEventKind] extends [EventKind]
    ? true
    : never
  : never;
export const EVENT_KINDS_MATCH_CONTRACT: SameKinds = true;

// The same for how a change was seen.
type SameSources = [DetectionSource] extends [ContractDetectionSource]
  ? [ContractDetectionSource] extends [DetectionSource]
    ? true
    : never
  : never;
export const DETECTION_SOURCES_MATCH_CONTRACT: SameSources = true;

const SOURCE_OF_LETTER = new Map(
  Object.entries(DETECTION_LETTERS).map(([source, letter]) => [letter as string, source as DetectionSource]),
);

/** One outbox stream entry as written by the Lua scripts (single-letter fields keep the stream small). */
export interface OutboxEntry {
  id: string;
  userId: string;
  kind: OutboxKind;
  fromCode: string;
  toCode: string;
  seq: number;
  observedAtMs: number;
  previousObservedAtMs: number;
  watchlistIds: number[];
  devicesJson: string;
  epoch: string;
  /** How the change was seen; absent when the entry records no observation. */
  detectedBy?: DetectionSource;
}

/** Parses an XRANGE/XREAD entry (`[id, [field, value, ...]]`). */
export function parseOutboxEntry([id, fields]: [string, string[]]): OutboxEntry {
  const f: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) f[fields[i]!] = fields[i + 1] ?? '';
  return {
    id,
    userId: f.u ?? '',
    kind: (f.k ?? 'transition') as OutboxKind,
    fromCode: f.f ?? '',
    toCode: f.t ?? '',
    seq: Number(f.s),
    observedAtMs: Number(f.o),
    previousObservedAtMs: Number(f.p),
    watchlistIds: f.w ? f.w.split(',').map(Number) : [],
    devicesJson: f.d ?? '',
    epoch: f.e ?? '',
    ...(f.b && SOURCE_OF_LETTER.has(f.b) ? { detectedBy: SOURCE_OF_LETTER.get(f.b) } : {}),
  };
}

/** An entry that records an event (every kind but `membership`). */
export type EventEntry = OutboxEntry & { kind: EventKind };

export function isEventEntry(entry: OutboxEntry): entry is EventEntry {
  return entry.kind !== MEMBERSHIP_ENTRY;
}

/** Builds the public event for an outbox entry; `watchlistNames` maps ids to names. */
export function toPresenceEvent(
  entry: EventEntry,
  sdkAppId: number,
  watchlistNames: string[],
): PresenceEvent {
  const event: PresenceEvent = {
    schema: EVENT_SCHEMA_NAME,
    eventId: formatEventId(sdkAppId, entry.userId, entry.epoch, entry.seq),
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
  if (entry.detectedBy) event.detectedBy = entry.detectedBy;
  return event;
}

/** A watchlist as the records of an entry need it: its name, and its own topic if it has one. */
export interface RecordWatchlist {
  name: string;
  topic?: string | undefined;
}

export interface RecordTopics {
  /** Where events of watchlists without a topic of their own go. */
  transitions: string;
  /** The compacted topic with each user's latest state. */
  state: string;
}

/** One Kafka record and the topic it goes to. */
export interface TopicRecord {
  topic: string;
  record: ProducedRecord;
}

/**
 * Every Kafka record one outbox entry becomes: the event on the topic of each watchlist the user is in (once per
 * topic), then the user's latest state (or its tombstone) on the state topic.
 */
export function kafkaRecordsOf(
  entry: OutboxEntry,
  sdkAppId: number,
  watchlists: readonly RecordWatchlist[],
  topics: RecordTopics,
): TopicRecord[] {
  if (!isEventEntry(entry)) {
    const state = membershipState(
      entry,
      sdkAppId,
      watchlists.map((w) => w.name),
    );
    const eventId = formatEventId(sdkAppId, entry.userId, entry.epoch, entry.seq);
    return [{ topic: topics.state, record: stateRecordOf(state, eventId) }];
  }
  const event = toPresenceEvent(
    entry,
    sdkAppId,
    watchlists.map((w) => w.name),
  );
  const transition = transitionRecordOf(event);
  const eventTopics = new Set(watchlists.map((w) => w.topic ?? topics.transitions));
  if (eventTopics.size === 0) eventTopics.add(topics.transitions);
  const records = [...eventTopics].map((topic) => ({ topic, record: transition }));
  const current = currentStateAfter(event);
  records.push({
    topic: topics.state,
    record:
      current === null ? tombstoneRecordOf(sdkAppId, event.userId) : stateRecordOf(current, event.eventId),
  });
  return records;
}

/**
 * The state record of a `membership` entry: the user's state as of its last event (same seq, epoch and time, so
 * the record names the same event in `ce_id`) with the watchlists it is in now. The stored record keeps only a
 * hash of the devices, so this record has no `devices`; the user's next event carries them again.
 */
function membershipState(entry: OutboxEntry, sdkAppId: number, watchlistNames: string[]): CurrentState {
  return {
    schema: STATE_SCHEMA_NAME,
    sdkAppId,
    userId: entry.userId,
    state: stateOfCode(entry.toCode),
    seq: entry.seq,
    epoch: entry.epoch,
    observedAt: new Date(entry.observedAtMs).toISOString(),
    watchlists: watchlistNames,
  };
}
