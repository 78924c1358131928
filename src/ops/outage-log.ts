import type { Logger } from './logger.js';

/** Default gap between two summary lines of one outage, in ms. */
export const DEFAULT_OUTAGE_SUMMARY_INTERVAL_MS = 60_000;

export interface OutageLogOptions {
  logger: Logger;
  /** The dependency named in every line (`redis`, `kafka`, ...). */
  dependency: string;
  /** Least time between two lines of one outage, in ms: summaries come at most this often. Default 60 000. */
  summaryIntervalMs?: number;
  /** Milliseconds since the epoch; tests inject a clock they move by hand. Default `Date.now`. */
  now?: () => number;
}

/**
 * Turns a stream of failures and retries into at most a few lines per outage: one when it starts (with the error),
 * a summary with counts at most every `summaryIntervalMs` while it lasts, one when it ends.
 *
 * A dependency is often reached through several connections (`source`s). The outage starts at the first failure of
 * any of them and ends when every source that failed has reported `success`. Failures reported without a source
 * (e.g. an error relayed by a library that owns its own connection) are counted, and start an outage if none is
 * open, but no `success` is awaited for them. The same error object reported twice counts once.
 *
 * Summaries are written when a failure or retry arrives after the interval: no timer is left behind, and a
 * dependency that is no longer being tried writes no more lines until it is tried again.
 */
export interface OutageLog {
  /** A call or connection attempt failed. */
  failure(error: unknown, source?: string): void;
  /** A reconnection or another attempt is under way (counted, never logged on its own). */
  retry(source?: string): void;
  /** `source` works again; the outage ends when no source is failing any more. */
  success(source?: string): void;
  /**
   * `source` was closed for good (shut down, or it gave up reconnecting). If it was the last failing source, the
   * outage line is closed as `closed` rather than `ended`: nobody will see the dependency come back through it.
   */
  closed(source?: string): void;
  /** True while an outage is open. */
  readonly down: boolean;
}

interface OpenOutage {
  startedAtMs: number;
  lastLineAtMs: number;
  failures: number;
  retries: number;
  lastError: unknown;
  failing: Set<string>;
}

const DEFAULT_SOURCE = 'default';

/** Creates the outage log of one dependency. */
export function createOutageLog(options: OutageLogOptions): OutageLog {
  const { logger, dependency } = options;
  const summaryIntervalMs = options.summaryIntervalMs ?? DEFAULT_OUTAGE_SUMMARY_INTERVAL_MS;
  const now = options.now ?? Date.now;
  let outage: OpenOutage | undefined;
  // Retries between a lost connection and its first failure belong to the outage that failure starts.
  let retriesBeforeOutage = 0;
  // Error objects already counted: the same error reported again is one failure, not several.
  const counted = new WeakSet<object>();

  function counts(open: OpenOutage, atMs: number) {
    return { downForMs: atMs - open.startedAtMs, failures: open.failures, retries: open.retries };
  }

  function summarizeIfDue(open: OpenOutage): void {
    const atMs = now();
    if (atMs - open.lastLineAtMs < summaryIntervalMs) return;
    open.lastLineAtMs = atMs;
    const summary = counts(open, atMs);
    logger.warn(
      {
        dependency,
        outage: 'ongoing',
        ...summary,
        failing: [...open.failing],
        lastError: messageOf(open.lastError),
      },
      `${dependency} still unavailable after ${formatSeconds(summary.downForMs)}: ` +
        `${summary.failures} failures, ${summary.retries} retries so far`,
    );
  }

  function end(state: 'ended' | 'closed'): void {
    const open = outage!;
    outage = undefined;
    retriesBeforeOutage = 0;
    const summary = counts(open, now());
    const fields = { dependency, outage: state, ...summary };
    if (state === 'ended') {
      logger.info(fields, `${dependency} available again after ${formatSeconds(summary.downForMs)}`);
    } else {
      logger.warn(
        fields,
        `${dependency} connection closed while unavailable (for ${formatSeconds(summary.downForMs)})`,
      );
    }
  }

  return {
    failure(error, source) {
      // Libraries relay one connection's error through several emitters (BullMQ: each queue and worker on it).
      const repeated = typeof error === 'object' && error !== null && counted.has(error);
      if (typeof error === 'object' && error !== null) counted.add(error);
      if (repeated) {
        if (outage && source !== undefined) outage.failing.add(source);
        return;
      }
      if (!outage) {
        const atMs = now();
        outage = {
          startedAtMs: atMs,
          lastLineAtMs: atMs,
          failures: 1,
          retries: retriesBeforeOutage,
          lastError: error,
          failing: new Set(source === undefined ? [] : [source]),
        };
        logger.warn(
          { dependency, outage: 'started', ...(source === undefined ? {} : { source }), err: error },
          `${dependency} unavailable: ${messageOf(error)}`,
        );
        return;
      }
      outage.failures += 1;
      outage.lastError = error;
      if (source !== undefined) outage.failing.add(source);
      summarizeIfDue(outage);
    },
    retry() {
      if (!outage) {
        retriesBeforeOutage += 1;
        return;
      }
      outage.retries += 1;
      summarizeIfDue(outage);
    },
    success(source = DEFAULT_SOURCE) {
      if (!outage) {
        retriesBeforeOutage = 0;
        return;
      }
      outage.failing.delete(source);
      if (outage.failing.size === 0) end('ended');
    },
    closed(source = DEFAULT_SOURCE) {
      if (!outage || !outage.failing.delete(source)) return;
      if (outage.failing.size === 0) end('closed');
    },
    get down() {
      return outage !== undefined;
    },
  };
}

/** The error's own message (no stack) for summary lines; the first line of an outage carries the whole error. */
export function messageOf(error: unknown): string {
  // Node reports a refused connect to several addresses as an AggregateError with an empty message.
  if (error instanceof AggregateError && !error.message && error.errors.length > 0) {
    return error.errors.map(messageOf).join('; ');
  }
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
