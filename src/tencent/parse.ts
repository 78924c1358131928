/**
 * Turns a `query_online_status` response body into an `OnlineStatusResult`, or rejects it. Never guesses: anything
 * that does not account for every asked ID exactly once, or carries a state this module does not know, is `malformed`
 * (retriable: a retry usually gets a clean answer, and a wrong answer must never become a false transition).
 */
import { PRESENCE_STATES } from '../vocabulary.js';
import { classifyErrorCode, TencentError } from './errors.js';
import type {
  AccountError,
  DeviceStatus,
  OnlineStatusResult,
  Platform,
  PresenceState,
  UserPresence,
} from './types.js';

const PLATFORMS: Readonly<Record<string, Platform>> = {
  iphone: 'iPhone',
  ios: 'iPhone',
  android: 'Android',
  web: 'Web',
  pc: 'PC',
  ipad: 'iPad',
  mac: 'Mac',
  windows: 'Windows',
  linux: 'Linux',
};

/** Normalises Tencent's platform spellings (iPhone, IPhone, iOS, IOS, android...) case-insensitively. */
export function normalizePlatform(raw: string): Platform {
  return PLATFORMS[raw.trim().toLowerCase()] ?? 'Unknown';
}

const STATES: ReadonlySet<string> = new Set<string>(PRESENCE_STATES);

export interface ParseOptions {
  /** The query asked for detail: every result then carries `devices` (empty when Tencent sent no `Detail`). */
  detail: boolean;
}

/**
 * Parses `body` as the answer to a query for `askedIds`.
 * @throws TencentError kind `malformed` for an untrustworthy body, or the classified error of a FAIL answer.
 */
export function parseOnlineStatusResponse(
  body: string,
  askedIds: readonly string[],
  options: ParseOptions,
): OnlineStatusResult {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (error) {
    throw malformed(`body is not valid JSON (${body.length} bytes)`, error);
  }
  if (!isRecord(doc)) throw malformed('body is not a JSON object');

  const { ActionStatus: actionStatus, ErrorCode: errorCode = 0, ErrorInfo: errorInfo = '' } = doc;
  if (actionStatus !== 'OK' && actionStatus !== 'FAIL')
    throw malformed('ActionStatus missing or not OK/FAIL');
  if (!Number.isSafeInteger(errorCode)) throw malformed('ErrorCode is not an integer');
  if (typeof errorInfo !== 'string') throw malformed('ErrorInfo is not a string');
  const code = errorCode as number;
  if (actionStatus === 'FAIL' && code === 0) throw malformed('ActionStatus FAIL with ErrorCode 0');

  const queryResult = optionalArray(doc, 'QueryResult');
  const errorList = optionalArray(doc, 'ErrorList');
  // "If the query for all the accounts failed, the return value is not 0": a non-zero code with per-account
  // entries is still an answer; without any entry it is a failure of the whole call.
  if ((actionStatus === 'FAIL' || code !== 0) && queryResult.length === 0 && errorList.length === 0) {
    throw classifyErrorCode(code, errorInfo);
  }

  const asked = new Set(askedIds);
  const seen = new Set<string>();
  const claim = (userId: unknown, where: string): string => {
    if (typeof userId !== 'string') throw malformed(`${where}.To_Account is not a string`);
    if (!asked.has(userId)) throw malformed(`${where} answers an ID that was not asked for`);
    if (seen.has(userId)) throw malformed(`${where} answers an ID twice`);
    seen.add(userId);
    return userId;
  };

  const results = queryResult.map((entry, i): UserPresence => {
    const where = `QueryResult[${i}]`;
    if (!isRecord(entry)) throw malformed(`${where} is not an object`);
    const userId = claim(entry.To_Account, where);
    const presence: UserPresence = { userId, state: readState(entry, where) };
    if (options.detail) presence.devices = readDevices(entry.Detail, where);
    return presence;
  });

  const accountErrors = errorList.map((entry, i): AccountError => {
    const where = `ErrorList[${i}]`;
    if (!isRecord(entry)) throw malformed(`${where} is not an object`);
    const userId = claim(entry.To_Account, where);
    if (!Number.isSafeInteger(entry.ErrorCode) || entry.ErrorCode === 0) {
      throw malformed(`${where}.ErrorCode is not a non-zero integer`);
    }
    return { userId, errorCode: entry.ErrorCode as number };
  });

  if (seen.size !== asked.size) {
    throw malformed(`${asked.size - seen.size} of ${asked.size} asked IDs are missing from the answer`);
  }
  return { results, accountErrors };
}

function readState(entry: Record<string, unknown>, where: string): PresenceState {
  const raw = entry.Status ?? entry.State;
  if (typeof raw !== 'string' || !STATES.has(raw)) {
    throw malformed(`${where} has no known Status/State (got ${describe(raw)})`);
  }
  return raw as PresenceState;
}

function readDevices(detail: unknown, where: string): DeviceStatus[] {
  if (detail === undefined || detail === null) return [];
  if (!Array.isArray(detail)) throw malformed(`${where}.Detail is not an array`);
  return detail.map((item: unknown, j): DeviceStatus => {
    const at = `${where}.Detail[${j}]`;
    if (!isRecord(item)) throw malformed(`${at} is not an object`);
    if (typeof item.Platform !== 'string') throw malformed(`${at}.Platform is not a string`);
    const device: DeviceStatus = { platform: normalizePlatform(item.Platform), status: readState(item, at) };
    const { IsBackground: isBackground, Instid: instId, CustomIdentifier: customIdentifier } = item;
    if (isBackground !== undefined) {
      if (isBackground === 0 || isBackground === 1) device.isBackground = isBackground === 1;
      else if (typeof isBackground === 'boolean') device.isBackground = isBackground;
      else throw malformed(`${at}.IsBackground is not 0/1`);
    }
    if (instId !== undefined) {
      if (!Number.isSafeInteger(instId)) throw malformed(`${at}.Instid is not an integer`);
      device.instId = instId as number;
    }
    if (customIdentifier !== undefined) {
      if (typeof customIdentifier !== 'string') throw malformed(`${at}.CustomIdentifier is not a string`);
      device.customIdentifier = customIdentifier;
    }
    return device;
  });
}

function optionalArray(doc: Record<string, unknown>, field: string): unknown[] {
  const value = doc[field];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw malformed(`${field} is not an array`);
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 32));
  return value === undefined ? 'nothing' : typeof value;
}

function malformed(message: string, cause?: unknown): TencentError {
  return new TencentError(`Malformed query_online_status answer: ${message}`, {
    kind: 'malformed',
    ...(cause === undefined ? {} : { cause }),
  });
}
