import { KafkaJSNonRetriableError, KafkaJSConnectionError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createLogger, routeProcessWarnings } from '../../src/ops/logger.js';
import { registerSecret } from '../../src/ops/redact.js';
import { waitFor } from '../helpers/wait-for.js';
import { captureLogLines, parseLogLine } from './log-lines.js';

// Registered once for the file: the registry is process-wide, like the service's.
const SECRET_KEY = 'logger-test-secret-0123456789abcdef0123456789abcdef';
const USERSIG = 'eJwtzDELgkAYgOG-Logger*Test-UserSig_';
registerSecret(SECRET_KEY);
registerSecret(USERSIG);

function logTo() {
  const capture = captureLogLines();
  return { logger: createLogger({ level: 'debug', destination: capture.stream }), capture };
}

describe('strict log line parser', () => {
  it('rejects a line that repeats a key in one object, at any depth', () => {
    expect(() => parseLogLine('{"app":"1","app":"1"}')).toThrow(/key "app" appears twice/);
    expect(() => parseLogLine('{"a":{"b":1,"b":2}}')).toThrow(/key "b" appears twice/);
    expect(() => parseLogLine('not json')).toThrow(/not a JSON line/);
  });

  it('accepts the same key in sibling objects and keys inside strings', () => {
    const line = parseLogLine('{"a":{"k":1},"b":[{"k":2},{"k":3}],"msg":"\\"k\\": twice \\"k\\":"}');
    expect(line.b).toEqual([{ k: 2 }, { k: 3 }]);
  });
});

describe('error serialization', () => {
  it('keeps message, stack, code and the cause chain of a plain Error under err and error', () => {
    const { logger, capture } = logTo();
    const root = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const error = Object.assign(new Error('query failed', { cause: root }), { code: 'QUERY_FAILED' });
    logger.error({ err: error }, 'under err');
    logger.warn({ error }, 'under error');
    const [first, second] = capture.lines();
    for (const line of [first, second]) {
      const logged = (line!.err ?? line!.error) as Record<string, unknown>;
      expect(logged).toMatchObject({ type: 'Error', message: 'query failed', code: 'QUERY_FAILED' });
      expect(logged.stack).toMatch(/^Error: query failed\n\s+at /);
      expect(logged.cause).toMatchObject({ type: 'Error', message: 'socket hang up', code: 'ECONNRESET' });
      expect((logged.cause as { stack: string }).stack).toMatch(/^Error: socket hang up\n/);
    }
  });

  it('keeps a kafkajs error’s name, retriable flag, message, stack and cause', () => {
    const { logger, capture } = logTo();
    const cause = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
    // kafkajs' typings leave out the `{ cause }` its constructors take.
    const NonRetriable = KafkaJSNonRetriableError as unknown as new (e: Error, o: { cause: Error }) => Error;
    logger.error({ err: new NonRetriable(cause, { cause }) }, 'publish failed');
    const logged = capture.lines()[0]!.err as Record<string, unknown>;
    expect(logged).toMatchObject({
      type: 'KafkaJSNonRetriableError',
      name: 'KafkaJSNonRetriableError',
      retriable: false,
      message: 'Connection error: connect ECONNREFUSED 127.0.0.1:9092',
    });
    expect(logged.stack).toMatch(/KafkaJSNonRetriableError: Connection error/);
    expect(logged.cause).toMatchObject({ name: 'KafkaJSConnectionError', retriable: true });
  });

  it('logs a string under error as the string', () => {
    const { logger, capture } = logTo();
    logger.warn({ error: 'pacer Redis: connect ECONNREFUSED' }, 'sending thread');
    expect(capture.lines()[0]!.error).toBe('pacer Redis: connect ECONNREFUSED');
  });
});

describe('redaction', () => {
  it('scrubs registered secrets and usersig= from an error’s message, stack and cause chain', () => {
    const { logger, capture } = logTo();
    const cause = new Error(`GET https://im.example/v4?sdkappid=1&usersig=${USERSIG}&random=7 failed`);
    const error = new Error(`signature made with ${SECRET_KEY} rejected`, { cause });
    logger.error({ err: error, url: `https://im.example/v4?usersig=${USERSIG}` }, `key ${SECRET_KEY} in msg`);
    const [raw] = capture.rawLines();
    expect(raw).not.toContain(SECRET_KEY);
    expect(raw).not.toContain(USERSIG);
    expect(raw).not.toContain('eJwtzDELgkAYgOG');
    const line = parseLogLine(raw!);
    const logged = line.err as { message: string; stack: string; cause: { message: string; stack: string } };
    expect(logged.message).toBe('signature made with [redacted] rejected');
    expect(logged.stack).toMatch(/^Error: signature made with \[redacted\] rejected\n/);
    expect(logged.cause.message).toBe(
      'GET https://im.example/v4?sdkappid=1&usersig=[redacted]&random=7 failed',
    );
    expect(logged.cause.stack).toContain('usersig=[redacted]&random=7');
    expect(line.url).toBe('https://im.example/v4?usersig=[redacted]');
    expect(line.msg).toBe('key [redacted] in msg');
  });

  it('scrubs secrets from child bindings and censors secret-named fields', () => {
    const { logger, capture } = logTo();
    logger.child({ endpoint: `https://im.example/?usersig=${USERSIG}` }).info({ secretKey: 'short' }, 'x');
    const line = capture.lines()[0]!;
    expect(line.endpoint).toBe('https://im.example/?usersig=[redacted]');
    expect(line.secretKey).toBe('[redacted]');
  });

  it('keeps a line valid JSON when a usersig sits next to a JSON escape', () => {
    const { logger, capture } = logTo();
    logger.info({ text: `"usersig=${USERSIG}"\n\\usersig=${USERSIG}\\` }, 'quoted');
    const line = capture.lines()[0]!;
    expect(line.text).toBe('"usersig=[redacted]"\n\\usersig=[redacted]\\');
  });
});

describe('no repeated keys', () => {
  it('writes app once when a call repeats the child’s binding', () => {
    const { logger, capture } = logTo();
    const appLogger = logger.child({ app: '1400000000' });
    appLogger.warn({ app: '1400000000', attempt: 2 }, 'same value');
    appLogger.warn({ app: '1400000001' }, 'another value');
    const [same, other] = capture.lines();
    expect(same).toMatchObject({ app: '1400000000', attempt: 2, service: 'presence-poller' });
    expect(other).toMatchObject({ app: '1400000001', msg: 'another value' });
    // The binding is untouched for the next line.
    appLogger.info('after');
    expect(capture.lines()[2]).toMatchObject({ app: '1400000000', msg: 'after' });
  });

  it('keeps one binding when a child rebinds a key of its parent, the child’s value', () => {
    const { logger, capture } = logTo();
    logger.child({ app: 'a', role: 'poller' }).child({ app: 'b' }).info({ service: 'other' }, 'nested');
    expect(capture.lines()[0]).toMatchObject({ app: 'b', role: 'poller', service: 'other' });
  });

  it('writes a field that JSON cannot compare in place of the binding', () => {
    const { logger, capture } = logTo();
    logger.child({ app: '1' }).info({ app: 1n }, 'bigint');
    expect(capture.lines()[0]).toMatchObject({ msg: 'bigint' });
  });

  it('drops fields named like pino’s own level and time', () => {
    const { logger, capture } = logTo();
    logger.info({ level: 'loud', time: 'now', kept: true }, 'own keys');
    const line = capture.lines()[0]!;
    expect(line.level).toBe(30);
    expect(typeof line.time).toBe('number');
    expect(line.kept).toBe(true);
  });
});

describe('process warnings', () => {
  it('logs each distinct warning once as a JSON line instead of printing it, kafkajs’ negative timeout at debug', async () => {
    const capture = captureLogLines();
    const logger = createLogger({ level: 'debug', destination: capture.stream });
    const printers = process.listeners('warning');
    const restore = routeProcessWarnings(logger);
    try {
      expect(process.listeners('warning')).toHaveLength(1);
      process.emitWarning('something odd', 'OddWarning');
      process.emitWarning('something odd', 'OddWarning');
      process.emitWarning('-1796472688791 is a negative number.', 'TimeoutNegativeWarning');
      process.emitWarning('-17 is a negative number.', 'TimeoutNegativeWarning');
      await waitFor(() => capture.lines().length >= 2, { description: 'two warning lines' });
      const lines = capture.lines();
      expect(lines.map((line) => [line.level, line.msg])).toEqual([
        [40, 'process warning: OddWarning'],
        [20, 'process warning: TimeoutNegativeWarning'],
      ]);
      expect(lines[0]!.err).toMatchObject({ message: 'something odd', stack: expect.any(String) });
    } finally {
      restore();
    }
    expect(process.listeners('warning')).toEqual(printers);
  });
});
