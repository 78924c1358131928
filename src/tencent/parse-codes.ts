/**
 * The hot-path reading of a `query_online_status` answer to a query without detail: one letter per asked ID, in asked
 * order, instead of an object per user.
 *
 * Answers in the shape the API is known to send (`ActionStatus` OK, `ErrorCode` 0, `QueryResult` entries
 * `{"To_Account":…,"Status"|"State":…}` in asked order, an optional `ErrorList` of the skipped IDs in asked order, no
 * whitespace, no escapes) are checked and read in one pass over the text, without building any per-user value. Anything
 * else — other key order, whitespace, `Detail`, escapes, answers out of order, a FAIL, a malformed body — goes to
 * `parseOnlineStatusResponse`, whose result (or error) is returned converted. The one pass accepts only text that is
 * valid JSON and that the full parser accepts with the same reading, so both paths reject the same bodies with the same
 * error kinds.
 */
import { ACCOUNT_ERROR_LETTER, ACCOUNT_NOT_FOUND, QUARANTINED_LETTER, STATE_CODES } from '../vocabulary.js';
import { parseOnlineStatusResponse } from './parse.js';
import type { AccountError, OnlineStatusCodes, OnlineStatusResult, PresenceState } from './types.js';
import { UserIdList } from './user-id-list.js';

export type { OnlineStatusCodes } from './types.js';

const CODE_BY_STATE: Readonly<Record<PresenceState, string>> = {
  Online: STATE_CODES.Online,
  PushOnline: STATE_CODES.PushOnline,
  Offline: STATE_CODES.Offline,
};

const pathCounts = { fast: 0, full: 0 };

/**
 * How many answers `parseOnlineStatusCodes` read in one pass (`fast`) and through the full parser (`full`) since the
 * process started; lets tests (and a later metric) see which path a body took.
 */
export function countParsePaths(): { fast: number; full: number } {
  return { ...pathCounts };
}

/**
 * Parses `body` as the answer to a query without detail for `askedIds`, the IDs as sent (an ID asked twice is read
 * as the full parser reads it). A `Detail` present anyway is still validated: a malformed one rejects the body.
 * @throws TencentError exactly as `parseOnlineStatusResponse` does for the same body: kind `malformed` for an
 *   untrustworthy body, or the classified error of a FAIL answer.
 */
export function parseOnlineStatusCodes(
  body: string,
  askedIds: readonly string[] | UserIdList,
): OnlineStatusCodes {
  const asked = askedIds instanceof UserIdList ? askedIds : UserIdList.of(askedIds);
  // An ID asked twice could be answered twice: only the full parser reads such a query.
  const fast = asked.firstRepeatedIndex() < 0 ? readKnownShape(body, asked) : undefined;
  if (fast !== undefined) {
    pathCounts.fast += 1;
    return fast;
  }
  pathCounts.full += 1;
  const ids = asked.ids();
  return convertFullResult(parseOnlineStatusResponse(body, ids, { detail: true }), ids);
}

const HEADER = '{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"QueryResult":[';
const ENTRY_START = '{"To_Account":"';
const STATUS_KEY = '","Status":"';
const STATE_KEY = '","State":"';
const ONLINE_END = 'Online"}';
const PUSH_ONLINE_END = 'PushOnline"}';
const OFFLINE_END = 'Offline"}';
const ERROR_LIST_START = ',"ErrorList":[';
const ERROR_CODE_KEY = '","ErrorCode":';
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const FIRST_PRINTABLE = 0x20;
/** Nine digits at most: every such number is a safe integer. */
const MAX_ERROR_CODE_DIGITS = 9;
const UNSET = 0;

/** One letter per asked ID while reading; reused (the parse is synchronous), grown when a query asks for more. */
let scratch = Buffer.alloc(512);

/**
 * The one pass, for a query whose IDs are distinct. Returns `undefined` for anything but the known shape; it never
 * throws, so every rejection (and its error kind) comes from the full parser.
 */
function readKnownShape(body: string, asked: UserIdList): OnlineStatusCodes | undefined {
  const count = asked.count;
  if (!body.startsWith(HEADER)) return undefined;
  if (scratch.length < count) scratch = Buffer.alloc(count);
  const codes = scratch;
  codes.fill(UNSET, 0, count);

  // QueryResult: each entry answers the next asked ID it names; the IDs it passes over must come in the ErrorList.
  // The IDs are distinct, so no asked ID can be answered twice.
  let pos = HEADER.length;
  let slot = 0;
  if (body.charCodeAt(pos) !== CLOSE_BRACKET) {
    for (;;) {
      if (!body.startsWith(ENTRY_START, pos)) return undefined;
      pos += ENTRY_START.length;
      while (slot < count && !isIdAt(body, pos, asked, slot)) slot += 1;
      if (slot === count) return undefined;
      pos += asked.lengthOf(slot);
      if (body.startsWith(STATUS_KEY, pos)) pos += STATUS_KEY.length;
      else if (body.startsWith(STATE_KEY, pos)) pos += STATE_KEY.length;
      else return undefined;
      if (body.startsWith(ONLINE_END, pos)) {
        codes[slot] = STATE_CODES.Online.charCodeAt(0);
        pos += ONLINE_END.length;
      } else if (body.startsWith(OFFLINE_END, pos)) {
        codes[slot] = STATE_CODES.Offline.charCodeAt(0);
        pos += OFFLINE_END.length;
      } else if (body.startsWith(PUSH_ONLINE_END, pos)) {
        codes[slot] = STATE_CODES.PushOnline.charCodeAt(0);
        pos += PUSH_ONLINE_END.length;
      } else return undefined;
      slot += 1;
      const next = body.charCodeAt(pos);
      pos += 1;
      if (next === CLOSE_BRACKET) break;
      if (next !== COMMA) return undefined;
    }
  } else pos += 1;

  // ErrorList: exactly the passed-over IDs, in asked order.
  const otherAccountErrors: AccountError[] = [];
  if (body.startsWith(ERROR_LIST_START, pos)) {
    pos += ERROR_LIST_START.length;
    slot = 0;
    if (body.charCodeAt(pos) !== CLOSE_BRACKET) {
      for (;;) {
        if (!body.startsWith(ENTRY_START, pos)) return undefined;
        pos += ENTRY_START.length;
        while (slot < count && codes[slot] !== UNSET) slot += 1;
        if (slot === count || !isIdAt(body, pos, asked, slot)) return undefined;
        pos += asked.lengthOf(slot);
        if (!body.startsWith(ERROR_CODE_KEY, pos)) return undefined;
        pos += ERROR_CODE_KEY.length;
        // A non-zero integer without sign, leading zero, fraction or exponent.
        let errorCode = 0;
        const digitsStart = pos;
        for (let c = body.charCodeAt(pos); c >= DIGIT_0 && c <= DIGIT_9; c = body.charCodeAt(pos)) {
          if (errorCode === 0 && c === DIGIT_0) return undefined;
          errorCode = errorCode * 10 + (c - DIGIT_0);
          pos += 1;
        }
        if (pos === digitsStart || pos - digitsStart > MAX_ERROR_CODE_DIGITS) return undefined;
        if (body.charCodeAt(pos) !== CLOSE_BRACE) return undefined;
        if (errorCode === ACCOUNT_NOT_FOUND) codes[slot] = STATE_CODES.NotFound.charCodeAt(0);
        else {
          codes[slot] = ACCOUNT_ERROR_LETTER.charCodeAt(0);
          otherAccountErrors.push({ userId: asked.idAt(slot), errorCode });
        }
        slot += 1;
        const next = body.charCodeAt(pos + 1);
        pos += 2;
        if (next === CLOSE_BRACKET) break;
        if (next !== COMMA) return undefined;
      }
    } else pos += 1;
  }

  if (pos !== body.length - 1 || body.charCodeAt(pos) !== CLOSE_BRACE) return undefined;
  for (let i = 0; i < count; i += 1) if (codes[i] === UNSET) return undefined;
  return { codes: codes.toString('latin1', 0, count), otherAccountErrors, quarantined: [] };
}

/**
 * Whether the JSON string content at `pos` is exactly the asked ID at `slot`, closed by a quote. An ID with a
 * character JSON must escape never matches: its raw form in a body would not be valid JSON, its escaped form is
 * left to the full parser.
 */
function isIdAt(body: string, pos: number, asked: UserIdList, slot: number): boolean {
  const text = asked.text;
  const start = asked.startOf(slot);
  const length = asked.lengthOf(slot);
  for (let k = 0; k < length; k += 1) {
    const c = text.charCodeAt(start + k);
    if (c !== body.charCodeAt(pos + k) || c < FIRST_PRINTABLE || c === QUOTE || c === BACKSLASH) return false;
  }
  return body.charCodeAt(pos + length) === QUOTE;
}

/** The full parser's answer as codes, in asked order. */
function convertFullResult(result: OnlineStatusResult, askedIds: readonly string[]): OnlineStatusCodes {
  const codeById = new Map<string, string>();
  const errorCodeById = new Map<string, number>();
  for (const { userId, state } of result.results) codeById.set(userId, CODE_BY_STATE[state]);
  for (const { userId, errorCode } of result.accountErrors) {
    if (errorCode === ACCOUNT_NOT_FOUND) codeById.set(userId, STATE_CODES.NotFound);
    else {
      codeById.set(userId, ACCOUNT_ERROR_LETTER);
      errorCodeById.set(userId, errorCode);
    }
  }
  const letters: string[] = [];
  const otherAccountErrors: AccountError[] = [];
  for (const userId of askedIds) {
    // The full parser accounts for every asked ID exactly once: answered, an account error, or quarantined.
    const code = codeById.get(userId) ?? QUARANTINED_LETTER;
    letters.push(code);
    if (code === ACCOUNT_ERROR_LETTER)
      otherAccountErrors.push({ userId, errorCode: errorCodeById.get(userId)! });
  }
  return { codes: letters.join(''), otherAccountErrors, quarantined: result.quarantined };
}
