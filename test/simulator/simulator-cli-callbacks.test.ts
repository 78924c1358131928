import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_CODES, runCli } from '../../src/cli/program.js';
import { createLogger } from '../../src/ops/logger.js';
import { runSimulatorFromCli, verifyCallbackSign, type Simulator } from '../../src/simulator/index.js';
import { captureIo } from '../cli/capture-io.js';
import { waitFor } from '../helpers/wait-for.js';

const TOKEN = 'cli-callback-token-4b1d';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('presence-poller simulator: callback options', () => {
  it.each([
    [['--callback-loss', '1.5'], /share from 0 to 1/],
    [['--callback-duplicate', 'x'], /share from 0 to 1/],
    [['--callback-url', 'ftp://hooks.test/x'], /http\(s\) URL/],
    [['--callback-url', 'not a url'], /http\(s\) URL/],
    [['--callback-delay-min', '-1'], /integer from 0/],
    [['--callback-token-env', 'HOOK_TOKEN'], /--callback-token-env needs --callback-url/],
    [
      ['--callback-url', 'http://127.0.0.1:9/x', '--callback-delay-min', '50', '--callback-delay-max', '10'],
      /delay-max/,
    ],
  ])('refuses %j as a usage error', async (args, message) => {
    const io = captureIo({ HOOK_TOKEN: TOKEN });
    expect(await runCli(['simulator', '--port', '0', ...args], io)).toBe(EXIT_CODES.usage);
    expect(io.err()).toMatch(message);
  });

  it('refuses a token variable that is not set, naming the variable and not the value', async () => {
    const io = captureIo({});
    const args = [
      'simulator',
      '--port',
      '0',
      '--callback-url',
      'http://127.0.0.1:9/x',
      '--callback-token-env',
      'HOOK_TOKEN',
    ];
    expect(await runCli(args, io)).toBe(EXIT_CODES.config);
    expect(io.err()).toContain('HOOK_TOKEN');
  });
});

describe('runSimulatorFromCli with a callback URL', () => {
  it('signs callbacks with the token and logs the target without the token or the query', async () => {
    const received: URL[] = [];
    const server: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        received.push(new URL(req.url ?? '/', 'http://receiver'));
        res.end('{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const port = (server.address() as AddressInfo).port;
    let lines = '';
    const logger = createLogger({ destination: { write: (line: string) => void (lines += line) } });
    const sim: Simulator = await runSimulatorFromCli({
      port: 0,
      users: 10,
      churnPerSecond: 0,
      callbackUrl: `http://127.0.0.1:${port}/hooks?key=receiver-secret`,
      callbackToken: TOKEN,
      logger,
    });
    cleanups.push(() => sim.close());
    sim.setUserState('cli-user', 'Online');
    await waitFor(() => received.length === 1, { description: 'one callback' });
    const q = received[0]?.searchParams;
    expect(q?.get('key')).toBe('receiver-secret');
    expect(q?.get('CallbackCommand')).toBe('State.StateChange');
    expect(verifyCallbackSign(TOKEN, q?.get('RequestTime'), q?.get('Sign'))).toBe(true);
    expect(lines).toContain(`"callbackUrl":"http://127.0.0.1:${port}/hooks"`);
    expect(lines).not.toContain(TOKEN);
    expect(lines).not.toContain('receiver-secret');
  });
});
