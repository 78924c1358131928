import { pino, type Logger, type DestinationStream } from 'pino';
import { redactSecrets } from './redact.js';

export type { Logger };

export interface LoggerOptions {
  /** pino level; default `info`. */
  level?: string;
  /** Where lines go; default stdout. Tests pass an in-memory stream to read lines back. */
  destination?: DestinationStream;
}

/**
 * The process logger. Every string that passes through it is scrubbed of UserSigs and secret keys, so a URL or an
 * error message that carries one can never reach a log line (invariant 8).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      base: { service: 'presence-poller' },
      redact: {
        paths: ['secretKey', '*.secretKey', 'usersig', '*.usersig', 'userSig', '*.userSig'],
        censor: '[redacted]',
      },
      hooks: {
        logMethod(args, method) {
          method.apply(
            this,
            args.map((arg) => (typeof arg === 'string' ? redactSecrets(arg) : arg)) as Parameters<
              typeof method
            >,
          );
        },
      },
      formatters: {
        log(object) {
          return JSON.parse(redactSecrets(JSON.stringify(object))) as Record<string, unknown>;
        },
      },
    },
    options.destination,
  );
}

/** A logger that drops everything; for tests and library use without output. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
