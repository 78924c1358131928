import { LOG_LEVELS, type LogLevel } from './schema.js';

/** The level used when neither the configuration nor `LOG_LEVEL` names one. */
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

/** `LOG_LEVEL` holds something that is not a level; the message lists the valid ones. */
export class LogLevelError extends Error {
  override readonly name = 'LogLevelError';
  readonly code = 'INVALID_LOG_LEVEL';
}

/**
 * The one rule for the log level of every command: `LOG_LEVEL` from the environment when set (an empty value counts
 * as unset), else the configuration's `logLevel`, else `info`. Case does not matter (`DEBUG` works).
 *
 * @param configured the configuration's `logLevel`; undefined for commands that read no configuration.
 * @throws LogLevelError when `LOG_LEVEL` is not one of the levels.
 */
export function resolveLogLevel(
  configured: LogLevel | undefined,
  env: Readonly<Record<string, string | undefined>>,
): LogLevel {
  const fromEnv = env.LOG_LEVEL?.trim().toLowerCase();
  if (!fromEnv) return configured ?? DEFAULT_LOG_LEVEL;
  if (!isLogLevel(fromEnv)) {
    throw new LogLevelError(
      `LOG_LEVEL "${env.LOG_LEVEL}" is not a log level; use one of ${LOG_LEVELS.join(', ')}`,
    );
  }
  return fromEnv;
}

function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}
