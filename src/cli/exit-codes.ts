/**
 * The exit codes of every `presence-poller` command: stable, documented in `--help`, and the only ones used.
 * Scripts and orchestrators branch on them (e.g. do not restart-loop on 3, retry later on 4).
 */
export const EXIT_CODES = {
  /** Success (for `run`: a clean shutdown after SIGTERM / SIGINT). */
  ok: 0,
  /** Runtime failure: anything unexpected, or a shutdown that missed its deadline or was forced. */
  failure: 1,
  /** Usage error: unknown command or option, missing or malformed argument. */
  usage: 2,
  /**
   * Invalid configuration: presence.yaml, a watchlist, or a missing secret; for `run` also what only the start can
   * find: credentials Tencent refuses (the preflight), a Redis that may evict keys, an ops port in use.
   */
  config: 3,
  /** A dependency cannot be reached (or does not answer in time): Redis, Kafka or the Tencent REST endpoint. */
  unavailable: 4,
  /** The named thing does not exist: e.g. the watchlist is not in Redis (`snapshot`). */
  notFound: 5,
} as const satisfies Record<string, number>;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

const DESCRIPTIONS: Record<ExitCode, string> = {
  0: 'success (run: clean shutdown after SIGTERM/SIGINT)',
  1: 'runtime failure (incl. a shutdown that missed its deadline or a second signal)',
  2: 'usage error (unknown command/option, bad argument)',
  3: 'invalid configuration (each issue printed as file:line:column) or missing secret; run: credentials refused by Tencent, Redis that may evict keys, ops port in use',
  4: 'cannot reach a dependency or it does not answer in time (Redis, Kafka, Tencent endpoint)',
  5: 'not found (e.g. the watchlist is not in Redis)',
};

/** The exit-code table as printed in the `--help` epilogue. */
export function formatExitCodes(): string {
  const lines = Object.entries(DESCRIPTIONS).map(([code, text]) => `  ${code}  ${text}`);
  return `Exit codes:\n${lines.join('\n')}`;
}
