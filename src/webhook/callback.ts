/**
 * Tencent Cloud Chat's `State.StateChange` callback, as the webhook role reads it: what can be checked, and what it
 * says. Pure functions; the HTTP side is in receiver.ts.
 *
 * The request (Tencent Cloud Chat docs, "Status Change Webhooks",
 * https://www.tencentcloud.com/document/product/1047/34357, and "Webhook Overview",
 * https://www.tencentcloud.com/document/product/1047/34354): POST to the URL configured in the console with
 * `SdkAppid`, `CallbackCommand`, `contenttype`, `ClientIP`, `OptPlatform` appended to the query string (and `Sign`,
 * `RequestTime` when a callback token is configured: see tencent/callback-sign.ts); a JSON body with
 * `CallbackCommand`, `EventTime` (ms), `Info: { Action, To_Account, Reason }` and `KickedDevice`. Tencent expects
 * `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}` within 2 s and does not retry by default.
 */
import { verifyCallbackSign } from '../tencent/callback-sign.js';
import type { CallbackRefusal } from '../vocabulary.js';

export const STATE_CHANGE_COMMAND = 'State.StateChange';
export const CALLBACK_ACTIONS = ['Login', 'Logout', 'Disconnect'] as const;
export type CallbackAction = (typeof CALLBACK_ACTIONS)[number];

/** The answer Tencent expects from a receiver that took the callback. */
export const CALLBACK_OK_BODY = JSON.stringify({ ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' });

/** The HTTP status of each refusal. */
export const REFUSAL_STATUS: Record<CallbackRefusal, number> = {
  not_found: 404,
  method_not_allowed: 405,
  unknown_app: 403,
  unsupported_command: 400,
  bad_signature: 401,
  stale_signature: 401,
  too_large: 413,
  rate_limited: 429,
  malformed: 400,
};

/**
 * How far `RequestTime` may be from this host's clock. Tencent documents none; a signature is replayable within
 * it, so it is short, and wide enough for clock drift and a slow delivery.
 */
export const SIGNATURE_MAX_SKEW_SECONDS = 300;

/** What a callback says: a hint that this user is worth asking about now. */
export interface StateChange {
  userId: string;
  action: CallbackAction;
  /** When Tencent saw the change (ms), as it says. */
  eventTimeMs: number;
}

export type CheckResult<T> = { ok: true; value: T } | { ok: false; refusal: CallbackRefusal; reason: string };

const refuse = (
  refusal: CallbackRefusal,
  reason: string,
): { ok: false; refusal: CallbackRefusal; reason: string } => ({
  ok: false,
  refusal,
  reason,
});

/**
 * Checks the query string: a configured app, the state-change command, and when the app has a token a valid, recent
 * signature. Returns the app's SDKAppID.
 */
export function checkCallbackQuery(
  query: URLSearchParams,
  tokenOf: (sdkAppId: number) => string | undefined | null,
  nowMs: number,
): CheckResult<number> {
  const sdkAppId = Number(query.get('SdkAppid'));
  const token = Number.isSafeInteger(sdkAppId) ? tokenOf(sdkAppId) : null;
  // null: no such app here; undefined: the app takes unsigned callbacks.
  if (token === null) return refuse('unknown_app', 'SdkAppid is not an app of this service');
  if (query.get('CallbackCommand') !== STATE_CHANGE_COMMAND) {
    return refuse('unsupported_command', `only ${STATE_CHANGE_COMMAND} callbacks are taken here`);
  }
  if (token !== undefined) {
    const requestTime = query.get('RequestTime');
    if (!verifyCallbackSign(token, requestTime, query.get('Sign'))) {
      return refuse('bad_signature', 'Sign does not match the configured callback token');
    }
    if (Math.abs(nowMs / 1000 - Number(requestTime)) > SIGNATURE_MAX_SKEW_SECONDS) {
      return refuse('stale_signature', `RequestTime is more than ${SIGNATURE_MAX_SKEW_SECONDS} s from now`);
    }
  }
  return { ok: true, value: sdkAppId };
}

/** Reads the body of a state-change callback; anything else is malformed (the reason names the field, not values). */
export function parseStateChange(body: string): CheckResult<StateChange> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return refuse('malformed', 'the body is not JSON');
  }
  if (!isRecord(parsed)) return refuse('malformed', 'the body is not a JSON object');
  if (parsed.CallbackCommand !== STATE_CHANGE_COMMAND) {
    return refuse('unsupported_command', `the body's CallbackCommand is not ${STATE_CHANGE_COMMAND}`);
  }
  const info = parsed.Info;
  if (!isRecord(info)) return refuse('malformed', 'Info is missing');
  const userId = info.To_Account;
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > 128) {
    return refuse('malformed', 'Info.To_Account is not a UserID');
  }
  const action = info.Action;
  if (typeof action !== 'string' || !(CALLBACK_ACTIONS as readonly string[]).includes(action)) {
    return refuse('malformed', 'Info.Action is not Login, Logout or Disconnect');
  }
  const eventTimeMs = parsed.EventTime;
  if (typeof eventTimeMs !== 'number' || !Number.isFinite(eventTimeMs) || eventTimeMs < 0) {
    return refuse('malformed', 'EventTime is not a time in ms');
  }
  return { ok: true, value: { userId, action: action as CallbackAction, eventTimeMs } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
