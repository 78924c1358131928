import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../../src/ops/redact.js';
import { createUserSigCache, renewalMarginMs } from '../../src/tencent/usersig-cache.js';
import { verifyUserSig } from '../../src/tencent/usersig.js';

const APP = { sdkAppId: 1_400_000_123, secretKey: 'cache-test-secret-key-abcdef0123456789' };
const DAY_MS = 86_400_000;
const T0 = 1_800_000_000_000; // a whole second, Unix ms

function fakeClock(startMs = T0): { now: () => number; advance: (ms: number) => void } {
  let t = startMs;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function issuedAtSec(userSig: string, identifier = 'admin'): number {
  const verdict = verifyUserSig(userSig, { ...APP, identifier, nowMs: 0 });
  if (!verdict.ok) throw new Error(`unexpected ${verdict.reason}`);
  return verdict.content.timeSec;
}

describe('renewalMarginMs', () => {
  it.each([
    [604_800, 0.1 * 7 * DAY_MS], // 7 days: 10% (16.8 h)
    [86_400, 0.1 * DAY_MS], // 1 day: 10% (2.4 h)
    [7_200, 3_600_000], // 2 h: at least 1 h ahead
    [60, 30_000], // tiny lifetimes: half of it
  ])('renews a %i s UserSig %i ms before expiry', (ttlSeconds, marginMs) => {
    expect(renewalMarginMs(ttlSeconds)).toBeCloseTo(marginMs, 6);
  });
});

describe('createUserSigCache', () => {
  it('reuses the cached UserSig until less than 10% of a 7-day lifetime remains, then renews', () => {
    const clock = fakeClock();
    const cache = createUserSigCache({ ...APP, now: clock.now });
    const first = cache.get('admin');
    expect(verifyUserSig(first, { ...APP, identifier: 'admin', nowMs: T0 })).toMatchObject({
      ok: true,
      content: { expireSec: 604_800, timeSec: T0 / 1000 },
    });
    clock.advance(7 * DAY_MS - 0.1 * 7 * DAY_MS - 1);
    expect(cache.get('admin')).toBe(first);
    clock.advance(1);
    const renewed = cache.get('admin');
    expect(renewed).not.toBe(first);
    expect(issuedAtSec(renewed)).toBe((T0 + 0.9 * 7 * DAY_MS) / 1000);
  });

  it('honours a configured lifetime in seconds', () => {
    const clock = fakeClock();
    const cache = createUserSigCache({ ...APP, ttlSeconds: 86_400, now: clock.now });
    const first = cache.get('admin');
    clock.advance(0.9 * DAY_MS - 1);
    expect(cache.get('admin')).toBe(first);
    clock.advance(1);
    expect(cache.get('admin')).not.toBe(first);
  });

  it('renews on invalidate() even when the cached UserSig is still fresh', () => {
    const clock = fakeClock();
    const cache = createUserSigCache({ ...APP, now: clock.now });
    const first = cache.get('admin');
    clock.advance(1_000);
    expect(cache.get('admin')).toBe(first);
    cache.invalidate('admin');
    const second = cache.get('admin');
    expect(issuedAtSec(second)).toBe(T0 / 1000 + 1);
    clock.advance(1_000);
    cache.invalidate();
    expect(issuedAtSec(cache.get('admin'))).toBe(T0 / 1000 + 2);
  });

  it('keeps one UserSig per admin identifier', () => {
    const cache = createUserSigCache({ ...APP, now: fakeClock().now });
    const a = cache.get('admin');
    const b = cache.get('ops-admin');
    expect(verifyUserSig(b, { ...APP, identifier: 'ops-admin', nowMs: T0 }).ok).toBe(true);
    cache.invalidate('ops-admin');
    expect(cache.get('admin')).toBe(a);
  });

  it('registers the key and every live UserSig for redaction, and forgets a replaced one', () => {
    const clock = fakeClock(T0 + 123_000);
    const cache = createUserSigCache({ ...APP, now: clock.now });
    const first = cache.get('admin');
    expect(redactSecrets(`sig ${first} key ${APP.secretKey}`)).toBe('sig [redacted] key [redacted]');
    clock.advance(7 * DAY_MS);
    const second = cache.get('admin');
    expect(redactSecrets(second)).toBe('[redacted]');
    expect(redactSecrets(first)).toBe(first);
  });

  it('rejects a lifetime that is not a positive integer', () => {
    expect(() => createUserSigCache({ ...APP, ttlSeconds: 0 })).toThrow(/positive integer/);
    expect(() => createUserSigCache({ ...APP, ttlSeconds: 1.5 })).toThrow(/positive integer/);
  });
});
