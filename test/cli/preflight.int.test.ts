import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SIMULATOR_APP, startSimulator, type Simulator } from '../../src/simulator/index.js';
import { findFreePort } from '../helpers/ports.js';
import { onTeardown } from '../helpers/services.js';
import { logLines, runCliProcess, startCli } from './cli-process.js';
import { writeConfigDir } from './config-dir.js';

const KEY_ENV = { TENCENT_IM_SECRET_KEY: DEFAULT_SIMULATOR_APP.secretKey };
const WATCHLIST = 'name: alpha\ninterval: 1s\nusers: [u000000, u000001]\n';
// Kafka plays no part in the preflight: the relay role is left out.
const roles = ['--roles', 'scheduler,poller'];

/**
 * The start-up call per app: `run` exits 3 naming the Tencent code and its meaning when the credentials are refused,
 * starts with a warning when Tencent cannot be reached, and skips the call with `--no-preflight`.
 */
describe('run preflight', () => {
  let simulator: Simulator;
  beforeAll(async () => {
    simulator = await startSimulator({ seed: 16, population: { size: 10, notImportedShare: 0 } });
    onTeardown(() => simulator.close());
  });
  const run = (env: Record<string, string>, extra: string[] = []) => {
    const config = writeConfigDir(simulator.url, { alpha: WATCHLIST });
    return runCliProcess(['run', '--config', config.configPath, ...roles, ...extra], env);
  };

  it('exits 3 on a wrong secret key, naming 70005 and what to check', async () => {
    const result = await run({ TENCENT_IM_SECRET_KEY: 'not-the-key-of-this-app' });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(
      /app "demo" \(SDKAppID 1400000000\) was refused by Tencent at start-up: Tencent ErrorCode 70005: UserSig check failed; check the secret key/,
    );
    expect(result.stdout + result.stderr).not.toContain('not-the-key-of-this-app');
  });

  it('exits 3 when the identifier is not an app admin, naming 90009', async () => {
    const result = await run({ ...KEY_ENV, PRESENCE__APPS__0__IDENTIFIER: 'someone' });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('Tencent ErrorCode 90009: the identifier is not an app admin');
  });

  it('exits 3 when the UserSig is still refused as expired after renewing it, naming 70001 and the clock', async () => {
    simulator.injectFaults('expire-usersig', 'expire-usersig');
    const result = await run(KEY_ENV);
    simulator.clearFaults();
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('Tencent ErrorCode 70001: UserSig expired');
    expect(result.stderr).toContain('check the host clock and the key');
  });

  it('starts with a warning when Tencent cannot be reached', async () => {
    const config = writeConfigDir(`http://127.0.0.1:${await findFreePort()}`, { alpha: WATCHLIST });
    const service = startCli(['run', '--config', config.configPath, ...roles], KEY_ENV);
    await service.waitForOutput(/presence-poller running/);
    const warning = logLines(service.stdout()).find((line) => String(line.msg).startsWith('start-up call'));
    expect(warning).toMatchObject({ level: 40, kind: 'network' });
    service.signal('SIGTERM');
    expect((await service.exited).code).toBe(0);
  });

  it('is skipped with --no-preflight', async () => {
    const config = writeConfigDir(simulator.url, { alpha: WATCHLIST });
    const service = startCli(['run', '--config', config.configPath, ...roles, '--no-preflight'], {
      TENCENT_IM_SECRET_KEY: 'not-the-key-of-this-app',
    });
    await service.waitForOutput(/presence-poller running/);
    service.signal('SIGTERM');
    expect((await service.exited).code).toBe(0);
  });
});
