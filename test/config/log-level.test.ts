import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCliLogger } from '../../src/cli/logging.js';
import { runCli } from '../../src/cli/program.js';
import { CliError } from '../../src/cli/errors.js';
import { EXIT_CODES } from '../../src/cli/exit-codes.js';
import type { CliIo } from '../../src/cli/io.js';
import { LogLevelError, resolveLogLevel } from '../../src/config/log-level.js';

const io = (env: Record<string, string>): CliIo => ({ stdout: () => {}, stderr: () => {}, env, cwd: '/' });

describe('log level', () => {
  it('takes LOG_LEVEL over the configuration, the configuration over the default', () => {
    expect(resolveLogLevel('warn', { LOG_LEVEL: 'debug' })).toBe('debug');
    expect(resolveLogLevel('warn', {})).toBe('warn');
    expect(resolveLogLevel(undefined, {})).toBe('info');
    expect(resolveLogLevel('error', { LOG_LEVEL: ' ' })).toBe('error');
    expect(resolveLogLevel(undefined, { LOG_LEVEL: 'TRACE' })).toBe('trace');
  });

  it('rejects an unknown LOG_LEVEL naming the valid ones', () => {
    expect(() => resolveLogLevel('info', { LOG_LEVEL: 'verbose' })).toThrow(LogLevelError);
    expect(() => resolveLogLevel('info', { LOG_LEVEL: 'verbose' })).toThrow(
      'LOG_LEVEL "verbose" is not a log level; use one of fatal, error, warn, info, debug, trace, silent',
    );
  });

  it('gives every command a logger at the resolved level, and exit 3 for a bad LOG_LEVEL', () => {
    expect(createCliLogger(io({ LOG_LEVEL: 'debug' }), { configured: 'warn' }).level).toBe('debug');
    expect(createCliLogger(io({}), { configured: 'warn' }).level).toBe('warn');
    let caught: unknown;
    try {
      createCliLogger(io({ LOG_LEVEL: 'loud' }), { configured: 'info' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CliError);
    expect((caught as CliError).exitCode).toBe(EXIT_CODES.config);
  });
});

describe('LOG_LEVEL in every command that logs', () => {
  // Nothing listens on port 1: a command that got past its logger would fail with exit 4, not 3.
  const dir = mkdtempSync(join(tmpdir(), 'presence-log-level-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'presence.yaml'),
    [
      'apps:',
      '  - name: demo',
      '    sdkAppId: 1400000000',
      '    endpoint: http://127.0.0.1:1',
      '    identifier: administrator',
      '    secretKeyEnv: TEST_SECRET_KEY',
      'redis:',
      '  url: redis://127.0.0.1:1',
      'kafka:',
      "  brokers: ['127.0.0.1:1']",
      'logLevel: warn',
      '',
    ].join('\n'),
  );
  mkdirSync(join(dir, 'watchlists'));
  const env = { TEST_SECRET_KEY: 'log-level-test-key-0123456789abcdef', LOG_LEVEL: 'loud' };

  it.each([
    ['run', ['run', '--config', join(dir, 'presence.yaml')]],
    ['query', ['query', 'u1', '--config', join(dir, 'presence.yaml')]],
    ['tail', ['tail', '--config', join(dir, 'presence.yaml')]],
    ['simulator', ['simulator', '--port', '0']],
  ])('%s refuses an invalid LOG_LEVEL with exit 3 before it starts', async (_name, argv) => {
    let err = '';
    const code = await runCli(argv, {
      stdout: () => {},
      stderr: (text) => void (err += text),
      env,
      cwd: dir,
    });
    expect(err).toContain('LOG_LEVEL "loud" is not a log level');
    expect(code).toBe(EXIT_CODES.config);
  });
});
