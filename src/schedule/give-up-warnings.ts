import type { TencentErrorKind } from '../tencent/errors.js';
import type { Logger } from '../ops/logger.js';
import { messageOf } from '../ops/outage-log.js';

/** Default least time between two warnings of one app and failure kind, in ms. */
export const DEFAULT_GIVE_UP_WARNING_INTERVAL_MS = 60_000;

/** A failure kind: a Tencent error's `kind`, or `other` for anything else (Redis, a bug). */
export type FailureKind = TencentErrorKind | 'other';

/** What an operator should look at first, per failure kind. */
export const CHECK_BY_KIND: Readonly<Record<FailureKind, string>> = {
  network:
    'check that this host reaches the endpoint (DNS, firewall, proxy) and the configured region or endpoint',
  timeout:
    'check the latency to the endpoint and requestTimeout; the endpoint answers too slowly or not at all',
  http: 'check the endpoint URL: something other than the Tencent API (a proxy, a wrong host) is answering',
  rate_limit: 'check callsPerSecond against the app’s cap and whether another client spends the same cap',
  server: 'Tencent reports errors on its side; check its status page, calls resume on their own',
  credentials: 'still rejected after renewing the UserSig: check the host clock and the secret key',
  fatal_config:
    'fix the configuration named in the error (secret key, SDKAppID, admin identifier, region): ' +
    'no call can succeed until then',
  locked: 'the admin account is locked after repeated bad signatures: check the secret key',
  request: 'the API refused the request itself; report it with this line',
  malformed: 'the answers cannot be parsed: check that the endpoint is the Tencent API',
  aborted: 'calls were aborted, usually by a shutdown; nothing to fix if the process was stopping',
  other: 'see the error; Redis reachability is logged separately',
};

export interface ChunkGivenUp {
  /** The app's label (SDKAppID as text). */
  app: string;
  watchlist: string;
  /** The chunk's last error. */
  error: unknown;
}

/**
 * Warns when chunks are given up, at most once per `intervalMs` for each app and failure kind. Each warning names
 * how many chunks were given up since the previous one, in which watchlists, the last error's message, and what to
 * check. Give-ups inside the interval are counted into the next warning (metrics count every one of them).
 */
export interface GiveUpWarnings {
  chunkGivenUp(giveUp: ChunkGivenUp): void;
}

export interface GiveUpWarningsOptions {
  logger: Logger;
  /** Least time between two warnings of one app and failure kind, in ms. Default 60 000. */
  intervalMs?: number;
  /** Milliseconds since the epoch; tests inject a clock. Default `Date.now`. */
  now?: () => number;
}

interface Pending {
  lastWarnedAtMs: number;
  chunks: number;
  watchlists: Set<string>;
}

/** Creates the rate-limited give-up warnings of a process (one instance serves every app). */
export function createGiveUpWarnings(options: GiveUpWarningsOptions): GiveUpWarnings {
  const { logger } = options;
  const intervalMs = options.intervalMs ?? DEFAULT_GIVE_UP_WARNING_INTERVAL_MS;
  const now = options.now ?? Date.now;
  const byAppAndKind = new Map<string, Pending>();

  return {
    chunkGivenUp({ app, watchlist, error }) {
      const failureKind = failureKindOf(error);
      const key = `${app}\u0000${failureKind}`;
      const atMs = now();
      let pending = byAppAndKind.get(key);
      if (!pending) {
        pending = { lastWarnedAtMs: -Infinity, chunks: 0, watchlists: new Set() };
        byAppAndKind.set(key, pending);
      }
      pending.chunks += 1;
      pending.watchlists.add(watchlist);
      if (atMs - pending.lastWarnedAtMs < intervalMs) return;
      const check = CHECK_BY_KIND[failureKind];
      logger.warn(
        {
          app,
          failureKind,
          chunksGivenUp: pending.chunks,
          watchlists: [...pending.watchlists],
          lastError: messageOf(error),
          check,
        },
        `chunks given up (${failureKind}, ${pending.chunks} since the last warning): ${check}`,
      );
      pending.lastWarnedAtMs = atMs;
      pending.chunks = 0;
      pending.watchlists.clear();
    },
  };
}

/** The failure kind of a chunk's error: a Tencent error's `kind`, otherwise `other`. */
export function failureKindOf(error: unknown): FailureKind {
  const kind = (error as { kind?: unknown } | null)?.kind;
  return typeof kind === 'string' && kind in CHECK_BY_KIND ? (kind as FailureKind) : 'other';
}
