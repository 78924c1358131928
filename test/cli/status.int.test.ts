import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { appKeys } from '../../src/redis/keys.js';
import type { StatusReport } from '../../src/roles/status.js';
import { DEFAULT_SIMULATOR_APP, startSimulator, type Simulator } from '../../src/simulator/index.js';
import { onTeardown, testRedisUrl } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';
import { runCliProcess, startCli, type CliProcess } from './cli-process.js';
import { writeConfigDir, type ConfigDir } from './config-dir.js';

const KEY_ENV = { TENCENT_IM_SECRET_KEY: DEFAULT_SIMULATOR_APP.secretKey };
const SDK_APP_ID = 1_400_000_000;
const ids = (count: number) => Array.from({ length: count }, (_, i) => `u${String(i).padStart(6, '0')}`);

/**
 * `status` and `GET /status` against a running `run` process: what they report must be what Redis holds (the sweep
 * hash, the outbox, the relay lease), and the credentials must follow the calls' outcomes.
 */
describe('presence-poller status', () => {
  let simulator: Simulator;
  let config: ConfigDir;
  let service: CliProcess;
  let opsUrl: string;
  let redis: Redis;

  beforeAll(async () => {
    simulator = await startSimulator({ seed: 7, population: { size: 1_200, notImportedShare: 0 } });
    onTeardown(() => simulator.close());
    config = writeConfigDir(simulator.url, {
      alpha: `name: alpha\ninterval: 1s\nusers: [${ids(1_200).join(', ')}]\n`,
      beta: `name: beta\ninterval: 2s\nusers: [${ids(10).join(', ')}]\n`,
    });
    redis = new Redis(testRedisUrl());
    onTeardown(() => redis.quit());
    service = startCli(['run', '--config', config.configPath], KEY_ENV);
    const [line] = await service.waitForOutput(/^.*presence-poller running.*$/m);
    opsUrl = (JSON.parse(line) as { http: string }).http;
  });

  const fetchStatus = async (): Promise<StatusReport> => {
    const response = await fetch(`${opsUrl}/status`);
    expect(response.status).toBe(200);
    return (await response.json()) as StatusReport;
  };

  it('GET /status shows accepted credentials, a relay holder and completed sweeps while the service runs', async () => {
    await waitFor(
      async () => {
        const app = (await fetchStatus()).apps[0]!;
        return (
          app.credentials.state === 'accepted' &&
          app.relay.holder !== null &&
          app.watchlists.every((list) => list.sweepsCompleted >= 2)
        );
      },
      { timeoutMs: 60_000, description: 'two completed sweeps of each watchlist in /status' },
    );
    const app = (await fetchStatus()).apps[0]!;
    expect(app).toMatchObject({ name: 'demo', sdkAppId: SDK_APP_ID });
    expect(app.relay.holder).toMatch(/^[^:]+:\d+:[0-9a-f]{8}$/);
    expect(app.watchlists.map((list) => [list.name, list.members, list.chunks, list.intervalMs])).toEqual([
      ['alpha', 1_200, 3, 1_000],
      ['beta', 10, 1, 2_000],
    ]);
    expect(app.credentials.lastFailure).toBeNull();
  });

  it('status --json reports what Redis holds (read after the service stopped, so nothing moves)', async () => {
    service.signal('SIGTERM');
    expect((await service.exited).code).toBe(0);
    const result = await runCliProcess(['status', '--json', '--config', config.configPath], KEY_ENV);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as StatusReport;
    const keys = appKeys(config.prefix, SDK_APP_ID);
    const app = report.apps[0]!;
    for (const list of app.watchlists) {
      const sweep = await redis.hgetall(keys.sweep(list.name));
      expect(list).toMatchObject({
        lastSweepCompletedAt: new Date(Number(sweep.lastCompletedAt)).toISOString(),
        lastSweepDurationMs: Number(sweep.lastDurationMs),
        sweepsStarted: Number(sweep.started),
        sweepsCompleted: Number(sweep.completed),
        skippedTicks: Number(sweep.skipped ?? 0),
        chunksGivenUp: Number(sweep.givenUp ?? 0),
        nextDueAt: new Date(Number(sweep.lastTickAt) + list.intervalMs).toISOString(),
      });
    }
    expect(app.outbox.entries).toBe(await redis.xlen(keys.outbox));
    const calls = await redis.hgetall(keys.callStatus);
    expect(app.credentials.lastOkAt).toBe(new Date(Number(calls.lastOkAt)).toISOString());
    // A clean stop gives the relay lease up.
    expect(app.relay.holder).toBe(await redis.get(keys.relayLease));

    const table = await runCliProcess(['status', '--config', config.configPath], KEY_ENV);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/app demo \(1400000000\)\n {2}credentials {2}accepted/);
    expect(table.stdout).toMatch(/^ {2}alpha +1200 +1 s +[\d.]+ s ago/m);
  });

  it('shows rejected credentials, the Tencent code and what to check after calls with a wrong key', async () => {
    startCli(['run', '--config', config.configPath], { TENCENT_IM_SECRET_KEY: 'not-the-key' });
    await waitFor(
      async () => {
        const result = await runCliProcess(['status', '--json', '--config', config.configPath], KEY_ENV);
        return (JSON.parse(result.stdout) as StatusReport).apps[0]!.credentials.state === 'rejected';
      },
      { timeoutMs: 60_000, description: 'credentials rejected in status' },
    );
    const result = await runCliProcess(['status', '--json', '--config', config.configPath], KEY_ENV);
    const { lastFailure } = (JSON.parse(result.stdout) as StatusReport).apps[0]!.credentials;
    expect(lastFailure).toMatchObject({ kind: 'fatal_config' });
    expect(lastFailure!.hint).toContain('secret key');
    expect(result.stdout).not.toContain('not-the-key');
  });
});
