import { describe, expect, it } from 'vitest';
import { TencentError } from '../../src/tencent/errors.js';
import { normalizePlatform, parseOnlineStatusResponse } from '../../src/tencent/parse.js';
import { FAILED_ANSWERS, MALFORMED_ANSWERS, ok, PARTIAL_ANSWERS } from './parse-corpus.js';

function parseError(body: string, asked: string[], detail = false): TencentError {
  try {
    parseOnlineStatusResponse(body, asked, { detail });
  } catch (error) {
    if (error instanceof TencentError) return error;
    throw error;
  }
  throw new Error('expected a TencentError');
}

describe('parseOnlineStatusResponse', () => {
  it('reads the top-level state from Status (field table) and from State (English samples)', () => {
    const body = ok({
      QueryResult: [
        { To_Account: 'id1', Status: 'Offline' },
        { To_Account: 'id2', State: 'Online' },
        { To_Account: 'id3', Status: 'PushOnline' },
      ],
      ErrorList: [{ To_Account: 'id4', ErrorCode: 70107 }],
    });
    expect(parseOnlineStatusResponse(body, ['id1', 'id2', 'id3', 'id4'], { detail: false })).toEqual({
      results: [
        { userId: 'id1', state: 'Offline' },
        { userId: 'id2', state: 'Online' },
        { userId: 'id3', state: 'PushOnline' },
      ],
      accountErrors: [{ userId: 'id4', errorCode: 70107 }],
      quarantined: [],
    });
  });

  it('reads Detail with optional fields and normalised platforms', () => {
    const body = ok({
      QueryResult: [
        {
          To_Account: 'id1',
          State: 'Online',
          Detail: [
            {
              Platform: 'IPhone',
              Status: 'PushOnline',
              IsBackground: 1,
              Instid: 74224656,
              CustomIdentifier: 'device-1',
            },
            { Platform: 'Web', State: 'Online', IsBackground: 0 },
            { Platform: 'Android', Status: 'Online' },
          ],
        },
        { To_Account: 'id2', Status: 'Offline' },
      ],
    });
    expect(parseOnlineStatusResponse(body, ['id1', 'id2'], { detail: true }).results).toEqual([
      {
        userId: 'id1',
        state: 'Online',
        devices: [
          {
            platform: 'iPhone',
            status: 'PushOnline',
            isBackground: true,
            instId: 74224656,
            customIdentifier: 'device-1',
          },
          { platform: 'Web', status: 'Online', isBackground: false },
          { platform: 'Android', status: 'Online' },
        ],
      },
      { userId: 'id2', state: 'Offline', devices: [] },
    ]);
  });

  it('omits devices when detail was not asked for', () => {
    const body = ok({
      QueryResult: [{ To_Account: 'a', Status: 'Online', Detail: [{ Platform: 'PC', Status: 'Online' }] }],
    });
    expect(parseOnlineStatusResponse(body, ['a'], { detail: false }).results).toEqual([
      { userId: 'a', state: 'Online' },
    ]);
  });

  it('returns an all-ErrorList answer even when ErrorCode is non-zero', () => {
    const body = JSON.stringify({
      ActionStatus: 'FAIL',
      ErrorInfo: 'all failed',
      ErrorCode: 70107,
      ErrorList: [
        { To_Account: 'x', ErrorCode: 70107 },
        { To_Account: 'y', ErrorCode: 70107 },
      ],
    });
    expect(parseOnlineStatusResponse(body, ['x', 'y'], { detail: false })).toEqual({
      results: [],
      accountErrors: [
        { userId: 'x', errorCode: 70107 },
        { userId: 'y', errorCode: 70107 },
      ],
      quarantined: [],
    });
  });

  it.each(FAILED_ANSWERS)('classifies %s by its ErrorCode', (_label, body, asked, kind, errorCode) => {
    const { ErrorInfo: errorInfo = '' } = JSON.parse(body) as { ErrorInfo?: string };
    expect(parseError(body, asked)).toMatchObject({ kind, errorCode, errorInfo });
  });

  it.each(PARTIAL_ANSWERS)(
    'quarantines the bad entry of %s and keeps the rest',
    (_label, body, asked, codes, kinds) => {
      const result = parseOnlineStatusResponse(body, asked, { detail: true });
      expect(result.quarantined.map((entry) => entry.kind)).toEqual(kinds);
      const read = new Set([...result.results, ...result.accountErrors].map((entry) => entry.userId));
      expect(asked.map((id) => (read.has(id) ? '+' : '!')).join('')).toBe(codes.replace(/[^!]/g, '+'));
    },
  );

  it('names the user and the reason of a quarantined entry', () => {
    const body = ok({
      QueryResult: [
        { To_Account: 'a', Status: 'Online' },
        { To_Account: 'b', Status: 'Busy' },
      ],
    });
    expect(parseOnlineStatusResponse(body, ['a', 'b'], { detail: false })).toEqual({
      results: [{ userId: 'a', state: 'Online' }],
      accountErrors: [],
      quarantined: [
        {
          userId: 'b',
          kind: 'unknown_state',
          reason: 'QueryResult[1] has no known Status/State (got "Busy")',
        },
      ],
    });
  });

  it.each(MALFORMED_ANSWERS)('rejects %s as malformed and retriable', (_label, body, asked) => {
    const error = parseError(body, asked, true);
    expect(error).toMatchObject({ kind: 'malformed', code: 'TENCENT_MALFORMED_RESPONSE', retriable: true });
  });
});

describe('normalizePlatform', () => {
  it.each([
    ['iPhone', 'iPhone'],
    ['IPhone', 'iPhone'],
    ['iOS', 'iPhone'],
    ['IOS', 'iPhone'],
    ['android', 'Android'],
    ['ANDROID', 'Android'],
    ['ipad', 'iPad'],
    ['mac', 'Mac'],
    ['pc', 'PC'],
    ['Web', 'Web'],
    ['windows', 'Windows'],
    ['Linux', 'Linux'],
    ['HarmonyOS', 'Unknown'],
    ['', 'Unknown'],
  ])('maps %j to %s', (raw, platform) => {
    expect(normalizePlatform(raw)).toBe(platform);
  });
});
