/**
 * Turns a `query_online_status` response body into an `OnlineStatusResult`, or rejects it. Never guesses. The
 * envelope is strict: a body that is not a JSON object with a known ActionStatus, an integer ErrorCode and array
 * lists is `malformed` (retriable: a retry usually gets a clean answer). Entries are judged one by one: an unknown
 * state, a user answered twice, an ID not asked for, an unreadable entry or an asked ID left out sets that user
 * aside (`quarantined`) and the rest of the answer stands, so one odd entry cannot blind 499 users. A set-aside user
 * is simply not observed this time: a wrong reading must never become a false transition.
 */
import { PRESENCE_STATES, type QuarantineKind } from '../vocabulary.js';
import { classifyErrorCode, TencentError } from './errors.js';
import type {
  AccountError,
  DeviceStatus,
  OnlineStatusResult,
  Platform,
  PresenceState,
  QuarantinedEntry,
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

  return readEntries(queryResult, errorList, askedIds, options);
}

/** An entry that names a user: read, or set aside with its reason. */
type EntryReading<T> = { userId: string; value: T } | { userId: string | undefined; quarantine: Quarantine };
type Quarantine = Omit<QuarantinedEntry, 'userId'>;

/**
 * Reads every entry on its own: a bad one is quarantined and the others stand. A user named by more than one entry
 * is quarantined as a whole (which entry to trust cannot be told), and so is an asked user named by none. An answer
 * with nothing usable is malformed as a whole, so that it is retried.
 */
function readEntries(
  queryResult: readonly unknown[],
  errorList: readonly unknown[],
  askedIds: readonly string[],
  options: ParseOptions,
): OnlineStatusResult {
  const readings = [
    ...queryResult.map((entry, i) =>
      readEntry(entry, `QueryResult[${i}]`, (e, at) => readPresence(e, at, options)),
    ),
    ...errorList.map((entry, i) => readEntry(entry, `ErrorList[${i}]`, readAccountError)),
  ];
  const mentions = new Map<string, number>();
  for (const { userId } of readings) {
    if (userId !== undefined) mentions.set(userId, (mentions.get(userId) ?? 0) + 1);
  }
  const asked = new Set(askedIds);
  const results: UserPresence[] = [];
  const accountErrors: AccountError[] = [];
  const quarantined: QuarantinedEntry[] = [];
  const duplicates = new Set<string>();
  for (const reading of readings) {
    const { userId } = reading;
    if (userId !== undefined && !asked.has(userId)) {
      quarantined.push({ userId, kind: 'unasked', reason: 'an ID that was not asked for' });
    } else if (userId !== undefined && mentions.get(userId)! > 1) {
      if (!duplicates.has(userId)) {
        duplicates.add(userId);
        const reason = `answered ${mentions.get(userId)} times`;
        quarantined.push({ userId, kind: 'duplicate', reason });
      }
    } else if ('quarantine' in reading) {
      quarantined.push({ userId, ...reading.quarantine });
    } else if ('state' in reading.value) {
      results.push(reading.value);
    } else {
      accountErrors.push(reading.value);
    }
  }
  for (const userId of asked) {
    if (!mentions.has(userId))
      quarantined.push({ userId, kind: 'missing', reason: 'missing from the answer' });
  }
  if (results.length === 0 && accountErrors.length === 0 && asked.size > 0) {
    const first = quarantined[0]!;
    throw malformed(
      `no usable entry for any of the ${asked.size} asked IDs (${quarantined.length} set aside, first: ` +
        `${first.kind}: ${first.reason})`,
    );
  }
  return { results, accountErrors, quarantined };
}

function readEntry<T>(
  entry: unknown,
  where: string,
  read: (entry: Record<string, unknown>, where: string) => T,
): EntryReading<T | UserPresence | AccountError> {
  if (!isRecord(entry)) return { userId: undefined, quarantine: entryMalformed(`${where} is not an object`) };
  const userId = entry.To_Account;
  if (typeof userId !== 'string') {
    return { userId: undefined, quarantine: entryMalformed(`${where}.To_Account is not a string`) };
  }
  try {
    return { userId, value: read(entry, where) };
  } catch (error) {
    if (!(error instanceof EntryError)) throw error;
    return { userId, quarantine: { kind: error.kind, reason: error.message } };
  }
}

function readPresence(entry: Record<string, unknown>, where: string, options: ParseOptions): UserPresence {
  const presence: UserPresence = { userId: entry.To_Account as string, state: readState(entry, where) };
  if (options.detail) presence.devices = readDevices(entry.Detail, where);
  return presence;
}

function readAccountError(entry: Record<string, unknown>, where: string): AccountError {
  if (!Number.isSafeInteger(entry.ErrorCode) || entry.ErrorCode === 0) {
    throw new EntryError('malformed_entry', `${where}.ErrorCode is not a non-zero integer`);
  }
  return { userId: entry.To_Account as string, errorCode: entry.ErrorCode as number };
}

/** A problem confined to one entry (thrown inside an entry's reading, caught by `readEntry`). */
class EntryError extends Error {
  constructor(
    readonly kind: QuarantineKind,
    message: string,
  ) {
    super(message);
  }
}

function entryMalformed(reason: string): Quarantine {
  return { kind: 'malformed_entry', reason };
}

function readState(entry: Record<string, unknown>, where: string): PresenceState {
  const raw = entry.Status ?? entry.State;
  if (typeof raw !== 'string' || !STATES.has(raw)) {
    throw new EntryError('unknown_state', `${where} has no known Status/State (got ${describe(raw)})`);
  }
  return raw as PresenceState;
}

function readDevices(detail: unknown, where: string): DeviceStatus[] {
  if (detail === undefined || detail === null) return [];
  if (!Array.isArray(detail)) throw new EntryError('malformed_entry', `${where}.Detail is not an array`);
  return detail.map((item: unknown, j): DeviceStatus => {
    const at = `${where}.Detail[${j}]`;
    if (!isRecord(item)) throw new EntryError('malformed_entry', `${at} is not an object`);
    if (typeof item.Platform !== 'string')
      throw new EntryError('malformed_entry', `${at}.Platform is not a string`);
    const device: DeviceStatus = { platform: normalizePlatform(item.Platform), status: readState(item, at) };
    const { IsBackground: isBackground, Instid: instId, CustomIdentifier: customIdentifier } = item;
    if (isBackground !== undefined) {
      if (isBackground === 0 || isBackground === 1) device.isBackground = isBackground === 1;
      else if (typeof isBackground === 'boolean') device.isBackground = isBackground;
      else throw new EntryError('malformed_entry', `${at}.IsBackground is not 0/1`);
    }
    if (instId !== undefined) {
      if (!Number.isSafeInteger(instId))
        throw new EntryError('malformed_entry', `${at}.Instid is not an integer`);
      device.instId = instId as number;
    }
    if (customIdentifier !== undefined) {
      if (typeof customIdentifier !== 'string')
        throw new EntryError('malformed_entry', `${at}.CustomIdentifier is not a string`);
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
