import { describe, expect, it } from 'vitest';
import { signCallback, verifyCallbackSign } from '../../src/tencent/index.js';

// The sample in Tencent's "Webhook Overview" page (Security Considerations).
const SAMPLE = {
  token: 'xxxxyyyy',
  requestTime: '1669872112',
  sign: '17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061',
};

describe('signCallback', () => {
  it("reproduces the sample in Tencent's docs: sha256(token + RequestTime) as lowercase hex", () => {
    expect(signCallback(SAMPLE.token, SAMPLE.requestTime)).toBe(SAMPLE.sign);
    expect(signCallback(SAMPLE.token, Number(SAMPLE.requestTime))).toBe(SAMPLE.sign);
  });

  it('refuses an empty token and a RequestTime that is not whole seconds', () => {
    expect(() => signCallback('', 1)).toThrow(/token must not be empty/);
    expect(() => signCallback('t', 1.5)).toThrow(/RequestTime/);
    expect(() => signCallback('t', '-1')).toThrow(/RequestTime/);
  });
});

describe('verifyCallbackSign', () => {
  it('accepts the documented sample, also in upper-case hex', () => {
    expect(verifyCallbackSign(SAMPLE.token, SAMPLE.requestTime, SAMPLE.sign)).toBe(true);
    expect(verifyCallbackSign(SAMPLE.token, SAMPLE.requestTime, SAMPLE.sign.toUpperCase())).toBe(true);
  });

  it.each([
    ['another token', 'xxxyyy', SAMPLE.requestTime, SAMPLE.sign],
    ['another time', SAMPLE.token, '1669872113', SAMPLE.sign],
    ['a truncated sign', SAMPLE.token, SAMPLE.requestTime, SAMPLE.sign.slice(0, 63)],
    ['a non-hex sign', SAMPLE.token, SAMPLE.requestTime, `${SAMPLE.sign.slice(0, 63)}g`],
    ['no sign', SAMPLE.token, SAMPLE.requestTime, undefined],
    ['no time', SAMPLE.token, undefined, SAMPLE.sign],
    ['a time that is not a number', SAMPLE.token, '16698721x2', SAMPLE.sign],
    ['an empty token', '', SAMPLE.requestTime, SAMPLE.sign],
  ])('refuses %s', (_name, token, requestTime, sign) => {
    expect(verifyCallbackSign(token, requestTime, sign)).toBe(false);
  });
});
