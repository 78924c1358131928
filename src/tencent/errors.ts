/**
 * Every failure of a Tencent call, as one error class with a stable `code`, a `kind` and a `retriable` flag, so the
 * caller's retry policy is one `if`. Messages never carry the UserSig or the secret key: they go through
 * `redactSecrets` on construction.
 */
import { redactSecrets } from '../ops/redact.js';
import { ACCOUNT_NOT_FOUND } from '../vocabulary.js';

export type TencentErrorKind =
  | 'network' // socket error, connection refused or reset
  | 'timeout' // no complete answer within timeoutMs
  | 'http' // HTTP status other than 200 (5xx and 429 retriable)
  | 'rate_limit' // 60007 / 60011 / 60018 / 60019: slow down, then retry
  | 'server' // Tencent-side timeout or internal error, or an unknown code: retry with a bound
  | 'credentials' // 70001 / 70052: renew the UserSig, retry once
  | 'fatal_config' // wrong key, app, region, admin...: a human must fix the configuration
  | 'locked' // 70050: too many bad signatures, locked for about a minute
  | 'request' // the request itself is wrong (a bug on our side): do not retry
  | 'malformed' // the answer cannot be trusted (invalid JSON, unknown state, IDs that do not match)
  | 'aborted'; // the caller's AbortSignal fired

/** Stable string codes, one per kind plus one for Tencent codes this module does not know. */
export const TENCENT_ERROR_CODES = {
  network: 'TENCENT_NETWORK_ERROR',
  timeout: 'TENCENT_TIMEOUT',
  http: 'TENCENT_HTTP_ERROR',
  rate_limit: 'TENCENT_RATE_LIMITED',
  server: 'TENCENT_SERVER_ERROR',
  credentials: 'TENCENT_CREDENTIALS_REJECTED',
  fatal_config: 'TENCENT_FATAL_CONFIG',
  locked: 'TENCENT_LOCKED',
  request: 'TENCENT_BAD_REQUEST',
  malformed: 'TENCENT_MALFORMED_RESPONSE',
  aborted: 'TENCENT_ABORTED',
} as const satisfies Record<TencentErrorKind, string>;

export type TencentErrorCode = (typeof TENCENT_ERROR_CODES)[TencentErrorKind] | 'TENCENT_UNKNOWN_ERROR_CODE';

export interface TencentErrorFields {
  kind: TencentErrorKind;
  /** Defaults to the kind's code. */
  code?: TencentErrorCode;
  /** Defaults to the kind's default (see `RETRIABLE_BY_KIND`). */
  retriable?: boolean;
  /** Tencent's `ErrorCode`, when the answer carried one. */
  errorCode?: number;
  /** Tencent's `ErrorInfo`, redacted. */
  errorInfo?: string;
  httpStatus?: number;
  /** Suggested wait before the next attempt, in ms. */
  retryAfterMs?: number;
  cause?: unknown;
}

const RETRIABLE_BY_KIND: Record<TencentErrorKind, boolean> = {
  network: true,
  timeout: true,
  http: false,
  rate_limit: true,
  server: true,
  credentials: true,
  fatal_config: false,
  locked: true,
  request: false,
  malformed: true,
  aborted: false,
};

export class TencentError extends Error {
  override readonly name = 'TencentError';
  readonly code: TencentErrorCode;
  readonly kind: TencentErrorKind;
  readonly retriable: boolean;
  readonly errorCode?: number;
  readonly errorInfo?: string;
  readonly httpStatus?: number;
  readonly retryAfterMs?: number;

  constructor(message: string, fields: TencentErrorFields) {
    super(redactSecrets(message), fields.cause === undefined ? undefined : { cause: fields.cause });
    this.kind = fields.kind;
    this.code = fields.code ?? TENCENT_ERROR_CODES[fields.kind];
    this.retriable = fields.retriable ?? RETRIABLE_BY_KIND[fields.kind];
    if (fields.errorCode !== undefined) this.errorCode = fields.errorCode;
    if (fields.errorInfo !== undefined) this.errorInfo = redactSecrets(fields.errorInfo);
    if (fields.httpStatus !== undefined) this.httpStatus = fields.httpStatus;
    if (fields.retryAfterMs !== undefined) this.retryAfterMs = fields.retryAfterMs;
  }
}

/** How long to wait after a rate-limit code: the cap is per one-second window. */
export const RATE_LIMIT_RETRY_AFTER_MS = 1_000;
/** 70050 locks the admin for about a minute. */
export const LOCKED_RETRY_AFTER_MS = 60_000;

interface CodeRule {
  kind: TencentErrorKind;
  /** What it means and what to do; goes into the error message. */
  hint: string;
}

const rule = (kind: TencentErrorKind, hint: string): CodeRule => ({ kind, hint });
const CHECK_KEY = 'check the secret key configured for this SDKAppID';
const CHECK_REGION = 'check the region / endpoint and the SDKAppID';
const RETRY = 'Tencent-side timeout or internal error; retry later';

/** Every Tencent `ErrorCode` this client knows, with its handling. Unknown non-zero codes: see `classifyErrorCode`. */
export const ERROR_CODE_RULES: ReadonlyMap<number, CodeRule> = new Map<number, CodeRule>([
  [60007, rule('rate_limit', "this API's call rate for the app was exceeded; slow down")],
  [60011, rule('rate_limit', "the app's overall call rate was exceeded; back off globally")],
  [60018, rule('rate_limit', 'requests too frequent; try later')],
  [60019, rule('rate_limit', 'requests too frequent; try later')],

  [70169, rule('server', RETRY)],
  [90992, rule('server', RETRY)],
  [90994, rule('server', RETRY)],
  [90995, rule('server', RETRY)],
  [91000, rule('server', RETRY)],
  [60008, rule('server', 'request timed out at Tencent; retry a bounded number of times')],
  [70202, rule('server', RETRY)],
  [70500, rule('server', RETRY)],
  [60014, rule('server', 'account exchange timed out; retry')],

  [70001, rule('credentials', 'UserSig expired; generate a new one (check the host clock if this repeats)')],
  [70052, rule('credentials', 'UserSig invalidated (e.g. after a kick); generate a new one')],

  [60004, rule('fatal_config', 'wrong account or signature in the request; check identifier and secret key')],
  [60005, rule('fatal_config', 'wrong account or signature in the request; check identifier and secret key')],
  [60006, rule('fatal_config', 'SDKAppID invalid; check the SDKAppID')],
  [60010, rule('fatal_config', 'the API needs an app admin; configure an admin identifier')],
  [60016, rule('fatal_config', 'SDKAppID disabled; check the app in the console')],
  [60020, rule('fatal_config', 'package expired or not yet active; renew the Chat package (page a human)')],
  [60021, rule('fatal_config', "caller IP not allowed; add this host's IP to the allow list")],
  [70002, rule('fatal_config', 'UserSig empty; check the UserSig configuration')],
  [70003, rule('fatal_config', `UserSig malformed; ${CHECK_KEY}`)],
  [70005, rule('fatal_config', `UserSig check failed; ${CHECK_KEY}`)],
  [70009, rule('fatal_config', `UserSig made with another app's key; ${CHECK_KEY}`)],
  [70013, rule('fatal_config', "identifier differs from the UserSig's; check the admin identifier")],
  [70014, rule('fatal_config', "SDKAppID differs from the UserSig's; check the SDKAppID")],
  [70016, rule('fatal_config', `key not found; ${CHECK_REGION}`)],
  [70020, rule('fatal_config', `SDKAppID not found; ${CHECK_REGION}`)],
  [70051, rule('fatal_config', 'account blacklisted; use another admin account')],
  [90009, rule('fatal_config', 'the identifier is not an app admin; configure an admin identifier')],
  [60009, rule('fatal_config', 'bad resource path; check the endpoint')],
  [60012, rule('fatal_config', 'SDKAppID missing in the request; check the SDKAppID')],
  [60017, rule('fatal_config', 'request disabled for this app; check the console')],
  [70398, rule('fatal_config', 'account limit reached; check the Chat package')],
  [70402, rule('fatal_config', 'bad parameters; check the request configuration')],
  [70403, rule('fatal_config', 'the operation needs an app admin; configure an admin identifier')],

  [
    70050,
    rule('locked', 'UserSig checks failed too often: locked for about 60 s; fix the credentials, then wait'),
  ],

  [90001, rule('request', 'body not valid JSON or To_Account empty (client bug)')],
  [90003, rule('request', 'a To_Account element is not a string (client bug)')],
  [90011, rule('request', 'more than 500 accounts in To_Account (client bug)')],
  [60002, rule('request', 'request URL or body could not be parsed (client bug)')],
  [60003, rule('request', 'request JSON could not be parsed (client bug)')],
  [60015, rule('request', 'an account field is not a string (client bug)')],
  [ACCOUNT_NOT_FOUND, rule('request', 'account does not exist (per-account code seen at top level)')],
]);

/** Message part for codes missing from `ERROR_CODE_RULES`. */
export const UNKNOWN_CODE_HINT =
  'unknown Tencent error code; treated as a retriable server error (bound the retries)';

/**
 * Maps a non-zero Tencent `ErrorCode` (top level of a FAIL answer) to a `TencentError`.
 * Unknown codes become retriable `server` errors with code `TENCENT_UNKNOWN_ERROR_CODE`: a transient backend fault is
 * the likelier reading, and the caller's bounded retries turn a persistent one into a visible failure.
 */
export function classifyErrorCode(errorCode: number, errorInfo = ''): TencentError {
  const known = ERROR_CODE_RULES.get(errorCode);
  const info = errorInfo ? ` (ErrorInfo: ${errorInfo})` : '';
  if (!known) {
    return new TencentError(`Tencent ErrorCode ${errorCode}: ${UNKNOWN_CODE_HINT}${info}`, {
      kind: 'server',
      code: 'TENCENT_UNKNOWN_ERROR_CODE',
      errorCode,
      errorInfo,
    });
  }
  const retryAfterMs =
    known.kind === 'rate_limit'
      ? RATE_LIMIT_RETRY_AFTER_MS
      : known.kind === 'locked'
        ? LOCKED_RETRY_AFTER_MS
        : undefined;
  return new TencentError(`Tencent ErrorCode ${errorCode}: ${known.hint}${info}`, {
    kind: known.kind,
    errorCode,
    errorInfo,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/**
 * Every `kind` / `error_code` pair a failed call can be counted under: each known code with its kind, and each kind
 * without a code (network failures, timeouts, malformed answers...). Metrics export them at 0 before any failure.
 */
export function tencentErrorLabels(): Array<{ kind: TencentErrorKind; errorCode: string }> {
  return [
    ...[...ERROR_CODE_RULES].map(([code, { kind }]) => ({ kind, errorCode: String(code) })),
    ...(Object.keys(TENCENT_ERROR_CODES) as TencentErrorKind[]).map((kind) => ({ kind, errorCode: '' })),
  ];
}

/**
 * Kinds that say Tencent refused this deployment's credentials or configuration (key, UserSig, app, admin, region):
 * a human must fix something, and no call of the app can succeed until then. `credentials` reaches a caller only
 * after the client renewed the UserSig and was refused again (a clock or key problem); `locked` (70050) follows
 * repeated bad signatures.
 */
const REJECTING_KINDS: ReadonlySet<string> = new Set<TencentErrorKind>([
  'credentials',
  'fatal_config',
  'locked',
]);

/** Whether a failure of this kind means the app's credentials or configuration were refused. */
export function rejectsCredentials(kind: string): boolean {
  return REJECTING_KINDS.has(kind);
}

/** Kinds that say nothing about the configuration: the network, the endpoint's load or a passing fault. */
const TRANSIENT_KINDS: ReadonlySet<string> = new Set<TencentErrorKind>([
  'network',
  'timeout',
  'http',
  'rate_limit',
  'server',
  'malformed',
]);

/** Whether a failure of this kind may pass by itself (worth a warning, not a refusal to start). */
export function isTransient(kind: string): boolean {
  return TRANSIENT_KINDS.has(kind);
}

/** Type guard for `TencentError`. */
export function isTencentError(error: unknown): error is TencentError {
  return error instanceof TencentError;
}
