/**
 * UserSig version 2: the credential an app admin sends as `usersig` on every REST call.
 *
 * Generation follows Tencent's published algorithm (its official signing libraries, e.g. `tls-sig-api-v2`): HMAC-SHA256 over a fixed
 * `key:value\n` string, a JSON envelope, zlib, then base64 with `+ / =` replaced by `* - _`.
 * `verifyUserSig` is an independent reversal used by the simulator, so the client and the simulator meet in the middle.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';

/** The fields that go into a UserSig's signature. Times are Unix **seconds**. */
export interface UserSigContent {
  sdkAppId: number;
  identifier: string;
  /** Issue time, Unix seconds. */
  timeSec: number;
  /** Validity in seconds, relative to `timeSec`. */
  expireSec: number;
}

/**
 * Returns `TLS.sig`: standard base64 (padded) of HMAC-SHA256 over the fixed content string, keyed by the secret key
 * string as UTF-8 bytes (not hex-decoded).
 */
export function computeUserSigHmac(content: UserSigContent, secretKey: string): string {
  const text =
    `TLS.identifier:${content.identifier}\n` +
    `TLS.sdkappid:${content.sdkAppId}\n` +
    `TLS.time:${content.timeSec}\n` +
    `TLS.expire:${content.expireSec}\n`;
  return createHmac('sha256', Buffer.from(secretKey, 'utf8')).update(text, 'utf8').digest('base64');
}

export interface GenerateUserSigInput {
  sdkAppId: number;
  identifier: string;
  secretKey: string;
  /** Validity in seconds (Tencent advises at least 86400). */
  expireSec: number;
  /** Issue time in Unix seconds; default now. */
  timeSec?: number;
}

/** Builds a UserSig v2 string. The result is a credential: register it with `registerSecret` before it can leak. */
export function generateUserSig(input: GenerateUserSigInput): string {
  const timeSec = input.timeSec ?? Math.floor(Date.now() / 1000);
  const content: UserSigContent = {
    sdkAppId: input.sdkAppId,
    identifier: input.identifier,
    timeSec,
    expireSec: input.expireSec,
  };
  const doc = {
    'TLS.ver': '2.0',
    'TLS.identifier': input.identifier,
    'TLS.sdkappid': input.sdkAppId,
    'TLS.expire': input.expireSec,
    'TLS.time': timeSec,
    'TLS.sig': computeUserSigHmac(content, input.secretKey),
  };
  return toUrlSafe(deflateSync(Buffer.from(JSON.stringify(doc), 'utf8')).toString('base64'));
}

/** Why a UserSig was refused; the simulator maps each reason to Tencent's error code. */
export type UserSigFailure =
  | 'malformed' // not decodable / not the v2 JSON shape (Tencent 70003)
  | 'app_mismatch' // TLS.sdkappid differs from the URL's sdkappid (70014)
  | 'identifier_mismatch' // TLS.identifier differs from the URL's identifier (70013)
  | 'bad_signature' // HMAC does not match this app's key (70005, or 70009 when another app's key matches)
  | 'expired'; // now > time + expire (70001)

export type UserSigVerification =
  { ok: true; content: UserSigContent } | { ok: false; reason: UserSigFailure; content?: UserSigContent };

export interface VerifyUserSigInput {
  sdkAppId: number;
  identifier: string;
  secretKey: string;
  /** Current time, Unix ms; default `Date.now()`. */
  nowMs?: number;
}

/**
 * Reverses `generateUserSig` and checks it against the expected app, identifier and key.
 * Check order: shape, app, identifier, signature, expiry (so a forged sig is never reported as merely expired).
 */
export function verifyUserSig(userSig: string, expected: VerifyUserSigInput): UserSigVerification {
  const content = decodeUserSig(userSig);
  if (!content) return { ok: false, reason: 'malformed' };
  if (content.sdkAppId !== expected.sdkAppId) return { ok: false, reason: 'app_mismatch', content };
  if (content.identifier !== expected.identifier)
    return { ok: false, reason: 'identifier_mismatch', content };
  if (!hmacMatches(content, expected.secretKey)) return { ok: false, reason: 'bad_signature', content };
  const nowSec = (expected.nowMs ?? Date.now()) / 1000;
  if (nowSec > content.timeSec + content.expireSec) return { ok: false, reason: 'expired', content };
  return { ok: true, content };
}

/** True when `userSig` is well formed and its HMAC matches `secretKey` (identity and expiry not checked). */
export function userSigSignedWith(userSig: string, secretKey: string): boolean {
  const content = decodeUserSig(userSig);
  return content !== undefined && hmacMatches(content, secretKey);
}

interface DecodedUserSig extends UserSigContent {
  sig: string;
}

function decodeUserSig(userSig: string): DecodedUserSig | undefined {
  if (userSig.length === 0 || userSig.length > 4096 || !/^[A-Za-z0-9*\-_]+$/.test(userSig)) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(inflateSync(Buffer.from(fromUrlSafe(userSig), 'base64')).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const d = doc as Record<string, unknown>;
  const { 'TLS.identifier': identifier, 'TLS.sdkappid': sdkAppId, 'TLS.time': timeSec } = d;
  const { 'TLS.expire': expireSec, 'TLS.sig': sig } = d;
  if (typeof identifier !== 'string' || typeof sig !== 'string') return undefined;
  if (!isNonNegativeInteger(sdkAppId) || !isNonNegativeInteger(timeSec) || !isNonNegativeInteger(expireSec)) {
    return undefined;
  }
  return { sdkAppId, identifier, timeSec, expireSec, sig };
}

function hmacMatches(content: DecodedUserSig, secretKey: string): boolean {
  const expected = Buffer.from(computeUserSigHmac(content, secretKey), 'utf8');
  const actual = Buffer.from(content.sig, 'utf8');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function toUrlSafe(base64: string): string {
  return base64.replace(/\+/g, '*').replace(/\//g, '-').replace(/=/g, '_');
}

function fromUrlSafe(text: string): string {
  return text.replace(/\*/g, '+').replace(/-/g, '/').replace(/_/g, '=');
}
