/** The logger every command creates: one level rule (`logLevel`, overridden by `LOG_LEVEL`), one error mapping. */
import type { DestinationStream } from 'pino';
import type { LogLevel } from '../config/index.js';
import { LogLevelError, resolveLogLevel } from '../config/log-level.js';
import { createLogger, type Logger } from '../ops/logger.js';
import { CliError } from './errors.js';
import { EXIT_CODES } from './exit-codes.js';
import type { CliIo } from './io.js';

/**
 * Creates a command's logger at the level `resolveLogLevel` picks from the configuration and `io.env`. An invalid
 * `LOG_LEVEL` is a configuration error (exit 3).
 */
export function createCliLogger(
  io: CliIo,
  options: { configured?: LogLevel; destination?: DestinationStream } = {},
): Logger {
  try {
    const level = resolveLogLevel(options.configured, io.env);
    return createLogger({ level, ...(options.destination ? { destination: options.destination } : {}) });
  } catch (error) {
    if (error instanceof LogLevelError)
      throw new CliError(error.message, EXIT_CODES.config, { cause: error });
    throw error;
  }
}
