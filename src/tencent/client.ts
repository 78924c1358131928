/**
 * The `query_online_status` client: builds each call, hands it to a transport (transport.ts), parses the answer
 * strictly. Retries nothing except once after a credentials error (70001 / 70052), with a fresh UserSig; every other
 * retry decision belongs to the caller, driven by `TencentError.retriable`.
 */
import { randomInt } from 'node:crypto';
import { createSilentLogger, type Logger } from '../ops/logger.js';
import { redactSecrets, registerSecret } from '../ops/redact.js';
import { TencentError } from './errors.js';
import { parseOnlineStatusResponse } from './parse.js';
import { parseOnlineStatusCodes } from './parse-codes.js';
import { UserIdList } from './user-id-list.js';
import { resolveEndpoint } from './regions.js';
import { createDirectTransport, TransportError, type Transport } from './transport.js';
import { MAX_IDS_PER_CALL, type OnlineStatusClient, type QueryOptions } from './types.js';
import { createUserSigCache, DEFAULT_USERSIG_TTL_SECONDS } from './usersig-cache.js';

/** Path of the API on every Tencent host. */
export const QUERY_ONLINE_STATUS_PATH = '/v4/openim/query_online_status';
/** Tencent gives up on a REST call after about 3 s; the client must wait longer than that. */
export const MIN_TIMEOUT_MS = 3_000;

export interface TencentClientOptions {
  /** The app's SDKAppID. */
  sdkAppId: number;
  /** An app admin account; its UserSig signs every call. */
  identifier: string;
  /** The app's secret key (console). Registered for redaction; never logged. */
  secretKey: string;
  /** Explicit base URL, e.g. the simulator's `http://127.0.0.1:port`. Exclusive with `region`. */
  endpoint?: string;
  /** Data-centre name (`china`, `singapore`, `seoul`, `tokyo`, `frankfurt`, `silicon-valley`, `jakarta`). */
  region?: string;
  /** Use the region's backup host; default false. */
  useBackupHost?: boolean;
  /** Whole-call deadline in ms (connect, send, headers and body); default 5000; must be > 3000. */
  timeoutMs?: number;
  /** Test-only: accept `timeoutMs` <= 3000 (anything > 0). Never set it against the real service. */
  unsafeAllowShortTimeout?: boolean;
  /** Keep-alive connections of the client's own transport; default 32. Ignored with `transport`. */
  connections?: number;
  /** Largest answer body of the client's own transport (default 4 MiB). Ignored with `transport`. */
  maxAnswerBytes?: number;
  /**
   * Sends the calls (the poller's paced transport). The client neither owns nor closes it. Default: a direct
   * transport of its own, closed by `close()`.
   */
  transport?: Transport;
  /** UserSig lifetime in seconds; default 604800 (7 days). */
  userSigTtlSeconds?: number;
  /** Default: a silent logger. */
  logger?: Logger;
  /** Wall clock in Unix ms for UserSig issue times; default `Date.now`. */
  now?: () => number;
}

export const DEFAULT_CLIENT_OPTIONS = {
  timeoutMs: 5_000,
  connections: 32,
  userSigTtlSeconds: DEFAULT_USERSIG_TTL_SECONDS,
  useBackupHost: false,
} satisfies Partial<TencentClientOptions>;

/** Creates a client; throws `TencentError` kind `fatal_config` for invalid options. */
export function createTencentClient(options: TencentClientOptions): OnlineStatusClient {
  validateOptions(options);
  registerSecret(options.secretKey);
  const timeoutMs = options.timeoutMs ?? DEFAULT_CLIENT_OPTIONS.timeoutMs;
  const logger = options.logger ?? createSilentLogger();
  const base = resolveEndpoint({
    endpoint: options.endpoint,
    region: options.region,
    useBackupHost: options.useBackupHost ?? DEFAULT_CLIENT_OPTIONS.useBackupHost,
  });
  const path = `${base.pathname.replace(/\/+$/, '')}${QUERY_ONLINE_STATUS_PATH}`;
  const userSigs = createUserSigCache({
    sdkAppId: options.sdkAppId,
    secretKey: options.secretKey,
    ttlSeconds: options.userSigTtlSeconds ?? DEFAULT_CLIENT_OPTIONS.userSigTtlSeconds,
    ...(options.now ? { now: options.now } : {}),
  });
  const ownTransport = options.transport
    ? undefined
    : createDirectTransport({
        connections: options.connections ?? DEFAULT_CLIENT_OPTIONS.connections,
        connectTimeoutMs: timeoutMs,
        ...(options.maxAnswerBytes === undefined ? {} : { maxAnswerBytes: options.maxAnswerBytes }),
      });
  const transport = options.transport ?? ownTransport!;
  let closed = false;

  /** Sends one call and reads its answer with `read`. */
  async function callOnce<T>(
    userIds: UserIdList,
    query: QueryOptions,
    read: (text: string) => T,
  ): Promise<T> {
    const userSig = userSigs.get(options.identifier);
    const search =
      `?sdkappid=${options.sdkAppId}&identifier=${encodeURIComponent(options.identifier)}` +
      `&usersig=${encodeURIComponent(userSig)}&random=${randomInt(0, 2 ** 32)}&contenttype=json`;
    const body = `{"To_Account":${userIds.toJsonArray()},"IsNeedDetail":${query.detail ? 1 : 0}}`;
    let response;
    try {
      response = await transport.send({
        origin: base.origin,
        path: path + search,
        body,
        timeoutMs,
        ...(query.priority === undefined ? {} : { priority: query.priority }),
        ...(query.signal ? { signal: query.signal } : {}),
      });
    } catch (error) {
      throw transportFailure(error, timeoutMs, base.host);
    }
    logger.debug({ ids: userIds.count, status: response.statusCode }, 'query_online_status answered');
    if (response.statusCode !== 200) {
      throw new TencentError(
        `HTTP ${response.statusCode} from ${base.host}: ${response.text.slice(0, 200)}`,
        {
          kind: 'http',
          httpStatus: response.statusCode,
          retriable: response.statusCode >= 500 || response.statusCode === 429,
        },
      );
    }
    return read(response.text);
  }

  /** One call, retried once with a fresh UserSig after a credentials error. */
  async function callWithRetry<T>(
    userIds: UserIdList,
    query: QueryOptions,
    read: (text: string) => T,
  ): Promise<T> {
    if (closed) throw new TencentError('client is closed', { kind: 'request' });
    checkUserIds(userIds);
    if (query.signal?.aborted) {
      throw new TencentError('query_online_status aborted by the caller', { kind: 'aborted' });
    }
    try {
      return await callOnce(userIds, query, read);
    } catch (error) {
      if (!(error instanceof TencentError) || error.kind !== 'credentials') throw error;
      logger.warn({ errorCode: error.errorCode }, 'UserSig rejected; renewing it and retrying once');
      userSigs.invalidate(options.identifier);
      try {
        return await callOnce(userIds, query, read);
      } catch (retryError) {
        if (!(retryError instanceof TencentError) || retryError.kind !== 'credentials') throw retryError;
        throw new TencentError(
          `${retryError.message}; still rejected after renewing the UserSig (check the host clock and the key)`,
          { kind: 'credentials', retriable: false, errorCode: retryError.errorCode, cause: retryError },
        );
      }
    }
  }

  return {
    async queryOnlineStatus(userIds, options) {
      return callWithRetry(listOf(userIds), options, (text) =>
        parseOnlineStatusResponse(text, userIds, { detail: options.detail }),
      );
    },
    async queryOnlineStatusCodes(userIds, options) {
      const asked = userIds instanceof UserIdList ? userIds : listOf(userIds);
      return callWithRetry(asked, { ...options, detail: false }, (text) =>
        parseOnlineStatusCodes(text, asked),
      );
    },
    async close() {
      if (closed) return;
      closed = true;
      await ownTransport?.close();
    },
  };
}

function refuse(message: string): never {
  throw new TencentError(`Refusing to send query_online_status: ${message}`, { kind: 'request' });
}

/** A caller's array as a list; a value that is no string (from untyped code) is refused like an empty ID. */
function listOf(userIds: readonly string[]): UserIdList {
  for (const id of userIds) if (typeof id !== 'string') refuse('a UserID is not a non-empty string');
  return UserIdList.of(userIds);
}

function checkUserIds(userIds: UserIdList): void {
  const count = userIds.count;
  if (count === 0) refuse('no UserIDs');
  if (count > MAX_IDS_PER_CALL) refuse(`${count} UserIDs, at most ${MAX_IDS_PER_CALL} allowed`);
  for (let i = 0; i < count; i += 1) {
    if (userIds.lengthOf(i) === 0) refuse('a UserID is not a non-empty string');
  }
  const repeated = userIds.firstRepeatedIndex();
  if (repeated >= 0) refuse(`duplicate UserID ${JSON.stringify(userIds.idAt(repeated))}`);
}

function transportFailure(error: unknown, timeoutMs: number, host: string): TencentError {
  const reason = error instanceof TransportError ? error.reason : 'network';
  if (reason === 'aborted') {
    return new TencentError('query_online_status aborted by the caller', { kind: 'aborted', cause: error });
  }
  if (reason === 'too_large') {
    // An answer this size is no answer to 500 IDs: refused like any body that cannot be trusted, and retried.
    const detail = error instanceof Error ? error.message : 'too large';
    return new TencentError(`Malformed query_online_status answer from ${host}: ${detail}`, {
      kind: 'malformed',
      cause: error,
    });
  }
  if (reason === 'timeout') {
    return new TencentError(`query_online_status to ${host} timed out after ${timeoutMs} ms`, {
      kind: 'timeout',
      cause: error,
    });
  }
  const detail = redactSecrets(error instanceof Error ? error.message : String(error));
  return new TencentError(`query_online_status to ${host} failed: ${detail}`, {
    kind: 'network',
    cause: error,
  });
}

function validateOptions(options: TencentClientOptions): void {
  const fail = (message: string): never => {
    throw new TencentError(`Tencent client configuration: ${message}`, { kind: 'fatal_config' });
  };
  if (!Number.isSafeInteger(options.sdkAppId) || options.sdkAppId <= 0)
    fail('sdkAppId must be a positive integer');
  if (typeof options.identifier !== 'string' || options.identifier.length === 0)
    fail('identifier is required');
  if (typeof options.secretKey !== 'string' || options.secretKey.length === 0) fail('secretKey is required');
  if (options.timeoutMs !== undefined) {
    if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0)
      fail('timeoutMs must be a positive number');
    if (options.timeoutMs <= MIN_TIMEOUT_MS && !options.unsafeAllowShortTimeout) {
      fail(`timeoutMs must be > ${MIN_TIMEOUT_MS} (Tencent may take up to 3 s), got ${options.timeoutMs}`);
    }
  }
  if (
    options.connections !== undefined &&
    (!Number.isSafeInteger(options.connections) || options.connections < 1)
  ) {
    fail('connections must be a positive integer');
  }
  if (
    options.userSigTtlSeconds !== undefined &&
    (!Number.isSafeInteger(options.userSigTtlSeconds) || options.userSigTtlSeconds <= 0)
  ) {
    fail('userSigTtlSeconds must be a positive integer');
  }
}
