import { pino, type DestinationStream, type Logger } from 'pino';
import { redactSecrets } from './redact.js';

export type { Logger };

export interface LoggerOptions {
  /** pino level; default `info`. The CLI resolves it once with `resolveLogLevel` (config, then `LOG_LEVEL`). */
  level?: string;
  /** Where lines go; default stdout. Tests pass an in-memory stream to read lines back. */
  destination?: DestinationStream;
}

/** Keys pino writes itself on every line: a call cannot set them without repeating them. */
const OWN_KEYS = ['level', 'time'] as const;
const { chindingsSym } = pino.symbols;

/**
 * The process logger.
 *
 * - Errors under `err` or `error` keep their type, message, stack, `code` (and every other own field, such as
 *   kafkajs' `retriable`) and their `cause` chain, each cause as a nested error.
 * - Every finished line is scrubbed of UserSigs and registered secrets just before it is written, so no field,
 *   binding, message, stack or cause can carry one out.
 * - No line repeats a key: a child's bindings replace the parent's of the same name, and a field of a call that a
 *   binding already holds is written once (the call's value wins when they differ). `level` and `time` belong to
 *   pino; a call's fields of those names are dropped.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'presence-poller' },
      serializers: { err: pino.stdSerializers.errWithCause, error: pino.stdSerializers.errWithCause },
      redact: {
        paths: ['secretKey', '*.secretKey', 'usersig', '*.usersig', 'userSig', '*.userSig'],
        censor: '[redacted]',
      },
      onChild: mergeRepeatedBindings,
      hooks: {
        logMethod(args, method) {
          const [fields] = args;
          if (fields === null || typeof fields !== 'object' || fields instanceof Error) {
            return method.apply(this, args);
          }
          const { kept, overridden } = splitRepeatedFields(this, fields as Record<string, unknown>);
          const target = overridden.length === 0 ? this : withoutBindings(this, overridden);
          method.apply(target, [kept, ...args.slice(1)] as Parameters<typeof method>);
        },
        streamWrite: redactSecrets,
      },
    },
    options.destination,
  );
}

/** A logger that drops everything; for tests and library use without output. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}

type Chindings = Record<symbol, string>;

/** The logger's bindings as `key -> JSON text`, parsed once per distinct set of bindings. */
const bindingsCache = new WeakMap<object, { chindings: string; fields: Map<string, string> }>();

function boundFieldsOf(logger: Logger): Map<string, string> {
  const chindings = (logger as unknown as Chindings)[chindingsSym] ?? '';
  const cached = bindingsCache.get(logger);
  if (cached?.chindings === chindings) return cached.fields;
  const fields = new Map<string, string>();
  for (const [key, value] of Object.entries(parseChindings(chindings)))
    fields.set(key, JSON.stringify(value));
  bindingsCache.set(logger, { chindings, fields });
  return fields;
}

// pino keeps bindings as ready-made JSON text, `,"key":value,...`; every value in it is already serialized.
function parseChindings(chindings: string): Record<string, unknown> {
  return JSON.parse(`{${chindings.slice(1)}}`) as Record<string, unknown>;
}

function toChindings(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .map(([key, value]) => `,${JSON.stringify(key)}:${JSON.stringify(value)}`)
    .join('');
}

/** pino's `onChild`: `child({ app })` under a logger already bound to `app` keeps one `app`, the child's. */
function mergeRepeatedBindings(child: Logger): void {
  const target = child as unknown as Chindings;
  // JSON.parse keeps the last value of a repeated key, which is the child's.
  target[chindingsSym] = toChindings(parseChindings(target[chindingsSym] ?? ''));
}

/**
 * Splits a call's fields against the logger's bindings: fields equal to a binding are dropped (they would only
 * repeat it); fields that differ are kept and their bindings named in `overridden`.
 */
function splitRepeatedFields(
  logger: Logger,
  fields: Record<string, unknown>,
): { kept: Record<string, unknown>; overridden: string[] } {
  const bound = boundFieldsOf(logger);
  let kept = fields;
  const overridden: string[] = [];
  const drop = (key: string) => {
    if (kept === fields) kept = { ...fields };
    delete kept[key];
  };
  for (const key of OWN_KEYS) if (Object.hasOwn(fields, key)) drop(key);
  for (const [key, json] of bound) {
    if (!Object.hasOwn(fields, key) || fields[key] === undefined) continue;
    if (sameJson(fields[key], json)) drop(key);
    else overridden.push(key);
  }
  return { kept, overridden };
}

/** Whether `value` serializes to `json`; a value JSON cannot write (a BigInt, a cycle) counts as different. */
function sameJson(value: unknown, json: string): boolean {
  try {
    return JSON.stringify(value) === json;
  } catch {
    return false;
  }
}

/** The same logger for one line, minus some bindings (the call's fields of those names replace them). */
function withoutBindings(logger: Logger, keys: readonly string[]): Logger {
  const bound = parseChindings((logger as unknown as Chindings)[chindingsSym] ?? '');
  for (const key of keys) delete bound[key];
  const shadow = Object.create(logger) as Logger;
  (shadow as unknown as Chindings)[chindingsSym] = toChindings(bound);
  return shadow;
}

/**
 * Node prints process warnings to stderr as plain text, which breaks "every line is JSON". This replaces that
 * printer with log lines: each warning once per distinct message, at `warn`. kafkajs 2.2.4's
 * `TimeoutNegativeWarning` (its request queue computes a negative delay that Node turns into 1 ms, the check it
 * meant; a known upstream bug on Node 24) is logged at `debug`. Returns a function that restores Node's printer.
 */
export function routeProcessWarnings(logger: Logger, target: NodeJS.Process = process): () => void {
  const printers = target.listeners('warning');
  target.removeAllListeners('warning');
  const seen = new Set<string>();
  const onWarning = (warning: Error) => {
    const key = `${warning.name}:${warning.name === 'TimeoutNegativeWarning' ? '' : warning.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    const level = warning.name === 'TimeoutNegativeWarning' ? 'debug' : 'warn';
    logger[level]({ err: warning }, `process warning: ${warning.name}`);
  };
  target.on('warning', onWarning);
  return () => {
    target.off('warning', onWarning);
    for (const printer of printers) target.on('warning', printer as (warning: Error) => void);
  };
}
