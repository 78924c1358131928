import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  computeUserSigHmac,
  generateUserSig,
  userSigSignedWith,
  verifyUserSig,
} from '../../src/tencent/usersig.js';

const VECTOR = {
  sdkAppId: 1_400_000_000,
  secretKey: '5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e',
  identifier: 'xiaojun',
  timeSec: 1_700_000_000,
  expireSec: 15_552_000,
};

function decode(userSig: string): Record<string, unknown> {
  const base64 = userSig.replace(/\*/g, '+').replace(/-/g, '/').replace(/_/g, '=');
  return JSON.parse(inflateSync(Buffer.from(base64, 'base64')).toString('utf8')) as Record<string, unknown>;
}

describe('computeUserSigHmac', () => {
  it('matches the reference vector (key used as UTF-8 text, not hex)', () => {
    expect(computeUserSigHmac(VECTOR, VECTOR.secretKey)).toBe('LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4=');
  });
});

describe('generateUserSig', () => {
  it('produces a URL-safe zlib+base64 v2 document carrying the reference signature', () => {
    const userSig = generateUserSig(VECTOR);
    expect(userSig).toMatch(/^[A-Za-z0-9*\-_]+$/);
    expect(decode(userSig)).toEqual({
      'TLS.ver': '2.0',
      'TLS.identifier': 'xiaojun',
      'TLS.sdkappid': 1_400_000_000,
      'TLS.expire': 15_552_000,
      'TLS.time': 1_700_000_000,
      'TLS.sig': 'LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4=',
    });
  });

  it('defaults the issue time to now, in seconds', () => {
    const before = Math.floor(Date.now() / 1000);
    const doc = decode(generateUserSig({ ...VECTOR, timeSec: undefined }));
    expect(doc['TLS.time']).toBeGreaterThanOrEqual(before);
    expect(doc['TLS.time']).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
  });
});

describe('verifyUserSig', () => {
  const userSig = generateUserSig(VECTOR);
  const expected = { sdkAppId: VECTOR.sdkAppId, identifier: VECTOR.identifier, secretKey: VECTOR.secretKey };
  const lastValidMs = (VECTOR.timeSec + VECTOR.expireSec) * 1000;

  it('accepts its own UserSig round trip and returns the signed content', () => {
    const verdict = verifyUserSig(userSig, { ...expected, nowMs: VECTOR.timeSec * 1000 });
    expect(verdict).toMatchObject({ ok: true, content: { identifier: 'xiaojun', timeSec: 1_700_000_000 } });
  });

  it('treats the sig as valid at exactly time + expire and expired one millisecond later', () => {
    expect(verifyUserSig(userSig, { ...expected, nowMs: lastValidMs }).ok).toBe(true);
    expect(verifyUserSig(userSig, { ...expected, nowMs: lastValidMs + 1 })).toMatchObject({
      ok: false,
      reason: 'expired',
    });
  });

  it.each([
    ['a different key', { secretKey: 'another-secret-key-0000' }, 'bad_signature'],
    ['a different identifier', { identifier: 'someone-else' }, 'identifier_mismatch'],
    ['a different app', { sdkAppId: 1_400_000_001 }, 'app_mismatch'],
  ])('rejects a check against %s', (_label, override, reason) => {
    expect(verifyUserSig(userSig, { ...expected, ...override, nowMs: VECTOR.timeSec * 1000 })).toMatchObject({
      ok: false,
      reason,
    });
  });

  it('reports a forged but expired sig as bad_signature, not expired', () => {
    const verdict = verifyUserSig(userSig, {
      ...expected,
      secretKey: 'wrong-key-123456',
      nowMs: lastValidMs + 1,
    });
    expect(verdict).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it.each([
    ['empty', ''],
    ['not base64', 'abc+/='],
    ['not zlib', 'aGVsbG8gd29ybGQ_'],
    ['a tampered byte', userSig.slice(0, 20) + (userSig[20] === 'A' ? 'B' : 'A') + userSig.slice(21)],
  ])('rejects %s input as malformed', (_label, input) => {
    expect(verifyUserSig(input, { ...expected, nowMs: VECTOR.timeSec * 1000 })).toMatchObject({
      ok: false,
      reason: 'malformed',
    });
  });
});

describe('userSigSignedWith', () => {
  it('tells which key signed a UserSig', () => {
    const userSig = generateUserSig(VECTOR);
    expect(userSigSignedWith(userSig, VECTOR.secretKey)).toBe(true);
    expect(userSigSignedWith(userSig, 'another-secret-key-0000')).toBe(false);
    expect(userSigSignedWith('garbage', VECTOR.secretKey)).toBe(false);
  });
});
