import { ConfigError } from '../config/index.js';
import { MissingTopicsError } from '../relay/kafka.js';
import { PreflightError } from '../roles/preflight.js';
import { isTencentError } from '../tencent/index.js';
import { EXIT_CODES, type ExitCode } from './exit-codes.js';

/**
 * A failure a command reports to the user: a one-line message for stderr and the exit code. Commands throw it; the
 * program prints it once (no stack trace: the message says what to do).
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly code = 'CLI_ERROR';
  readonly exitCode: ExitCode;

  constructor(message: string, exitCode: ExitCode, options?: { cause?: unknown }) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

const NETWORK_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
const KAFKA_UNREACHABLE = new Set([
  'KafkaJSConnectionError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSBrokerNotFound',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNonRetriableError',
]);

/** Maps any error thrown by a command to its documented exit code. */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof ConfigError) return EXIT_CODES.config;
  // Topic creation is off and a topic is missing: the deployment's configuration, not an outage.
  if (error instanceof MissingTopicsError) return EXIT_CODES.config;
  // Tencent refused the key, the UserSig, the app or the admin: a restart cannot help.
  if (error instanceof PreflightError) return EXIT_CODES.config;
  if (isTencentError(error)) {
    if (error.kind === 'network' || error.kind === 'timeout') return EXIT_CODES.unavailable;
    if (error.kind === 'fatal_config' || error.kind === 'credentials') return EXIT_CODES.config;
    return EXIT_CODES.failure;
  }
  if (isUnreachable(error)) return EXIT_CODES.unavailable;
  return EXIT_CODES.failure;
}

function isUnreachable(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 4) return false;
  const errno = (error as NodeJS.ErrnoException).code;
  if (errno !== undefined && NETWORK_ERRNOS.has(errno)) return true;
  if (KAFKA_UNREACHABLE.has(error.name)) return true;
  return isUnreachable(error.cause, depth + 1);
}

/** A URL safe to print: any password replaced. */
export function displayUrl(url: string): string {
  if (!URL.canParse(url)) return url;
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString().replace(/\/$/, '');
}
