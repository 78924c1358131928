import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_CODES, runCli } from '../../src/cli/program.js';
import { DEFAULT_SIMULATOR_APP } from '../../src/simulator/index.js';
import { verifyUserSig } from '../../src/tencent/index.js';
import { removeTrees, SECRET_ENV, writeTree } from '../config/config-tree.js';
import { captureIo } from './capture-io.js';

const COMMANDS = ['run', 'check-config', 'query', 'tail', 'snapshot', 'dead-letters', 'simulator', 'usersig'];

afterAll(() => removeTrees());

describe('presence-poller --help', () => {
  it('lists every command and the exit-code table, and exits 0', async () => {
    const io = captureIo();
    expect(await runCli(['--help'], io)).toBe(0);
    for (const command of COMMANDS) expect(io.out()).toMatch(new RegExp(`^  ${command} `, 'm'));
    expect(io.out()).toContain('Exit codes:');
    for (const code of Object.values(EXIT_CODES))
      expect(io.out()).toMatch(new RegExp(`^  ${code}  \\S`, 'm'));
  });

  it.each(COMMANDS)('prints help for %s with the exit codes', async (command) => {
    const io = captureIo();
    expect(await runCli([command, '--help'], io)).toBe(0);
    expect(io.out()).toContain(`Usage: presence-poller ${command}`);
    expect(io.out()).toContain('Exit codes:');
  });

  it('prints help to stderr and exits 2 without a command', async () => {
    const io = captureIo();
    expect(await runCli([], io)).toBe(EXIT_CODES.usage);
    expect(io.err()).toContain('Usage: presence-poller');
  });

  it('keeps the documented codes stable', () => {
    expect(EXIT_CODES).toEqual({ ok: 0, failure: 1, usage: 2, config: 3, unavailable: 4, notFound: 5 });
  });
});

describe('usage errors exit 2', () => {
  it.each([
    [['bogus'], "unknown command 'bogus'"],
    [['check-config', '--bogus'], "unknown option '--bogus'"],
    [['run', '--roles', 'scheduler,cook'], 'unknown role "cook"; choose from scheduler, poller, relay'],
    [['usersig', '--identifier', 'administrator'], "required option '--sdkappid <id>' not specified"],
    [['usersig', '--sdkappid', 'abc', '--identifier', 'a'], 'expected an integer from 1 to 4294967295'],
    [['simulator', '--churn', 'fast'], 'expected a rate such as "10" or "10/s"'],
    [['simulator', '--not-imported-share', '2'], 'expected a share from 0 to 1'],
    [['simulator', '--state-field', 'Mood'], 'Allowed choices are Status, State'],
    [['query'], "missing required argument 'userId'"],
    [['snapshot'], "required option '-w, --watchlist <name>' not specified"],
  ])('%j', async (argv, message) => {
    const io = captureIo();
    expect(await runCli(argv, io)).toBe(EXIT_CODES.usage);
    expect(io.err()).toContain(message);
  });
});

describe('usersig', () => {
  it('prints a UserSig that verifies with the key, and a credential warning on stderr', async () => {
    const io = captureIo({ TENCENT_IM_SECRET_KEY: DEFAULT_SIMULATOR_APP.secretKey });
    const code = await runCli(
      ['usersig', '--sdkappid', '1400000000', '--identifier', 'administrator', '--ttl', '600'],
      io,
    );
    expect(code).toBe(0);
    const userSig = io.out().trim();
    expect(userSig).not.toContain('\n');
    const verified = verifyUserSig(userSig, {
      sdkAppId: 1_400_000_000,
      identifier: 'administrator',
      secretKey: DEFAULT_SIMULATOR_APP.secretKey,
    });
    expect(verified).toMatchObject({ ok: true, content: { expireSec: 600 } });
    expect(io.err()).toMatch(/^WARNING: this UserSig is a credential/);
    expect(io.err()).not.toContain(userSig);
  });

  it('exits 3 naming the variable when the secret key is not set', async () => {
    const io = captureIo({});
    const code = await runCli(['usersig', '--sdkappid', '1400000000', '--identifier', 'administrator'], io);
    expect(code).toBe(EXIT_CODES.config);
    expect(io.out()).toBe('');
    expect(io.err()).toContain('set the environment variable TENCENT_IM_SECRET_KEY');
  });
});

describe('check-config', () => {
  it('exits 0 and summarizes apps and watchlists for a valid tree', async () => {
    const root = writeTree();
    const io = captureIo(SECRET_ENV, root);
    expect(await runCli(['check-config', '--config', 'presence.yaml'], io)).toBe(0);
    expect(io.out()).toContain('demo  sdkAppId 1400000000  http://127.0.0.1:8089  cap 200 calls/s');
    expect(io.out()).toMatch(/vip +app demo {2}2 users {2}every 5s \(min 1s\)/);
    expect(io.out()).toContain('configuration OK');
    expect(io.out()).not.toContain(SECRET_ENV.TENCENT_IM_SECRET_KEY);
  });

  it('exits 3 with every issue as file:line:column', async () => {
    const root = writeTree({ 'watchlists/vip.yaml': 'name: vip\ninterval: 5\nusers: [alice]\n' });
    const io = captureIo(SECRET_ENV, root);
    expect(await runCli(['check-config', '-c', 'presence.yaml'], io)).toBe(EXIT_CODES.config);
    expect(io.out()).toMatch(/^watchlists\/vip\.yaml:2:11 {2}interval {2}a duration needs a unit/m);
    expect(io.out()).toContain('configuration invalid: 1 error');
  });

  it('exits 3 when presence.yaml does not exist', async () => {
    const io = captureIo(SECRET_ENV, writeTree());
    expect(await runCli(['check-config', '--config', 'missing.yaml'], io)).toBe(EXIT_CODES.config);
    expect(io.out()).toContain('missing.yaml');
  });
});

describe('commands that load the config', () => {
  it.each([
    [['query', 'alice']],
    [['tail', '--max-events', '1']],
    [['snapshot', '--watchlist', 'vip']],
    [['run']],
  ])('%j exits 3 with the issues on stderr when the config is invalid', async (argv) => {
    const root = writeTree({ 'presence.yaml': 'apps:\n  - sdkAppId: 0\n    endpoint: http://127.0.0.1:1\n' });
    const io = captureIo(SECRET_ENV, root);
    expect(await runCli([...argv, '--config', 'presence.yaml'], io)).toBe(EXIT_CODES.config);
    expect(io.err()).toMatch(/^error: invalid configuration \(\d+ errors?\):\npresence\.yaml:2:/);
  });
});
