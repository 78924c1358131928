import { beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, DEFAULT_SIMULATOR_APP, type Simulator } from '../../src/simulator/index.js';
import { createTencentClient, verifyUserSig } from '../../src/tencent/index.js';
import { onTeardown } from '../helpers/services.js';
import { runCliProcess, startCli } from './cli-process.js';
import { writeConfigDir, type ConfigDir } from './config-dir.js';

const KEY_ENV = { TENCENT_IM_SECRET_KEY: DEFAULT_SIMULATOR_APP.secretKey };

describe('presence-poller commands as child processes', () => {
  let simulator: Simulator;
  let config: ConfigDir;

  beforeAll(async () => {
    simulator = await startSimulator({ seed: 11, population: { size: 20, notImportedShare: 0 } });
    onTeardown(() => simulator.close());
    simulator.setUserState('u000001', 'Online');
    simulator.setUserState('u000002', 'Offline');
    config = writeConfigDir(simulator.url, { vip: 'name: vip\ninterval: 2s\nusers: [u000001, u000002]\n' });
  });

  it('--help lists the commands and the exit codes', async () => {
    const result = await runCliProcess(['--help']);
    expect(result.code).toBe(0);
    for (const command of [
      'run',
      'check-config',
      'query',
      'tail',
      'snapshot',
      'status',
      'simulator',
      'usersig',
    ]) {
      expect(result.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    }
    expect(result.stdout).toMatch(
      /Exit codes:\n {2}0 {2}success[\s\S]* {2}3 {2}invalid configuration[\s\S]* {2}4 {2}cannot reach/,
    );
  });

  it('an unknown command exits 2', async () => {
    const result = await runCliProcess(['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown command 'frobnicate'");
  });

  it('check-config exits 0 with a summary for a good config', async () => {
    const result = await runCliProcess(['check-config', '--config', config.configPath], KEY_ENV);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/vip +app demo {2}2 users {2}every 2s/);
    expect(result.stdout).toContain('configuration OK');
  });

  it('check-config exits 3 with file:line:column for a bad config', async () => {
    const bad = writeConfigDir(simulator.url, {
      vip: 'name: vip\ninterval: 2s\nusers: [u000001]\nintervall: 3s\n',
    });
    const result = await runCliProcess(['check-config', '--config', bad.configPath], KEY_ENV);
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(/watchlists\/vip\.yaml:4:1 {2}intervall {2}.*interval/);
    expect(result.stdout).toContain('configuration invalid: 1 error');
  });

  it('check-config exits 3 naming the variable when the secret key is missing', async () => {
    const result = await runCliProcess(['check-config', '--config', config.configPath]);
    expect(result.code).toBe(3);
    expect(result.stdout).toContain('environment variable TENCENT_IM_SECRET_KEY is not set');
  });

  it('usersig prints a verifiable UserSig and warns on stderr that it is a credential', async () => {
    const result = await runCliProcess(
      ['usersig', '--sdkappid', '1400000000', '--identifier', 'administrator', '--ttl', '3600'],
      KEY_ENV,
    );
    expect(result.code).toBe(0);
    const userSig = result.stdout.trim();
    const verified = verifyUserSig(userSig, {
      sdkAppId: 1_400_000_000,
      identifier: 'administrator',
      secretKey: DEFAULT_SIMULATOR_APP.secretKey,
    });
    expect(verified.ok).toBe(true);
    expect(result.stderr).toContain('WARNING: this UserSig is a credential');
  });

  it('usersig exits 3 when TENCENT_IM_SECRET_KEY is missing', async () => {
    const result = await runCliProcess([
      'usersig',
      '--sdkappid',
      '1400000000',
      '--identifier',
      'administrator',
    ]);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('TENCENT_IM_SECRET_KEY');
  });

  it('query prints a table from the simulator, with "not found" for an unknown account', async () => {
    const result = await runCliProcess(
      ['query', 'u000001', 'u000002', 'ghost', '--config', config.configPath],
      KEY_ENV,
    );
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      'USER     STATE      DEVICES',
      'u000001  Online',
      'u000002  Offline',
      'ghost    not found',
      '',
    ]);
  });

  it('query --json --detail prints states and devices as JSON', async () => {
    const result = await runCliProcess(
      ['query', 'u000001', 'ghost', '--json', '--detail', '--config', config.configPath],
      KEY_ENV,
    );
    expect(result.code).toBe(0);
    const rows = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    expect(rows).toEqual([
      {
        userId: 'u000001',
        state: 'Online',
        devices: simulator.getUserState('u000001')!.devices.filter((d) => d.status !== 'Offline'),
      },
      { userId: 'ghost', state: null, notFound: true, errorCode: 70107 },
    ]);
  });

  it('query splits more than 500 IDs into several calls', async () => {
    const callsBefore = simulator.stats().calls;
    const ids = Array.from({ length: 1_001 }, (_, i) => `x${i}`);
    const result = await runCliProcess(['query', ...ids, '--json', '--config', config.configPath], KEY_ENV);
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as unknown[]).length).toBe(1_001);
    expect(simulator.stats().calls - callsBefore).toBe(3);
  });

  it('query exits 4 when the endpoint cannot be reached', async () => {
    const result = await runCliProcess(['query', 'u000001', '--config', config.configPath], {
      ...KEY_ENV,
      PRESENCE__APPS__0__ENDPOINT: 'http://127.0.0.1:1',
    });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('ECONNREFUSED');
  });

  it('run exits 4 when Redis cannot be reached', async () => {
    const result = await runCliProcess(['run', '--config', config.configPath], {
      ...KEY_ENV,
      REDIS_URL: 'redis://127.0.0.1:1',
    });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('cannot reach Redis at redis://127.0.0.1:1');
  });

  it('snapshot exits 5 when the watchlist is not in Redis', async () => {
    const result = await runCliProcess(
      ['snapshot', '--watchlist', 'vip', '--config', config.configPath],
      KEY_ENV,
    );
    expect(result.code).toBe(5);
    expect(result.stderr).toContain('watchlist "vip" is not in Redis');
  });

  it('tail exits 5 with a clear message when the topic does not exist yet', async () => {
    const result = await runCliProcess(
      ['tail', '--topic', 'presence.no-such-topic', '--config', config.configPath],
      KEY_ENV,
    );
    expect(result.code).toBe(5);
    expect(result.stderr).toContain('topic presence.no-such-topic does not exist yet');
  });

  it('simulator serves query_online_status until SIGTERM, with the demo key when none is set', async () => {
    const cli = startCli(['simulator', '--port', '0', '--users', '30', '--seed', '5', '--churn', '0/s']);
    const [, url] = await cli.waitForOutput(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
    expect(cli.stderr()).toContain('TENCENT_IM_SECRET_KEY is not set');
    const client = createTencentClient({
      sdkAppId: DEFAULT_SIMULATOR_APP.sdkAppId,
      identifier: 'administrator',
      secretKey: DEFAULT_SIMULATOR_APP.secretKey,
      endpoint: url!,
    });
    try {
      const answer = await client.queryOnlineStatus(['u000001', 'nobody'], { detail: false });
      expect(answer.results.map((r) => r.userId)).toEqual(['u000001']);
      expect(answer.accountErrors).toEqual([{ userId: 'nobody', errorCode: 70107 }]);
    } finally {
      await client.close();
    }
    cli.signal('SIGTERM');
    const result = await cli.exited;
    expect(result.code).toBe(0);
  });
});
