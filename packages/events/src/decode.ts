import {
  EVENT_SCHEMA_ID,
  STATE_SCHEMA_ID,
  currentStateSchema,
  formatEventId,
  isKnownKind,
  presenceEventSchema,
  type CurrentState,
  type PresenceEvent,
  type PresenceEventEnvelope,
} from './contract.js';
import {
  CLOUDEVENTS_SPEC_VERSION,
  JSON_CONTENT_TYPE,
  kindOfType,
  parseStateKey,
  sourceOf,
  stateKeyOf,
  type KafkaMessageLike,
} from './kafka-records.js';

/** Why a record could not be decoded. Stable strings: switch on them, log the message. */
export type DecodeErrorCode =
  /** A required CloudEvents header (ce_specversion, ce_id, ce_source, ce_type) is absent. */
  | 'missing_header'
  /** A header is repeated or has a value v1 does not define (spec version, content type, a foreign ce_type). */
  | 'bad_header'
  /** The value is not UTF-8 JSON text of an object. */
  | 'not_json'
  /** The value is JSON but not a v1 event or state (the details name each field). */
  | 'schema_mismatch'
  /** A header says something else than the value (ce_id vs eventId, ce_type vs kind or schema, ...). */
  | 'header_mismatch'
  /** The record key is absent or is not the key the value implies. */
  | 'key_mismatch'
  /** A record without a value whose key or headers do not name a user of an app. */
  | 'bad_tombstone';

/** A record that is not valid v1: what is wrong, in words, with one line per problem in `details`. */
export interface DecodeError {
  type: 'error';
  code: DecodeErrorCode;
  message: string;
  details: string[];
}

/** A transitions record of a kind this package knows. */
export interface DecodedEvent {
  type: 'event';
  event: PresenceEvent;
}

/**
 * A valid v1 transitions record of a kind added after this version of the package. Its envelope (eventId, epoch,
 * seq...) is valid, so it still counts for dedupe, gap detection and ordering; what it means is unknown here.
 */
export interface DecodedUnknownKind {
  type: 'unknown_kind';
  kind: string;
  event: PresenceEventEnvelope;
}

/** A state record: the user's latest state and the id of the event that produced it. */
export interface DecodedState {
  type: 'state';
  state: CurrentState;
  eventId: string;
}

/** A state-topic tombstone: the user is no longer tracked. */
export interface DecodedTombstone {
  type: 'tombstone';
  sdkAppId: number;
  userId: string;
}

export type DecodeResult = DecodedEvent | DecodedUnknownKind | DecodedState | DecodedTombstone | DecodeError;

const REQUIRED_HEADERS = ['ce_specversion', 'ce_id', 'ce_source', 'ce_type'] as const;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes one record of a transitions topic or of the state topic (kafkajs `KafkaMessage` fits): headers and
 * value become a typed event, state or tombstone, or a `DecodeError` saying what is wrong. Never throws.
 * Optional headers (ce_subject, ce_time, ce_dataschema, content-type) are checked when present.
 */
export function decode(message: KafkaMessageLike): DecodeResult {
  try {
    return decodeRecord(message);
  } catch (error) {
    // Only a value no check foresaw gets here (e.g. a getter that throws); still a result, not an exception.
    return failure('not_json', `the record could not be read: ${String(error)}`);
  }
}

function decodeRecord(message: KafkaMessageLike): DecodeResult {
  const headers = readHeaders(message.headers ?? {});
  if (Array.isArray(headers)) return failure('bad_header', headers.join('; '), headers);
  const key = message.key == null ? undefined : textOf(message.key);
  if (message.value == null) return decodeTombstone(key, headers);

  for (const name of REQUIRED_HEADERS) {
    if (headers.get(name) === undefined) return failure('missing_header', `the ${name} header is missing`);
  }
  const specVersion = headers.get('ce_specversion')!;
  if (specVersion !== CLOUDEVENTS_SPEC_VERSION) {
    return failure('bad_header', `ce_specversion ${quote(specVersion)} is not ${CLOUDEVENTS_SPEC_VERSION}`);
  }
  const contentType = headers.get('content-type');
  if (contentType !== undefined && mediaTypeOf(contentType) !== JSON_CONTENT_TYPE) {
    return failure('bad_header', `content-type ${quote(contentType)} is not ${JSON_CONTENT_TYPE}`);
  }
  const ceType = headers.get('ce_type')!;
  const kind = kindOfType(ceType);
  if (kind === undefined) {
    return failure('bad_header', `ce_type ${quote(ceType)} is not com.presence-poller.<kind>.v1`);
  }

  const text = textOf(message.value);
  if (text === undefined) return failure('not_json', 'the value is not UTF-8 text');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return failure('not_json', `the value is not JSON: ${(error as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return failure('not_json', 'the value is JSON but not an object');
  }
  return kind === 'state' ? decodeState(json, headers, key) : decodeEvent(json, kind, headers, key);
}

function decodeEvent(json: object, kind: string, headers: Headers, key: string | undefined): DecodeResult {
  if ((json as { schema?: unknown }).schema === 'presence.state/1') {
    return failure('header_mismatch', `ce_type says a ${kind} event but the value is presence.state/1`);
  }
  const parsed = presenceEventSchema.safeParse(json);
  if (!parsed.success) return schemaFailure('presence.transition/1', parsed.error.issues);
  const event = parsed.data as PresenceEventEnvelope;
  const expectedId = formatEventId(event.sdkAppId, event.userId, event.epoch, event.seq);
  if (event.eventId !== expectedId) {
    return failure('schema_mismatch', `eventId ${quote(event.eventId)} is not ${quote(expectedId)}`);
  }
  const mismatches = [
    ...compareHeaders(headers, {
      ce_id: event.eventId,
      ce_source: sourceOf(event.sdkAppId),
      ce_subject: event.userId,
      ce_dataschema: EVENT_SCHEMA_ID,
    }),
    ...(kind === event.kind ? [] : [`ce_type names kind ${quote(kind)}, the value ${quote(event.kind)}`]),
    ...compareTimes(headers, event.observedAt),
  ];
  if (mismatches.length > 0) return failure('header_mismatch', mismatches.join('; '), mismatches);
  if (key !== event.userId) {
    return failure('key_mismatch', `key ${describeKey(key)} is not the userId ${quote(event.userId)}`);
  }
  return isKnownKind(event.kind)
    ? { type: 'event', event: event as PresenceEvent }
    : { type: 'unknown_kind', kind: event.kind, event };
}

function decodeState(json: object, headers: Headers, key: string | undefined): DecodeResult {
  const schema = (json as { schema?: unknown }).schema;
  if (schema === 'presence.transition/1') {
    return failure('header_mismatch', 'ce_type says a state record but the value is presence.transition/1');
  }
  const parsed = currentStateSchema.safeParse(json);
  if (!parsed.success) return schemaFailure('presence.state/1', parsed.error.issues);
  const state = parsed.data as CurrentState;
  const mismatches = [
    ...compareHeaders(headers, {
      ce_id: formatEventId(state.sdkAppId, state.userId, state.epoch, state.seq),
      ce_source: sourceOf(state.sdkAppId),
      ce_subject: state.userId,
      ce_dataschema: STATE_SCHEMA_ID,
    }),
    ...compareTimes(headers, state.observedAt),
  ];
  if (mismatches.length > 0) return failure('header_mismatch', mismatches.join('; '), mismatches);
  const expectedKey = stateKeyOf(state.sdkAppId, state.userId);
  if (key !== expectedKey) {
    return failure('key_mismatch', `key ${describeKey(key)} is not ${quote(expectedKey)}`);
  }
  return { type: 'state', state, eventId: headers.get('ce_id')! };
}

function decodeTombstone(key: string | undefined, headers: Headers): DecodeResult {
  const named = key === undefined ? undefined : parseStateKey(key);
  if (named === undefined) {
    return failure(
      'bad_tombstone',
      `a record without a value has key ${describeKey(key)}, not <sdkAppId>:<userId>`,
    );
  }
  const source = headers.get('ce_source');
  const subject = headers.get('ce_subject');
  const problems = [
    ...(source === sourceOf(named.sdkAppId)
      ? []
      : [`ce_source ${describeKey(source)} is not ${quote(sourceOf(named.sdkAppId))}`]),
    ...(subject === named.userId ? [] : [`ce_subject ${describeKey(subject)} is not ${quote(named.userId)}`]),
  ];
  if (problems.length > 0) return failure('bad_tombstone', problems.join('; '), problems);
  return { type: 'tombstone', sdkAppId: named.sdkAppId, userId: named.userId };
}

type Headers = Map<string, string>;

/** Header values as text; the list of repeated names instead when a header occurs more than once. */
function readHeaders(raw: NonNullable<KafkaMessageLike['headers']>): Headers | string[] {
  const headers: Headers = new Map();
  const repeated: string[] = [];
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    const values = typeof value === 'string' || value instanceof Uint8Array ? [value] : value;
    if (values.length === 0) continue;
    if (values.length > 1) repeated.push(`${name} occurs ${values.length} times`);
    headers.set(name, textOf(values[0]!) ?? '\uFFFD');
  }
  return repeated.length > 0 ? repeated : headers;
}

function compareHeaders(headers: Headers, expected: Record<string, string>): string[] {
  const mismatches: string[] = [];
  for (const [name, value] of Object.entries(expected)) {
    const actual = headers.get(name);
    if (actual !== undefined && actual !== value) {
      mismatches.push(`${name} is ${quote(actual)}, the value implies ${quote(value)}`);
    }
  }
  return mismatches;
}

function compareTimes(headers: Headers, observedAt: string): string[] {
  const time = headers.get('ce_time');
  if (time === undefined || Date.parse(time) === Date.parse(observedAt)) return [];
  return [`ce_time is ${quote(time)}, observedAt ${quote(observedAt)}`];
}

function schemaFailure(
  schemaName: string,
  issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>,
): DecodeError {
  const details = issues.map((issue) => `${issue.path.map(String).join('.') || '(value)'}: ${issue.message}`);
  return failure('schema_mismatch', `the value is not ${schemaName}: ${details.join('; ')}`, details);
}

function failure(code: DecodeErrorCode, message: string, details: string[] = [message]): DecodeError {
  return { type: 'error', code, message, details };
}

function textOf(value: Uint8Array | string): string | undefined {
  if (typeof value === 'string') return value;
  try {
    return utf8.decode(value);
  } catch {
    return undefined;
  }
}

function mediaTypeOf(contentType: string): string {
  return contentType.split(';')[0]!.trim().toLowerCase();
}

function describeKey(key: string | undefined): string {
  return key === undefined ? '(absent)' : quote(key);
}

/** Quotes a value for a message, cut short: a record can hold anything, a message stays one line. */
function quote(value: string): string {
  const shown = value.length > 80 ? `${value.slice(0, 77)}...` : value;
  return JSON.stringify(shown);
}
