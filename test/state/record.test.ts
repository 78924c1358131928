import { describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord, type StoredState } from '../../src/state/record.js';

/** 2026-12-05T12:00:00.000Z and an epoch ten minutes earlier, as update-membership.lua writes one. */
const OBSERVED = Date.UTC(2026, 11, 5, 12);
const EPOCH = (OBSERVED - 600_000).toString(36);

const state = (fields: Partial<StoredState>): StoredState => ({
  watchlistIds: [1],
  state: 'Offline',
  notFound: false,
  seq: 1,
  observedAtMs: OBSERVED,
  deviceHash: '',
  epoch: EPOCH,
  ...fields,
});

describe('state record format', () => {
  it.each<[string, Partial<StoredState>]>([
    ['observed once, one watchlist', {}],
    [
      'two watchlists, Online, with a device hash',
      { watchlistIds: [3, 17], state: 'Online', seq: 41, deviceHash: 'a1b2c3d4' },
    ],
    ['never observed', { state: null, seq: 0, observedAtMs: 0 }],
    ['not found', { state: null, notFound: true, seq: 2 }],
    ['restored: no watchlist, no device hash', { watchlistIds: [], state: 'PushOnline', seq: 1_000_000 }],
    ['a time before the epoch', { observedAtMs: parseInt(EPOCH, 36) - 5_000 }],
    ['a time equal to the epoch', { observedAtMs: parseInt(EPOCH, 36) }],
    ['an epoch that is not base 36 (times are then absolute)', { epoch: 'legacy-epoch' }],
    ['an epoch longer than a double holds exactly', { epoch: 'zzzzzzzzzzz' }],
    ['an empty epoch', { epoch: '' }],
  ])('decodes what it encodes (%s)', (_case, fields) => {
    const original = state(fields);
    expect(decodeRecord(encodeRecord(original))).toEqual(original);
  });

  it('writes numbers in base 36 and the time relative to the epoch, leaving out an empty device hash', () => {
    expect(encodeRecord(state({}))).toBe(`1F1|${(600_000).toString(36)}|${EPOCH}`);
    expect(encodeRecord(state({}))).toHaveLength(17);
    expect(encodeRecord(state({ state: null, seq: 0, observedAtMs: 0 }))).toBe(`1-0||${EPOCH}`);
    expect(encodeRecord(state({ watchlistIds: [3, 17], seq: 71, deviceHash: 'a1b2c3d4' }))).toBe(
      `3,17F1z|${(600_000).toString(36)}|${EPOCH}|a1b2c3d4`,
    );
  });

  it('reads records of the first format (decimal, every field present), which stay until their next write', () => {
    expect(decodeRecord(`3,17|N|41|${OBSERVED}|a1b2c3d4|${EPOCH}`)).toEqual(
      state({ watchlistIds: [3, 17], state: 'Online', seq: 41, deviceHash: 'a1b2c3d4' }),
    );
    expect(decodeRecord(`12|-|0|0||${EPOCH}`)).toEqual(
      state({ watchlistIds: [12], state: null, seq: 0, observedAtMs: 0 }),
    );
    expect(decodeRecord(`|X|2|${OBSERVED}||zz`)).toEqual(
      state({ watchlistIds: [], state: null, notFound: true, seq: 2, epoch: 'zz' }),
    );
  });
});
