import { describe, expect, it } from 'vitest';
import {
  decode,
  tombstoneRecordOf,
  type DecodeErrorCode,
  type DecodeResult,
  type KafkaMessageLike,
} from '../src/index.js';
import { sampleEvent, sampleStateRecord, transitionRecordOf } from './sample-records.js';

const event = sampleEvent({ seq: 7, devices: [{ platform: 'iPhone', status: 'Online' }] });
const record = transitionRecordOf(event);

/** The record with its value replaced by `value` (a JSON-able object or raw text). */
function withValue(value: unknown): KafkaMessageLike {
  return { ...record, value: typeof value === 'string' ? value : JSON.stringify(value) };
}

function withHeaders(headers: Record<string, string | undefined>): KafkaMessageLike {
  return { ...record, headers: { ...record.headers, ...headers } };
}

function expectError(result: DecodeResult, code: DecodeErrorCode, messagePart: string): void {
  expect(result.type).toBe('error');
  if (result.type !== 'error') return;
  expect(result.code).toBe(code);
  expect(result.message).toContain(messagePart);
  expect(result.details.length).toBeGreaterThan(0);
}

describe('decode: valid records', () => {
  it('turns a transitions record of Buffers into the typed event', () => {
    const buffers: KafkaMessageLike = {
      key: Buffer.from(record.key),
      value: Buffer.from(record.value!),
      headers: Object.fromEntries(Object.entries(record.headers).map(([k, v]) => [k, Buffer.from(v)])),
    };
    expect(decode(buffers)).toEqual({ type: 'event', event });
  });

  it('turns a state record into the state and the id of the event that produced it', () => {
    const result = decode(sampleStateRecord(event));
    expect(result).toEqual({
      type: 'state',
      eventId: event.eventId,
      state: expect.objectContaining({
        schema: 'presence.state/1',
        userId: 'alice',
        state: 'Online',
        seq: 7,
      }),
    });
  });

  it('turns a tombstone into the untracked user of its app, even with a colon in the UserID', () => {
    expect(decode(tombstoneRecordOf(1400000123, 'ops:alice'))).toEqual({
      type: 'tombstone',
      sdkAppId: 1400000123,
      userId: 'ops:alice',
    });
  });

  it('keeps fields added after v1 and accepts a content type with parameters', () => {
    const result = decode({
      ...withValue({ ...event, region: 'sgp' }),
      headers: { ...record.headers, 'content-type': 'application/json; charset=utf-8' },
    });
    expect(result).toEqual({ type: 'event', event: { ...event, region: 'sgp' } });
  });

  it('reads a header given as a one-element array (kafkajs does that for some brokers)', () => {
    expect(decode({ ...record, headers: { ...record.headers, ce_id: [event.eventId] } }).type).toBe('event');
  });

  it('returns a kind added after this package as unknown_kind with its envelope, not as an error', () => {
    const future = { ...event, kind: 'membership', from: null, to: null };
    const result = decode(transitionRecordOf(future));
    expect(result).toEqual({ type: 'unknown_kind', kind: 'membership', event: future });
  });
});

describe('decode: every kind of bad record is a typed error, never an exception', () => {
  it.each(['ce_specversion', 'ce_id', 'ce_source', 'ce_type'])('missing_header when %s is absent', (name) => {
    expectError(decode(withHeaders({ [name]: undefined })), 'missing_header', name);
  });

  it.each([
    ['a repeated header', { ...record.headers, ce_id: [event.eventId, 'other'] }, 'ce_id occurs 2 times'],
    ['another spec version', { ...record.headers, ce_specversion: '0.3' }, 'ce_specversion "0.3"'],
    ['another content type', { ...record.headers, 'content-type': 'application/avro' }, 'application/avro'],
    ['a foreign ce_type', { ...record.headers, ce_type: 'com.example.thing.v1' }, 'com.example.thing.v1'],
    ['a later major version', { ...record.headers, ce_type: 'com.presence-poller.transition.v2' }, '.v2'],
  ])('bad_header for %s', (_what, headers, messagePart) => {
    expectError(decode({ ...record, headers }), 'bad_header', messagePart);
  });

  it.each([
    ['text that is not JSON', withValue('{"schema": "presence.transition/1",'), 'not JSON'],
    ['JSON that is not an object', withValue('[1,2]'), 'not an object'],
    ['bytes that are not UTF-8', { ...record, value: Buffer.from([0xff, 0xfe, 0x7b]) }, 'not UTF-8'],
  ])('not_json for %s', (_what, message, messagePart) => {
    expectError(decode(message), 'not_json', messagePart);
  });

  it('schema_mismatch names each wrong field', () => {
    const result = decode(withValue({ ...event, seq: 0, observedAt: 'yesterday', watchlists: undefined }));
    expectError(result, 'schema_mismatch', 'presence.transition/1');
    if (result.type === 'error') {
      expect(result.details.map((d) => d.split(':')[0])).toEqual(
        expect.arrayContaining(['seq', 'observedAt', 'watchlists']),
      );
    }
  });

  it('schema_mismatch when the eventId is not <sdkAppId>:<userId>:<epoch>:<seq>', () => {
    expectError(decode(withValue({ ...event, eventId: 'alice-7' })), 'schema_mismatch', '"alice-7"');
  });

  it.each([
    ['ce_id', { ce_id: '1400000123:alice:mz1abc:6' }, 'ce_id'],
    ['ce_source', { ce_source: 'presence-poller/1' }, 'ce_source'],
    ['ce_subject', { ce_subject: 'bob' }, 'ce_subject'],
    ['ce_type', { ce_type: 'com.presence-poller.snapshot.v1' }, 'kind "snapshot"'],
    ['ce_time', { ce_time: '2026-12-04T00:00:00.000Z' }, 'ce_time'],
    ['ce_dataschema', { ce_dataschema: 'urn:presence-poller:schema:presence.state:1' }, 'ce_dataschema'],
  ])('header_mismatch when %s disagrees with the value', (_name, headers, messagePart) => {
    expectError(decode(withHeaders(headers)), 'header_mismatch', messagePart);
  });

  it('header_mismatch when a state value arrives with a transition type, and the other way round', () => {
    const state = sampleStateRecord(event);
    expectError(decode({ ...state, headers: record.headers }), 'header_mismatch', 'presence.state/1');
    expectError(decode({ ...record, headers: state.headers }), 'header_mismatch', 'presence.transition/1');
  });

  it('key_mismatch when the key is absent or names someone else', () => {
    expectError(decode({ ...record, key: null }), 'key_mismatch', '(absent)');
    expectError(decode({ ...record, key: 'bob' }), 'key_mismatch', '"bob"');
    // The state topic's key names the app too: a bare UserID there is the old, app-blind key.
    expectError(decode({ ...sampleStateRecord(event), key: 'alice' }), 'key_mismatch', '1400000123:alice');
  });

  it.each([
    ['a bare UserID key', { ...tombstoneRecordOf(1, 'alice'), key: 'alice' }, 'not <sdkAppId>:<userId>'],
    ['no key', { ...tombstoneRecordOf(1, 'alice'), key: null }, '(absent)'],
    [
      'a subject of another user',
      { key: '1:alice', value: null, headers: { ce_source: 'presence-poller/1', ce_subject: 'bob' } },
      'ce_subject',
    ],
    ['no source', { key: '1:alice', value: null, headers: { ce_subject: 'alice' } }, 'ce_source'],
  ])('bad_tombstone for %s', (_what, message, messagePart) => {
    expectError(decode(message), 'bad_tombstone', messagePart);
  });

  it('returns an error rather than throwing when reading the record itself throws', () => {
    const hostile = {
      key: 'alice',
      get value(): string {
        throw new Error('broken getter');
      },
    } as KafkaMessageLike;
    expect(() => decode(hostile)).not.toThrow();
    expectError(decode(hostile), 'not_json', 'broken getter');
  });
});
