/**
 * What Tencent's `State.StateChange` callback says about a change of a user's state, and how it is put on the wire.
 * Pure functions: the delivery machinery lives in `callback-sender.ts`.
 *
 * Tencent Cloud Chat docs: Status Change Webhooks, https://www.tencentcloud.com/document/product/1047/34357
 * (URL parameters, body fields, Login/Register, Logout/Unregister, Disconnect/LinkClose|TimeOut, KickedDevice,
 * EventTime in ms, the `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}` answer) and Webhook Overview,
 * https://www.tencentcloud.com/document/product/1047/34354 (OptPlatform values; "IOS" in upper case in this one
 * callback; parameters appended to the end of the configured URL; 2 s timeout; no retry by default).
 */
import type { Platform, PresenceState } from '../tencent/types.js';
import { signCallback } from '../tencent/callback-sign.js';
import type { SimDevice } from './population.js';

export const STATE_CHANGE_COMMAND = 'State.StateChange';

export type CallbackAction = 'Login' | 'Logout' | 'Disconnect';
export type CallbackReason = 'Register' | 'Unregister' | 'LinkClose' | 'TimeOut';
/** How an Online user went Offline. */
export type OfflineReason = 'Unregister' | 'LinkClose' | 'TimeOut';

export const OFFLINE_REASONS: readonly OfflineReason[] = ['Unregister', 'LinkClose', 'TimeOut'];

/** Relative weights of the three ways to go Offline; default 2 : 2 : 1 (log out, app closed, heartbeat lost). */
export type OfflineReasonWeights = Record<OfflineReason, number>;

export const DEFAULT_OFFLINE_REASON_WEIGHTS: OfflineReasonWeights = {
  Unregister: 2,
  LinkClose: 2,
  TimeOut: 1,
};

/** The kind of callback a state change produces, before its reason is chosen. */
export type CallbackKind = 'login' | 'offline';

/**
 * `login` when a user becomes Online (from Offline or PushOnline), `offline` when an Online user becomes Offline,
 * otherwise nothing: a change to PushOnline and PushOnline lapsing to Offline produce no callback, as on Tencent.
 */
export function callbackKindFor(from: PresenceState, to: PresenceState): CallbackKind | undefined {
  if (to === 'Online' && from !== 'Online') return 'login';
  if (from === 'Online' && to === 'Offline') return 'offline';
  return undefined;
}

/** The action of a reason: Register is a Login, Unregister a Logout, LinkClose and TimeOut a Disconnect. */
export function actionForReason(reason: CallbackReason): CallbackAction {
  if (reason === 'Register') return 'Login';
  if (reason === 'Unregister') return 'Logout';
  return 'Disconnect';
}

const OPT_PLATFORMS: Record<Platform, string> = {
  iPhone: 'IOS',
  iPad: 'iPad',
  Android: 'Android',
  Web: 'Web',
  PC: 'Windows',
  Windows: 'Windows',
  Mac: 'macOS',
  Linux: 'Unknown',
  Unknown: 'Unknown',
};

const KICKED_PLATFORMS: Record<Platform, string> = {
  iPhone: 'iOS',
  iPad: 'iPad',
  Android: 'Android',
  Web: 'Web',
  PC: 'Windows',
  Windows: 'Windows',
  Mac: 'Mac',
  Linux: 'Linux',
  Unknown: 'Unknown',
};

/** The URL's `OptPlatform` for a device platform (`IOS` in upper case: this callback spells it so). */
export function optPlatformFor(platform: Platform | undefined): string {
  return platform ? OPT_PLATFORMS[platform] : 'Unknown';
}

/** A `KickedDevice[].Platform` value (the body's list: iOS, Android, Web, Windows, iPad, Mac, Linux). */
export function kickedPlatformFor(platform: Platform): string {
  return KICKED_PLATFORMS[platform];
}

/**
 * The device whose change caused the callback: for a login, the first device that became Online; for a logout or
 * disconnect, the first device that stopped being Online.
 */
export function causingDevice(
  kind: CallbackKind,
  before: readonly SimDevice[],
  after: readonly SimDevice[],
): SimDevice | undefined {
  return after.find((device, i) => {
    const was = before[i]?.status;
    return kind === 'login'
      ? device.status === 'Online' && was !== 'Online'
      : device.status !== 'Online' && was === 'Online';
  });
}

/**
 * Devices a login pushed off: those that were connected (Online or PushOnline) before the change and are Offline
 * after it. Tencent lists them only with a Login.
 */
export function kickedDevices(before: readonly SimDevice[], after: readonly SimDevice[]): SimDevice[] {
  return after.filter((device, i) => {
    const was = before[i]?.status;
    return device.status === 'Offline' && (was === 'Online' || was === 'PushOnline');
  });
}

/** One callback as the simulator will send it (everything but the per-request signature). */
export interface StateChangeCallback {
  sdkAppId: number;
  userId: string;
  action: CallbackAction;
  reason: CallbackReason;
  /** The change's wall-clock time, Unix ms (the body's `EventTime`). */
  eventTimeMs: number;
  clientIp: string;
  optPlatform: string;
  /** `KickedDevice[].Platform` values; empty when none. */
  kickedPlatforms: string[];
}

/** The JSON body, in the documented field order; `KickedDevice` only when a login kicked devices. */
export function renderCallbackBody(callback: StateChangeCallback): string {
  const body: Record<string, unknown> = {
    CallbackCommand: STATE_CHANGE_COMMAND,
    EventTime: callback.eventTimeMs,
    Info: { Action: callback.action, To_Account: callback.userId, Reason: callback.reason },
  };
  if (callback.kickedPlatforms.length > 0) {
    body.KickedDevice = callback.kickedPlatforms.map((platform) => ({ Platform: platform }));
  }
  return JSON.stringify(body);
}

/**
 * The request URL: the configured URL with Tencent's parameters appended at its end (after any query it already has),
 * and `Sign` + `RequestTime` when the app has a token.
 */
export function renderCallbackUrl(
  target: URL,
  callback: StateChangeCallback,
  token: string | undefined,
  requestTimeSec: number,
): string {
  const url = new URL(target.href);
  const q = url.searchParams;
  q.append('SdkAppid', String(callback.sdkAppId));
  q.append('CallbackCommand', STATE_CHANGE_COMMAND);
  q.append('contenttype', 'json');
  q.append('ClientIP', callback.clientIp);
  q.append('OptPlatform', callback.optPlatform);
  if (token !== undefined) {
    q.append('Sign', signCallback(token, requestTimeSec));
    q.append('RequestTime', String(requestTimeSec));
  }
  return url.href;
}

/** A stable, private-range client IP per user (the simulator has no real clients). */
export function clientIpFor(userId: string): string {
  let hash = 2_166_136_261;
  for (let i = 0; i < userId.length; i++) hash = Math.imul(hash ^ userId.charCodeAt(i), 16_777_619) >>> 0;
  return `10.${(hash >>> 16) & 0xff}.${(hash >>> 8) & 0xff}.${hash & 0xff || 1}`;
}
