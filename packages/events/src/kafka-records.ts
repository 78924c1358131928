import {
  EVENT_SCHEMA_ID,
  STATE_SCHEMA_ID,
  type CurrentState,
  type PresenceEvent,
  type PresenceEventEnvelope,
} from './contract.js';

/**
 * Keys, headers and record shapes of the two kinds of topic (see README.md, "Topics"). The producer builds its
 * records with these functions, so what it writes and what `decode` expects come from one place.
 */

/** A Kafka record as kafkajs hands it over or takes it: Buffers or strings. */
export interface KafkaMessageLike {
  key?: Uint8Array | string | null;
  value: Uint8Array | string | null;
  headers?: Record<string, Uint8Array | string | ReadonlyArray<Uint8Array | string> | undefined>;
}

/** A record to produce: string key, value and headers (kafkajs `Message` accepts it as is). */
export interface ProducedRecord {
  key: string;
  value: string | null;
  headers: Record<string, string>;
}

export const CLOUDEVENTS_SPEC_VERSION = '1.0';
export const JSON_CONTENT_TYPE = 'application/json';
const TYPE_PREFIX = 'com.presence-poller.';
const TYPE_SUFFIX = '.v1';
/** `ce_type` of a state record. */
export const STATE_CE_TYPE = `${TYPE_PREFIX}state${TYPE_SUFFIX}`;

/** `ce_source` of every record of one app: `presence-poller/<sdkAppId>`. */
export function sourceOf(sdkAppId: number): string {
  return `presence-poller/${sdkAppId}`;
}

/** `ce_type` of a transitions record: `com.presence-poller.<kind>.v1`. */
export function eventTypeOf(kind: string): string {
  return `${TYPE_PREFIX}${kind}${TYPE_SUFFIX}`;
}

/** The kind named by a v1 `ce_type` (`state` for a state record); `undefined` for any other type. */
export function kindOfType(ceType: string): string | undefined {
  if (!ceType.startsWith(TYPE_PREFIX) || !ceType.endsWith(TYPE_SUFFIX)) return undefined;
  const kind = ceType.slice(TYPE_PREFIX.length, -TYPE_SUFFIX.length);
  return kind === '' || kind.includes('.') ? undefined : kind;
}

/** Key of a state record: `<sdkAppId>:<userId>`, unique across apps sharing the topic. */
export function stateKeyOf(sdkAppId: number, userId: string): string {
  return `${sdkAppId}:${userId}`;
}

/** Splits a state key at its first colon (an sdkAppId has none); `undefined` when it is not one. */
export function parseStateKey(key: string): { sdkAppId: number; userId: string } | undefined {
  const colon = key.indexOf(':');
  if (colon <= 0 || colon === key.length - 1) return undefined;
  const app = key.slice(0, colon);
  if (!/^\d+$/.test(app)) return undefined;
  return { sdkAppId: Number(app), userId: key.slice(colon + 1) };
}

/** The record of one event on a transitions topic: key = UserID, CloudEvents binary-mode headers. */
export function transitionRecordOf(event: PresenceEventEnvelope): ProducedRecord {
  return {
    key: event.userId,
    value: JSON.stringify(event),
    headers: {
      ce_specversion: CLOUDEVENTS_SPEC_VERSION,
      ce_id: event.eventId,
      ce_source: sourceOf(event.sdkAppId),
      ce_type: eventTypeOf(event.kind),
      ce_time: event.observedAt,
      ce_subject: event.userId,
      ce_dataschema: EVENT_SCHEMA_ID,
      'content-type': JSON_CONTENT_TYPE,
    },
  };
}

/**
 * The record of a user's latest state on the compacted state topic. `eventId` is the id of the event that
 * produced the state, so a consumer can tell which transition the state already includes.
 */
export function stateRecordOf(state: CurrentState, eventId: string): ProducedRecord {
  return {
    key: stateKeyOf(state.sdkAppId, state.userId),
    value: JSON.stringify(state),
    headers: {
      ce_specversion: CLOUDEVENTS_SPEC_VERSION,
      ce_id: eventId,
      ce_source: sourceOf(state.sdkAppId),
      ce_type: STATE_CE_TYPE,
      ce_time: state.observedAt,
      ce_subject: state.userId,
      ce_dataschema: STATE_SCHEMA_ID,
      'content-type': JSON_CONTENT_TYPE,
    },
  };
}

/** The tombstone of an untracked user on the state topic: no value, only the headers that name the user. */
export function tombstoneRecordOf(sdkAppId: number, userId: string): ProducedRecord {
  return {
    key: stateKeyOf(sdkAppId, userId),
    value: null,
    headers: { ce_source: sourceOf(sdkAppId), ce_subject: userId },
  };
}

/** The state a known-kind event leaves behind; `null` (a tombstone) when the user is no longer tracked. */
export function currentStateAfter(event: PresenceEvent): CurrentState | null {
  if (event.kind === 'untracked') return null;
  const state: CurrentState = {
    schema: 'presence.state/1',
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
