import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandLua } from '../../scripts/lua-module.js';
import { parseOutboxEntry } from '../../src/events/outbox-entry.js';
import { decodeRecord } from '../../src/state/record.js';
import { DETECTION_LETTERS } from '../../src/vocabulary.js';
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
});
