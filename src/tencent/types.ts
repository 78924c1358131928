/**
 * The contract between the Tencent client and the rest of the product.
 * Everything the poller knows about `v4/openim/query_online_status` answers is expressed in these types.
 */

import type { PresenceState, QuarantineKind } from '../vocabulary.js';
import type { UserIdList } from './user-id-list.js';

export {
  MAX_IDS_PER_CALL,
  PRESENCE_STATES,
  QUARANTINE_KINDS,
  type PresenceState,
  type QuarantineKind,
} from '../vocabulary.js';

/** Normalised platform names (Tencent spells them several ways: iPhone, IPhone, iOS, IOS...). */
export type Platform = 'iPhone' | 'Android' | 'Web' | 'PC' | 'iPad' | 'Mac' | 'Windows' | 'Linux' | 'Unknown';

/** One logged-in device, present only when the query asked for detail (`IsNeedDetail: 1`). */
export interface DeviceStatus {
  platform: Platform;
  status: PresenceState;
  isBackground?: boolean;
  instId?: number;
  customIdentifier?: string;
}

/** The observed status of one user. `devices` is set only for detail queries. */
export interface UserPresence {
  userId: string;
  state: PresenceState;
  devices?: DeviceStatus[];
}

/** An account the API could not answer for (70107 = not imported / does not exist). */
export interface AccountError {
  userId: string;
  errorCode: number;
}

/** A user (when the entry names one) left unobserved by this answer, and why. */
export interface QuarantinedEntry {
  userId: string | undefined;
  kind: QuarantineKind;
  /** Where in the answer and what was wrong, e.g. `QueryResult[3] has no known Status/State (got "Busy")`. */
  reason: string;
}

/**
 * A successful (possibly partial) answer: every asked ID is in exactly one of the three lists. A quarantined user
 * is not observed by this call: no state is read for it, so nothing is written or published for it.
 */
export interface OnlineStatusResult {
  results: UserPresence[];
  accountErrors: AccountError[];
  quarantined: QuarantinedEntry[];
}

export interface QueryOptions {
  /** Ask for per-device detail (`IsNeedDetail: 1`). */
  detail: boolean;
  /**
   * Aborts the call, whether it still waits for a send slot or is in flight; the promise then rejects with a
   * `TencentError` of kind `aborted`.
   */
  signal?: AbortSignal;
  /** Order among calls waiting for a send slot of a paced transport, 1 first. Default 5. */
  priority?: number;
}

/**
 * An answer to a query without detail as one code letter per asked ID (parse-codes.ts): no object per user. Holds
 * exactly what `OnlineStatusResult` holds for such a query.
 */
export interface OnlineStatusCodes {
  /** One letter per asked ID, at the ID's index: a `STATE_CODES` letter, `ACCOUNT_ERROR_LETTER` or `QUARANTINED_LETTER`. */
  codes: string;
  /** One entry per `ACCOUNT_ERROR_LETTER` in `codes`, in the same (asked) order. */
  otherAccountErrors: AccountError[];
  /** Entries set aside (see `OnlineStatusResult.quarantined`); their asked users have `QUARANTINED_LETTER`. */
  quarantined: QuarantinedEntry[];
}

/** The one operation the poller needs from Tencent. */
export interface OnlineStatusClient {
  /**
   * Queries 1..500 distinct UserIDs. Resolves with the parsed answer or rejects with a classified `TencentError`.
   * Never resolves with a guess: a malformed body rejects.
   */
  queryOnlineStatus(userIds: readonly string[], options: QueryOptions): Promise<OnlineStatusResult>;
  /**
   * The same call without detail, its answer read as codes (the poller's hot path: no object per user). Validation
   * and errors are exactly those of `queryOnlineStatus`. Optional: callers of a client without it (a test wrapper)
   * use `queryOnlineStatus`.
   */
  queryOnlineStatusCodes?(
    userIds: readonly string[] | UserIdList,
    options: Omit<QueryOptions, 'detail'>,
  ): Promise<OnlineStatusCodes>;
  close(): Promise<void>;
}
