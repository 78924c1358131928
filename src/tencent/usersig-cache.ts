/**
 * Keeps one UserSig per admin identifier and renews it ahead of expiry.
 *
 * Renewal rule: a cached UserSig is renewed once less than 10% of its lifetime remains (16.8 h for the 7-day default),
 * and never later than 1 h before expiry when the lifetime allows it. The margin covers clock skew between this host
 * and Tencent and any call that is in flight across the boundary. `invalidate()` forces renewal (after 70001 / 70052).
 */
import { forgetSecret, registerSecret } from '../ops/redact.js';
import { generateUserSig } from './usersig.js';

/** Default UserSig lifetime: 7 days, in seconds. */
export const DEFAULT_USERSIG_TTL_SECONDS = 86_400 * 7;

export interface UserSigCacheOptions {
  sdkAppId: number;
  /** The app's secret key; registered with `registerSecret` so it is scrubbed from every log line. */
  secretKey: string;
  /** Lifetime of each generated UserSig, in seconds; default 604800 (7 days). Positive integer. */
  ttlSeconds?: number;
  /** Wall clock in Unix ms; default `Date.now`. Injected by tests. */
  now?: () => number;
}

export interface UserSigCache {
  /** Returns a valid UserSig for `identifier`, generating or renewing it when needed. */
  get(identifier: string): string;
  /** Drops the cached UserSig for `identifier` (all when omitted) so the next `get` generates a fresh one. */
  invalidate(identifier?: string): void;
}

interface Entry {
  userSig: string;
  /** Unix ms after which the entry is renewed. */
  renewAtMs: number;
}

/** Milliseconds before expiry at which a UserSig of `ttlSeconds` is renewed (see the module comment). */
export function renewalMarginMs(ttlSeconds: number): number {
  const ttlMs = ttlSeconds * 1000;
  return Math.max(ttlMs * 0.1, Math.min(3_600_000, ttlMs * 0.5));
}

export function createUserSigCache(options: UserSigCacheOptions): UserSigCache {
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_USERSIG_TTL_SECONDS;
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError(`userSigTtlSeconds must be a positive integer, got ${String(ttlSeconds)}`);
  }
  const now = options.now ?? Date.now;
  const marginMs = renewalMarginMs(ttlSeconds);
  const entries = new Map<string, Entry>();
  registerSecret(options.secretKey);

  function drop(identifier: string): void {
    const entry = entries.get(identifier);
    if (!entry) return;
    entries.delete(identifier);
    forgetSecret(entry.userSig);
  }

  return {
    get(identifier) {
      const nowMs = now();
      const cached = entries.get(identifier);
      if (cached && nowMs < cached.renewAtMs) return cached.userSig;
      drop(identifier);
      // Floor to whole seconds: the expiry Tencent computes is time + expire in seconds.
      const timeSec = Math.floor(nowMs / 1000);
      const userSig = generateUserSig({
        sdkAppId: options.sdkAppId,
        identifier,
        secretKey: options.secretKey,
        expireSec: ttlSeconds,
        timeSec,
      });
      registerSecret(userSig);
      entries.set(identifier, { userSig, renewAtMs: (timeSec + ttlSeconds) * 1000 - marginMs });
      return userSig;
    },
    invalidate(identifier) {
      if (identifier !== undefined) drop(identifier);
      else for (const id of [...entries.keys()]) drop(id);
    },
  };
}
