import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandLua } from '../../scripts/lua-module.js';
import { parseOutboxEntry } from '../../src/events/outbox-entry.js';
import { appKeys } from '../../src/redis/keys.js';
import { decodeRecord, encodeRecord, type StoredState } from '../../src/state/record.js';
import { createStateStore } from '../../src/state/state-store.js';
import { codeOfState, DETECTION_LETTERS, STATE_CODES } from '../../src/vocabulary.js';
import { testRedis, uniqueName } from '../helpers/services.js';

/**
 * The record and outbox formats are written by Lua (state/lua/include/record.lua, events/lua/include/outbox-entry.lua)
 * and read by TypeScript (state/record.ts, events/outbox-entry.ts). Each pair round-trips here through a real Redis.
 */
const src = resolve(import.meta.dirname, '../../src');
const includes = [
  expandLua(join(src, 'state/lua/include/record.lua')),
  expandLua(join(src, 'events/lua/include/outbox-entry.lua')),
].join('\n');

const roundTrip = `${includes}
local record = encodeRecord(ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], ARGV[6])
redis.call('HSET', KEYS[1], 'alice', record)
local members, state, seq, changedAt, deviceHash, epoch = decodeRecord(record)
appendEvent(KEYS[2], 'alice', 'transition', publishedState(state), ARGV[7], seq + 1, changedAt + 5, changedAt,
  members, ARGV[8], epoch, ARGV[9])
return {members, state, seq, changedAt, deviceHash, epoch}
`;

describe('record and outbox formats', () => {
  it.each([
    [
      'tracked by two lists, Online, with devices',
      ['3,7', 'N', '41', '1733300000123', 'a1b2c3d4', 'mhd3k2a1'],
      'h',
    ],
    ['never observed', ['12', '-', '0', '0', '', 'mhd3k2a1'], 's'],
    ['not found', ['5', 'X', '2', '1733300000999', '', 'zz'], 'c'],
    ['not observed (an untracked entry)', ['5', 'X', '3', '1733300000999', '', 'zz'], ''],
  ])(
    'a record written by record.lua decodes to the same fields in TypeScript (%s)',
    async (_case, fields, detectedByLetter) => {
      const redis = testRedis();
      const [bucket, outbox] = [uniqueName('bucket'), uniqueName('outbox')];
      const [members, state, seq, changedAt, deviceHash, epoch] = fields as [
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      const fromLua = await redis.eval(
        roundTrip,
        2,
        bucket,
        outbox,
        ...fields,
        'F',
        '[{"platform":"Web"}]',
        detectedByLetter,
      );
      expect(fromLua).toEqual([members, state, Number(seq), Number(changedAt), deviceHash, epoch]);

      const stored = decodeRecord((await redis.hget(bucket, 'alice'))!);
      expect(stored).toEqual({
        watchlistIds: members.split(',').map(Number),
        state: state === 'N' ? 'Online' : null,
        notFound: state === 'X',
        seq: Number(seq),
        observedAtMs: Number(changedAt),
        deviceHash,
        epoch,
      });

      const [entry] = ((await redis.xrange(outbox, '-', '+')) as Array<[string, string[]]>).map(
        parseOutboxEntry,
      );
      expect(entry).toMatchObject({
        userId: 'alice',
        kind: 'transition',
        fromCode: state === 'N' ? 'N' : '',
        toCode: 'F',
        seq: Number(seq) + 1,
        observedAtMs: Number(changedAt) + 5,
        previousObservedAtMs: Number(changedAt),
        watchlistIds: members.split(',').map(Number),
        devicesJson: '[{"platform":"Web"}]',
        epoch,
      });
      const source = Object.entries(DETECTION_LETTERS).find(([, letter]) => letter === detectedByLetter)?.[0];
      expect(entry!.detectedBy).toBe(source);
    },
  );

  /** A record as record.lua reads it, the record it writes back from those fields, and its state code alone. */
  const readBack = `${includes}
local members, state, seq, changedAt, deviceHash, epoch = decodeRecord(ARGV[1])
return {members, state, seq, changedAt, deviceHash, epoch,
  encodeRecord(members, state, seq, changedAt, deviceHash, epoch), stateOfRecord(ARGV[1])}
`;
  const at = Date.UTC(2026, 11, 5, 12);
  const epoch = (at - 600_000).toString(36);
  const written = (fields: Partial<StoredState>): string =>
    encodeRecord({
      watchlistIds: [1],
      state: 'Offline',
      notFound: false,
      seq: 1,
      observedAtMs: at,
      deviceHash: '',
      epoch,
      ...fields,
    });

  it.each([
    ['written by TypeScript (a restored record)', written({ watchlistIds: [], seq: 9 })],
    [
      'with two watchlists and a device hash',
      written({ watchlistIds: [3, 17], state: 'Online', seq: 71, deviceHash: 'a1b2c3d4' }),
    ],
    ['never observed', written({ state: null, seq: 0, observedAtMs: 0 })],
    ['a time before the epoch', written({ notFound: true, state: null, observedAtMs: at - 700_000 })],
    ['an epoch that is not base 36', written({ epoch: 'not-base-36' })],
    ['of the first format', `3,17|N|41|${at}|a1b2c3d4|${epoch}`],
    ['of the first format, never observed', `12|-|0|0||${epoch}`],
    ['of the first format, restored', `|P|7|${at}||${epoch}`],
  ])(
    'a record %s reads the same in Lua and TypeScript, and both write it back alike',
    async (_case, record) => {
      const fromLua = (await testRedis().eval(readBack, 0, record)) as [
        string,
        string,
        number,
        number,
        string,
        string,
        string,
        string,
      ];
      const stored = decodeRecord(record);
      const [members, state, seq, changedAt, deviceHash, luaEpoch, rewritten, stateCode] = fromLua;
      expect({ members, seq, changedAt, deviceHash, epoch: luaEpoch }).toEqual({
        members: stored.watchlistIds.join(','),
        seq: stored.seq,
        changedAt: stored.observedAtMs,
        deviceHash: stored.deviceHash,
        epoch: stored.epoch,
      });
      const code = stored.notFound
        ? STATE_CODES.NotFound
        : stored.state === null
          ? STATE_CODES.NeverObserved
          : codeOfState(stored.state);
      expect([state, stateCode]).toEqual([code, code]);
      expect(rewritten).toBe(encodeRecord(stored));
    },
  );

  it('a record of the first format is diffed as before and written back in the compact one', async () => {
    const redis = testRedis();
    const keys = appKeys(uniqueName('upgrade'), 1400000000, 4);
    const store = createStateStore(redis, keys);
    const old = `1|F|3|${at}||${epoch}`;
    await redis.hset(keys.stateBucketOf('a'), 'a', old);
    const observe = (observedAtMs: number, code: 'N' | 'F') =>
      store.applyObservations({
        source: 'hint',
        observedAtMs,
        firstObservation: 'snapshot',
        deviceEvents: false,
        observations: [{ userId: 'a', code, deviceHash: '', devicesJson: '' }],
      });

    expect(await observe(at - 1, 'N')).toMatchObject({ applied: 0, stale: 1 });
    expect(await observe(at + 1_000, 'F')).toMatchObject({ applied: 1, events: 0 });
    expect(await redis.hget(keys.stateBucketOf('a'), 'a')).toBe(old);
    expect(await observe(at + 2_000, 'N')).toMatchObject({ applied: 1, events: 1 });
    const [entry] = ((await redis.xrange(keys.outbox, '-', '+')) as Array<[string, string[]]>).map(
      parseOutboxEntry,
    );
    expect(entry).toMatchObject({
      kind: 'transition',
      fromCode: 'F',
      toCode: 'N',
      seq: 4,
      observedAtMs: at + 2_000,
      previousObservedAtMs: at,
      epoch,
    });
    const record = (await redis.hget(keys.stateBucketOf('a'), 'a'))!;
    expect(record).toBe(`1N4|${(602_000).toString(36)}|${epoch}`);
    expect(record.length).toBeLessThan(old.length - 10);
  });
});
