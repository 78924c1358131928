import { describe, expect, it } from 'vitest';
import { registerSecret } from '../../src/ops/redact.js';
import {
  classifyErrorCode,
  ERROR_CODE_RULES,
  TencentError,
  type TencentErrorKind,
} from '../../src/tencent/errors.js';

// Written out independently of ERROR_CODE_RULES: the brief's table is the spec.
const EXPECTED: [TencentErrorKind, boolean, number[]][] = [
  ['rate_limit', true, [60007, 60011, 60018, 60019]],
  ['server', true, [70169, 90992, 90994, 90995, 91000, 60008, 70202, 70500, 60014]],
  ['credentials', true, [70001, 70052]],
  [
    'fatal_config',
    false,
    [
      60004, 60005, 60006, 60010, 60016, 60020, 60021, 70002, 70003, 70005, 70009, 70013, 70014, 70016, 70020,
      70051, 90009, 60009, 60012, 60017, 70398, 70402, 70403,
    ],
  ],
  ['locked', true, [70050]],
  ['request', false, [90001, 90003, 90011, 60002, 60003, 60015, 70107]],
];
const CASES = EXPECTED.flatMap(([kind, retriable, codes]) =>
  codes.map((code) => [code, kind, retriable] as const),
);

describe('classifyErrorCode', () => {
  it.each(CASES)('classifies %i as %s (retriable: %s)', (code, kind, retriable) => {
    const error = classifyErrorCode(code, 'info from Tencent');
    expect(error).toBeInstanceOf(TencentError);
    expect(error).toMatchObject({ kind, retriable, errorCode: code, errorInfo: 'info from Tencent' });
    expect(error.message).toContain(String(code));
    expect(error.message).toContain('info from Tencent');
  });

  it('covers exactly the codes of the table', () => {
    expect([...ERROR_CODE_RULES.keys()].sort()).toEqual(CASES.map(([code]) => code).sort());
  });

  it.each([
    [60007, 'TENCENT_RATE_LIMITED', 1_000],
    [60011, 'TENCENT_RATE_LIMITED', 1_000],
    [70050, 'TENCENT_LOCKED', 60_000],
    [70169, 'TENCENT_SERVER_ERROR', undefined],
    [70001, 'TENCENT_CREDENTIALS_REJECTED', undefined],
    [70020, 'TENCENT_FATAL_CONFIG', undefined],
    [90011, 'TENCENT_BAD_REQUEST', undefined],
  ])('gives %i the stable code %s and a retry hint of %s ms', (errorCode, code, retryAfterMs) => {
    const error = classifyErrorCode(errorCode);
    expect(error.code).toBe(code);
    expect(error.retryAfterMs).toBe(retryAfterMs);
  });

  it.each([
    [70016, /check the region \/ endpoint/],
    [70020, /check the region \/ endpoint/],
    [70005, /check the secret key/],
    [90009, /not an app admin/],
    [60021, /allow list/],
  ])('tells what to fix for %i', (code, hint) => {
    expect(classifyErrorCode(code).message).toMatch(hint);
  });

  it('treats an unknown code as a retriable server error with its own stable code', () => {
    const error = classifyErrorCode(12345, 'something new');
    expect(error).toMatchObject({
      kind: 'server',
      retriable: true,
      code: 'TENCENT_UNKNOWN_ERROR_CODE',
      errorCode: 12345,
    });
  });
});

describe('TencentError', () => {
  it('scrubs UserSigs and registered secrets from the message and ErrorInfo', () => {
    const key = 'errors-test-secret-key-9876543210';
    registerSecret(key);
    const error = new TencentError(
      `POST /v4/openim/query_online_status?usersig=eJw*abc-_&random=1 with ${key}`,
      {
        kind: 'network',
        errorInfo: `key ${key}`,
      },
    );
    expect(error.message).toBe(
      'POST /v4/openim/query_online_status?usersig=[redacted]&random=1 with [redacted]',
    );
    expect(error.errorInfo).toBe('key [redacted]');
  });

  it('derives code and retriable from the kind unless given', () => {
    expect(new TencentError('x', { kind: 'timeout' })).toMatchObject({
      code: 'TENCENT_TIMEOUT',
      retriable: true,
    });
    expect(new TencentError('x', { kind: 'http', httpStatus: 404 })).toMatchObject({
      code: 'TENCENT_HTTP_ERROR',
      retriable: false,
    });
    expect(new TencentError('x', { kind: 'http', retriable: true }).retriable).toBe(true);
    expect(new TencentError('x', { kind: 'aborted' })).toMatchObject({
      code: 'TENCENT_ABORTED',
      retriable: false,
    });
  });

  it('keeps the cause', () => {
    const cause = new Error('socket hang up');
    expect(new TencentError('x', { kind: 'network', cause }).cause).toBe(cause);
  });
});
