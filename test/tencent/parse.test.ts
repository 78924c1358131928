import { describe, expect, it } from 'vitest';
import { TencentError } from '../../src/tencent/errors.js';
import { normalizePlatform, parseOnlineStatusResponse } from '../../src/tencent/parse.js';

const ok = (fields: Record<string, unknown>): string =>
  JSON.stringify({ ActionStatus: 'OK', ErrorInfo: '', ErrorCode: 0, ...fields });

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
    });
  });

  it.each([
    [90001, 'request'],
    [70169, 'server'],
    [60007, 'rate_limit'],
    [70001, 'credentials'],
  ])('turns a FAIL answer with ErrorCode %i and no results into a classified %s error', (code, kind) => {
    const error = parseError(JSON.stringify({ ActionStatus: 'FAIL', ErrorInfo: 'nope', ErrorCode: code }), [
      'a',
    ]);
    expect(error).toMatchObject({ kind, errorCode: code, errorInfo: 'nope' });
  });

  it('classifies ActionStatus OK with a non-zero ErrorCode and no results too', () => {
    expect(parseError(JSON.stringify({ ActionStatus: 'OK', ErrorCode: 90994 }), ['a'])).toMatchObject({
      kind: 'server',
      errorCode: 90994,
    });
  });

  const q = (entries: unknown[], extra: Record<string, unknown> = {}): string =>
    ok({ QueryResult: entries, ...extra });
  it.each([
    ['invalid JSON', '{"ActionStatus":"OK",', ['a']],
    [
      "the English page's sample (trailing comma)",
      '{"ActionStatus":"OK","ErrorCode": 0,"QueryResult": [],}',
      ['a'],
    ],
    ['a JSON array', '[]', ['a']],
    [
      'a missing ActionStatus',
      JSON.stringify({ ErrorCode: 0, QueryResult: [{ To_Account: 'a', Status: 'Online' }] }),
      ['a'],
    ],
    ['an unknown ActionStatus', JSON.stringify({ ActionStatus: 'MAYBE', QueryResult: [] }), ['a']],
    ['FAIL with ErrorCode 0', JSON.stringify({ ActionStatus: 'FAIL', ErrorCode: 0 }), ['a']],
    ['a non-integer ErrorCode', JSON.stringify({ ActionStatus: 'OK', ErrorCode: '0' }), ['a']],
    ['a non-array QueryResult', ok({ QueryResult: { To_Account: 'a', Status: 'Online' } }), ['a']],
    ['a non-array ErrorList', q([], { ErrorList: 'a' }), ['a']],
    ['an unknown state string', q([{ To_Account: 'a', Status: 'Away' }]), ['a']],
    ['a lower-case state', q([{ To_Account: 'a', Status: 'online' }]), ['a']],
    ['a missing state', q([{ To_Account: 'a' }]), ['a']],
    ['an ID not asked for', q([{ To_Account: 'zz', Status: 'Online' }]), ['a']],
    [
      'a duplicate ID in QueryResult',
      q([
        { To_Account: 'a', Status: 'Online' },
        { To_Account: 'a', Status: 'Online' },
      ]),
      ['a'],
    ],
    [
      'an ID in both lists',
      q([{ To_Account: 'a', Status: 'Online' }], { ErrorList: [{ To_Account: 'a', ErrorCode: 70107 }] }),
      ['a'],
    ],
    ['an asked ID missing from both lists', q([{ To_Account: 'a', Status: 'Online' }]), ['a', 'b']],
    ['an empty answer to a question', ok({}), ['a']],
    ['a non-string To_Account', q([{ To_Account: 7, Status: 'Online' }]), ['7']],
    ['a non-object entry', q(['a']), ['a']],
    ['an ErrorList entry without a code', q([], { ErrorList: [{ To_Account: 'a' }] }), ['a']],
    ['a non-array Detail', q([{ To_Account: 'a', Status: 'Online', Detail: {} }]), ['a']],
    [
      'a Detail without Platform',
      q([{ To_Account: 'a', Status: 'Online', Detail: [{ Status: 'Online' }] }]),
      ['a'],
    ],
    [
      'a Detail with an unknown status',
      q([{ To_Account: 'a', Status: 'Online', Detail: [{ Platform: 'Web', Status: 'On' }] }]),
      ['a'],
    ],
    [
      'a Detail with IsBackground 2',
      q([
        {
          To_Account: 'a',
          Status: 'Online',
          Detail: [{ Platform: 'Web', Status: 'Online', IsBackground: 2 }],
        },
      ]),
      ['a'],
    ],
    [
      'a Detail with a string Instid',
      q([
        { To_Account: 'a', Status: 'Online', Detail: [{ Platform: 'Web', Status: 'Online', Instid: '1' }] },
      ]),
      ['a'],
    ],
  ])('rejects %s as malformed and retriable', (_label, body, asked) => {
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
