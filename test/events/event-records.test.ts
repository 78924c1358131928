import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cloudEventHeaders } from '../../src/events/cloudevents.js';
import { presenceEventSchema } from '../../src/events/event.js';
import { buildEventJsonSchemas, EVENT_JSON_SCHEMA_FILES } from '../../src/events/json-schema.js';
import { parseOutboxEntry, toCurrentState, toPresenceEvent } from '../../src/events/outbox-entry.js';

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

describe('outbox entries become public events', () => {
  it('maps codes to states, builds a deterministic eventId and ISO times', () => {
    const event = toPresenceEvent(parseOutboxEntry(raw(base)), 1400000000, ['vip', 'everyone']);
    expect(event).toEqual({
      schema: 'presence.transition/1',
      eventId: '1400000000:alice:mz1:42',
      sdkAppId: 1400000000,
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
    expect(presenceEventSchema.parse(event)).toEqual(event);
  });

  it.each([
    ['snapshot', { k: 'snapshot', f: '', t: 'P' }, null, 'PushOnline'],
    ['not_found', { k: 'not_found', f: 'N', t: 'X' }, 'Online', null],
    ['untracked', { k: 'untracked', f: 'F', t: '' }, 'Offline', null],
  ])('maps a %s entry to from/to', (_kind, fields, from, to) => {
    const event = toPresenceEvent(parseOutboxEntry(raw({ ...base, ...fields })), 1, []);
    expect([event.from, event.to]).toEqual([from, to]);
    expect(presenceEventSchema.safeParse(event).success).toBe(true);
  });

  it('carries devices only when the entry has them', () => {
    const devices = [{ platform: 'iPhone', status: 'PushOnline' }];
    expect(
      toPresenceEvent(parseOutboxEntry(raw({ ...base, d: JSON.stringify(devices) })), 1, []).devices,
    ).toEqual(devices);
    expect(toPresenceEvent(parseOutboxEntry(raw(base)), 1, [])).not.toHaveProperty('devices');
  });

  it('turns untracked into a tombstone of the current-state topic and everything else into the latest state', () => {
    const untracked = toPresenceEvent(parseOutboxEntry(raw({ ...base, k: 'untracked', t: '' })), 1, []);
    expect(toCurrentState(untracked)).toBeNull();
    const transition = toPresenceEvent(parseOutboxEntry(raw(base)), 1, ['vip']);
    expect(toCurrentState(transition)).toMatchObject({
      schema: 'presence.state/1',
      userId: 'alice',
      state: 'Online',
      seq: 42,
    });
  });

  it('sets CloudEvents binary-mode headers from the event', () => {
    const event = toPresenceEvent(parseOutboxEntry(raw(base)), 1400000000, []);
    expect(cloudEventHeaders(event)).toEqual({
      ce_specversion: '1.0',
      ce_id: event.eventId,
      ce_source: 'presence-poller/1400000000',
      ce_type: 'com.presence-poller.transition.v1',
      ce_time: event.observedAt,
      ce_subject: 'alice',
      'content-type': 'application/json',
    });
  });
});

describe('published JSON Schemas', () => {
  it.each(Object.entries(EVENT_JSON_SCHEMA_FILES))(
    'schema/%s is up to date (npm run generate)',
    (key, file) => {
      const committed = readFileSync(join(resolve(import.meta.dirname, '../..'), 'schema', file), 'utf8');
      expect(committed).toBe(buildEventJsonSchemas()[key as keyof typeof EVENT_JSON_SCHEMA_FILES]);
    },
  );
});
