/**
 * Answers every parser of query_online_status must refuse, shared by the full parser's tests and the compact
 * parser's equivalence tests so that both are held to one list.
 */
import type { TencentErrorKind } from '../../src/tencent/errors.js';

/** An OK answer with the usual header and `fields` added. */
export const ok = (fields: Record<string, unknown>): string =>
  JSON.stringify({ ActionStatus: 'OK', ErrorInfo: '', ErrorCode: 0, ...fields });

const q = (entries: unknown[], extra: Record<string, unknown> = {}): string =>
  ok({ QueryResult: entries, ...extra });

/**
 * [label, body, asked IDs]: bodies that cannot be trusted (kind `malformed`), read with detail: a bad envelope, or
 * entries of which not one is usable.
 */
export const MALFORMED_ANSWERS: Array<[string, string, string[]]> = [
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
    q([{ To_Account: 'a', Status: 'Online', Detail: [{ Platform: 'Web', Status: 'Online', Instid: '1' }] }]),
    ['a'],
  ],
];

const fail = (errorCode: number): string =>
  JSON.stringify({ ActionStatus: 'FAIL', ErrorInfo: 'nope', ErrorCode: errorCode });

/** [label, body, asked IDs, kind, Tencent code]: answers of a failed call, classified by their ErrorCode. */
export const FAILED_ANSWERS: Array<[string, string, string[], TencentErrorKind, number]> = [
  ['FAIL 90001 without results', fail(90001), ['a'], 'request', 90001],
  ['FAIL 70169 without results', fail(70169), ['a'], 'server', 70169],
  ['FAIL 60007 without results', fail(60007), ['a'], 'rate_limit', 60007],
  ['FAIL 70001 without results', fail(70001), ['a'], 'credentials', 70001],
  [
    'OK with ErrorCode 90994 and no results',
    JSON.stringify({ ActionStatus: 'OK', ErrorCode: 90994 }),
    ['a'],
    'server',
    90994,
  ],
];

/**
 * [label, body, asked IDs, codes in asked order, quarantined kinds]: answers with bad entries beside good ones, read
 * with detail. The good entries stand; each bad one sets its user aside (`!` in the codes), the answer is not lost.
 */
export const PARTIAL_ANSWERS: Array<[string, string, string[], string, string[]]> = [
  [
    'an unknown state beside good entries',
    q([
      { To_Account: 'a', Status: 'Online' },
      { To_Account: 'b', Status: 'Busy' },
      { To_Account: 'c', Status: 'Offline' },
    ]),
    ['a', 'b', 'c'],
    'N!F',
    ['unknown_state'],
  ],
  [
    'a user answered twice beside good entries',
    q([
      { To_Account: 'a', Status: 'Online' },
      { To_Account: 'b', Status: 'Online' },
      { To_Account: 'b', Status: 'Offline' },
    ]),
    ['a', 'b'],
    'N!',
    ['duplicate'],
  ],
  [
    'a user in both lists beside good entries',
    q(
      [
        { To_Account: 'a', Status: 'Online' },
        { To_Account: 'b', Status: 'PushOnline' },
      ],
      {
        ErrorList: [{ To_Account: 'a', ErrorCode: 70107 }],
      },
    ),
    ['a', 'b'],
    '!P',
    ['duplicate'],
  ],
  [
    'an ID not asked for beside good entries',
    q([
      { To_Account: 'a', Status: 'Online' },
      { To_Account: 'zz', Status: 'Online' },
    ]),
    ['a'],
    'N',
    ['unasked'],
  ],
  [
    'an asked ID missing from both lists',
    q([{ To_Account: 'a', Status: 'Online' }]),
    ['a', 'b'],
    'N!',
    ['missing'],
  ],
  [
    'a non-object entry beside good entries',
    q([{ To_Account: 'a', Status: 'Online' }, 'b']),
    ['a', 'b'],
    'N!',
    ['malformed_entry', 'missing'],
  ],
  [
    'a malformed Detail beside good entries',
    q([
      { To_Account: 'a', Status: 'Online', Detail: [{ Platform: 'Web', Status: 'On' }] },
      { To_Account: 'b', Status: 'Offline' },
    ]),
    ['a', 'b'],
    '!F',
    ['unknown_state'],
  ],
  [
    'an ErrorList entry without a code beside good entries',
    q([{ To_Account: 'a', Status: 'Online' }], { ErrorList: [{ To_Account: 'b' }] }),
    ['a', 'b'],
    'N!',
    ['malformed_entry'],
  ],
];
