import {
  EVENT_SCHEMA_ID,
  STATE_SCHEMA_ID,
  decode,
  strictCurrentStateSchema,
  strictPresenceEventSchema,
} from '@presence-poller/events';
import { describe, expect, it } from 'vitest';
import {
  isEventEntry,
  kafkaRecordsOf,
  parseOutboxEntry,
  toPresenceEvent,
  type EventEntry,
  type RecordWatchlist,
} from '../../src/events/outbox-entry.js';

const raw = (fields: Record<string, string>): [string, string[]] => [
  '1700000000000-0',
  Object.entries(fields).flat(),
];
const base = {
  u: 'alice',
  k: 'transition',
  f: 'F',
  t: 'N',
  s: '42',
  o: '1795600005120',
  p: '1795599945090',
  w: '1,3',
  d: '',
  e: 'mz1',
};
const eventEntry = (fields: [string, string[]]): EventEntry => {
  const entry = parseOutboxEntry(fields);
  if (!isEventEntry(entry)) throw new Error(`not an event entry: ${entry.kind}`);
  return entry;
};
const APP = 1400000000;
const topics = { transitions: 'presence.transitions', state: 'presence.state' };
const recordsOf = (fields: Record<string, string>, watchlists: RecordWatchlist[] = [{ name: 'vip' }]) =>
  kafkaRecordsOf(parseOutboxEntry(raw({ ...base, ...fields })), APP, watchlists, topics);

describe('outbox entries become public events', () => {
  it('maps codes to states, builds a deterministic eventId and ISO times (strict v1)', () => {
    const event = toPresenceEvent(eventEntry(raw(base)), APP, ['vip', 'everyone']);
    expect(event).toEqual({
      schema: 'presence.transition/1',
      eventId: '1400000000:alice:mz1:42',
      sdkAppId: APP,
      userId: 'alice',
      kind: 'transition',
      from: 'Offline',
      to: 'Online',
      seq: 42,
      epoch: 'mz1',
      observedAt: new Date(1795600005120).toISOString(),
      previousObservedAt: new Date(1795599945090).toISOString(),
      watchlists: ['vip', 'everyone'],
    });
    expect(strictPresenceEventSchema.parse(event)).toEqual(event);
  });

  it('refuses anything v1 does not define in the producer’s own check', () => {
    const event = toPresenceEvent(eventEntry(raw(base)), APP, []);
    expect(strictPresenceEventSchema.safeParse({ ...event, extra: 1 }).success).toBe(false);
  });

  it.each([
    ['snapshot', { k: 'snapshot', f: '', t: 'P' }, null, 'PushOnline'],
    ['not_found', { k: 'not_found', f: 'N', t: 'X' }, 'Online', null],
    ['untracked', { k: 'untracked', f: 'F', t: '' }, 'Offline', null],
  ])('maps a %s entry to from/to', (_kind, fields, from, to) => {
    const event = toPresenceEvent(eventEntry(raw({ ...base, ...fields })), 1, []);
    expect([event.from, event.to]).toEqual([from, to]);
    expect(strictPresenceEventSchema.safeParse(event).success).toBe(true);
  });

  it('carries devices only when the entry has them', () => {
    const devices = [{ platform: 'iPhone', status: 'PushOnline' }];
    expect(toPresenceEvent(eventEntry(raw({ ...base, d: JSON.stringify(devices) })), 1, []).devices).toEqual(
      devices,
    );
    expect(toPresenceEvent(eventEntry(raw(base)), 1, [])).not.toHaveProperty('devices');
  });
});

describe('Kafka records of an outbox entry', () => {
  it('puts the event once on each watchlist topic, then the state on the state topic', () => {
    const records = recordsOf({}, [
      { name: 'vip' },
      { name: 'everyone' },
      { name: 'ops', topic: 'presence.ops' },
    ]);
    expect(records.map((r) => r.topic)).toEqual(['presence.transitions', 'presence.ops', 'presence.state']);
  });

  it('sends a user in no watchlist to the default topic', () => {
    expect(recordsOf({}, []).map((r) => r.topic)).toEqual(['presence.transitions', 'presence.state']);
  });

  it('gives a transitions record CloudEvents headers with ce_dataschema, keyed by UserID', () => {
    const { record } = recordsOf({})[0]!;
    expect(record.key).toBe('alice');
    expect(record.headers).toEqual({
      ce_specversion: '1.0',
      ce_id: '1400000000:alice:mz1:42',
      ce_source: 'presence-poller/1400000000',
      ce_type: 'com.presence-poller.transition.v1',
      ce_time: new Date(1795600005120).toISOString(),
      ce_subject: 'alice',
      ce_dataschema: EVENT_SCHEMA_ID,
      'content-type': 'application/json',
    });
    expect(strictPresenceEventSchema.safeParse(JSON.parse(record.value!)).success).toBe(true);
    expect(decode(record)).toMatchObject({ type: 'event' });
  });

  it('gives a state record headers of its own, a state type and a key unique across apps', () => {
    const state = recordsOf({ k: 'snapshot', f: '', t: 'P' }).at(-1)!.record;
    expect(state.key).toBe('1400000000:alice');
    expect(state.headers).toMatchObject({
      ce_id: '1400000000:alice:mz1:42',
      ce_type: 'com.presence-poller.state.v1',
      ce_dataschema: STATE_SCHEMA_ID,
      'content-type': 'application/json',
    });
    const value: unknown = JSON.parse(state.value!);
    expect(strictCurrentStateSchema.parse(value)).toMatchObject({
      schema: 'presence.state/1',
      state: 'PushOnline',
      seq: 42,
      watchlists: ['vip'],
    });
    expect(decode(state)).toMatchObject({ type: 'state' });
  });

  it('turns untracked into a tombstone with only the headers that name the user', () => {
    const tombstone = recordsOf({ k: 'untracked', t: '' }, []).at(-1)!.record;
    expect(tombstone).toEqual({
      key: '1400000000:alice',
      value: null,
      headers: { ce_source: 'presence-poller/1400000000', ce_subject: 'alice' },
    });
    expect(decode(tombstone)).toMatchObject({ type: 'tombstone' });
  });

  it('turns a membership entry into a state record only, naming the event it reflects', () => {
    const records = recordsOf({ k: 'membership', f: '', t: 'F', p: '0' }, [
      { name: 'everyone' },
      { name: 'ops', topic: 'presence.ops' },
    ]);
    expect(records.map((r) => r.topic)).toEqual(['presence.state']);
    const { record } = records[0]!;
    expect(record.key).toBe('1400000000:alice');
    expect(record.headers).toMatchObject({
      ce_id: '1400000000:alice:mz1:42',
      ce_type: 'com.presence-poller.state.v1',
    });
    expect(strictCurrentStateSchema.parse(JSON.parse(record.value!))).toEqual({
      schema: 'presence.state/1',
      sdkAppId: APP,
      userId: 'alice',
      state: 'Offline',
      seq: 42,
      epoch: 'mz1',
      observedAt: new Date(1795600005120).toISOString(),
      watchlists: ['everyone', 'ops'],
    });
    expect(decode(record)).toMatchObject({ type: 'state', eventId: '1400000000:alice:mz1:42' });
  });
});
