import { describe, expect, it } from 'vitest';
import { stateRecordOf, transitionRecordOf, type PresenceEventEnvelope } from '@presence-poller/events';
import { createRecordEncoder, nextStreamId } from '../../src/relay/outbox-relay.js';

describe('nextStreamId', () => {
  it('is the id right after, so XTRIM MINID frees the entry and everything before it', () => {
    expect(nextStreamId('1733400000000-0')).toBe('1733400000000-1');
    expect(nextStreamId('1733400000000-41')).toBe('1733400000000-42');
    // Sequence numbers are 64-bit: no rounding past 2^53.
    expect(nextStreamId('5-9007199254740993')).toBe('5-9007199254740994');
  });
});

describe('createRecordEncoder', () => {
  const event: PresenceEventEnvelope = {
    schema: 'presence.transition/1',
    eventId: '1400000000:ü1:m1:3',
    sdkAppId: 1_400_000_000,
    userId: 'ü1',
    kind: 'transition',
    from: 'Online',
    to: 'Offline',
    seq: 3,
    epoch: 'm1',
    observedAt: '2026-12-05T12:00:00.000Z',
    previousObservedAt: null,
    watchlists: ['everyone'],
  };

  it('keeps every byte of the record: value, key and headers decode to what was built', () => {
    const encode = createRecordEncoder();
    const record = transitionRecordOf(event);
    const { message } = encode(record);
    expect(message.key).toBe(record.key);
    expect(Buffer.isBuffer(message.value) && message.value.toString()).toBe(record.value);
    const headers = Object.fromEntries(
      Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]),
    );
    expect(headers).toEqual(record.headers);
  });

  it('shares the Buffers of repeated header values between records, and counts UTF-8 bytes', () => {
    const encode = createRecordEncoder();
    const first = encode(transitionRecordOf(event));
    const second = encode(transitionRecordOf({ ...event, seq: 4, eventId: '1400000000:ü1:m1:4' }));
    expect(second.message.headers?.ce_source).toBe(first.message.headers?.ce_source);
    expect(second.message.headers?.ce_id).not.toBe(first.message.headers?.ce_id);
    const state = encode(
      stateRecordOf({ ...event, schema: 'presence.state/1', state: 'Offline' }, event.eventId),
    );
    const valueBytes = Buffer.byteLength(JSON.stringify(event));
    expect(first.bytes).toBeGreaterThan(valueBytes + Buffer.byteLength(event.eventId));
    expect(state.bytes).toBeGreaterThan(0);
  });
});
