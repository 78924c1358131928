import { createServer } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SIMULATOR_APP, startSimulator, type Simulator } from '../../src/simulator/index.js';
import { startRedisServer, type RedisServerOptions } from '../helpers/redis-server.js';
import { onTeardown } from '../helpers/services.js';
import { logLines, runCliProcess, startCli } from './cli-process.js';
import { writeConfigDir } from './config-dir.js';

const KEY_ENV = { TENCENT_IM_SECRET_KEY: DEFAULT_SIMULATOR_APP.secretKey };
const WATCHLIST = 'name: alpha\ninterval: 1s\nusers: [u000000]\n';
// Kafka plays no part in these checks: the relay role is left out.
const ROLES = ['--roles', 'scheduler,poller'];

/**
 * What `run` checks before anything starts, and how it reports it: configuration problems exit 3, an unanswering
 * Redis exits 4 within a bound, a signal during the start exits 0, and the start-up line names the bound address.
 */
describe('run start-up checks', () => {
  let simulator: Simulator;
  beforeAll(async () => {
    simulator = await startSimulator({ seed: 17, population: { size: 5, notImportedShare: 0 } });
    onTeardown(() => simulator.close());
  });
  const configPath = () => writeConfigDir(simulator.url, { alpha: WATCHLIST }).configPath;
  const privateRedis = async (options: RedisServerOptions) => {
    const redis = await startRedisServer(options);
    onTeardown(() => redis.destroy());
    return redis;
  };
  const runWith = (env: Record<string, string>) =>
    runCliProcess(['run', '--config', configPath(), ...ROLES], { ...KEY_ENV, ...env });
  const stopped = async (service: ReturnType<typeof startCli>) => {
    service.signal('SIGTERM');
    return service.exited;
  };

  it('refuses to start when Redis may evict keys (exit 3)', async () => {
    const redis = await privateRedis({ extraArgs: ['--maxmemory-policy', 'allkeys-lru'] });
    const result = await runWith({ PRESENCE__REDIS__URL: redis.url });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('maxmemory-policy allkeys-lru');
    expect(result.stderr).toContain('set maxmemory-policy noeviction');
  });

  it('warns for appendfsync everysec and starts', async () => {
    const redis = await privateRedis({ extraArgs: ['--appendfsync', 'everysec'] });
    const service = startCli(['run', '--config', configPath(), ...ROLES], {
      ...KEY_ENV,
      PRESENCE__REDIS__URL: redis.url,
    });
    await service.waitForOutput(/presence-poller running/);
    expect(logLines(service.stdout()).find((line) => line.setting === 'appendfsync')).toMatchObject({
      level: 40,
      value: 'everysec',
    });
    expect((await stopped(service)).code).toBe(0);
  });

  it('refuses redis.waitForReplicas where Redis refuses WAIT (exit 3), warns where it has fewer replicas', async () => {
    const withoutWait = await privateRedis({ extraArgs: ['--rename-command', 'WAIT', ''] });
    const refused = await runWith({
      PRESENCE__REDIS__URL: withoutWait.url,
      PRESENCE__REDIS__WAITFORREPLICAS: '1',
    });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('Redis refuses WAIT');
    expect(refused.stderr).toContain('set redis.waitForReplicas: 0');

    const alone = await privateRedis({});
    const service = startCli(['run', '--config', configPath(), ...ROLES], {
      ...KEY_ENV,
      PRESENCE__REDIS__URL: alone.url,
      PRESENCE__REDIS__WAITFORREPLICAS: '1',
    });
    await service.waitForOutput(/presence-poller running/);
    expect(logLines(service.stdout()).find((line) => line.setting === 'redis.waitForReplicas')).toMatchObject(
      {
        level: 40,
        value: '1',
        msg: expect.stringMatching(/0 replica\(s\) in sync, fewer than redis.waitForReplicas 1/),
      },
    );
    expect((await stopped(service)).code).toBe(0);
  });

  it('refuses a Redis that hides CONFIG unless redis.skipDurabilityCheck is set', async () => {
    const redis = await privateRedis({ extraArgs: ['--rename-command', 'CONFIG', ''] });
    const refused = await runWith({ PRESENCE__REDIS__URL: redis.url });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('cannot read the Redis durability settings');
    expect(refused.stderr).toContain('redis.skipDurabilityCheck: true');

    const service = startCli(['run', '--config', configPath(), ...ROLES], {
      ...KEY_ENV,
      PRESENCE__REDIS__URL: redis.url,
      PRESENCE__REDIS__SKIPDURABILITYCHECK: 'true',
    });
    await service.waitForOutput(/presence-poller running/);
    expect(service.stdout()).toContain('continuing because redis.skipDurabilityCheck is set');
    expect((await stopped(service)).code).toBe(0);
  });

  it('exits 4 with a clear error when Redis accepts connections but never answers', async () => {
    const redis = await privateRedis({});
    redis.pause();
    try {
      const result = await runWith({ PRESENCE__REDIS__URL: redis.url });
      expect(result.code).toBe(4);
      expect(result.stderr).toContain(`cannot reach Redis at ${redis.url}: no answer within`);
    } finally {
      redis.resume();
    }
  });

  it('stops with exit 0 on SIGTERM while the start waits for Redis', async () => {
    const redis = await privateRedis({});
    redis.pause();
    try {
      const service = startCli(['run', '--config', configPath(), ...ROLES], {
        ...KEY_ENV,
        PRESENCE__REDIS__URL: redis.url,
      });
      await service.waitForOutput(/starting: ops on/);
      const result = await stopped(service);
      expect(result.code).toBe(0);
      expect(logLines(result.stdout).some((line) => line.msg === 'shutting down')).toBe(true);
    } finally {
      redis.resume();
    }
  });

  it('exits 3 naming http.port when the ops port is in use, before anything starts', async () => {
    const blocker = createServer();
    await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', done));
    onTeardown(() => new Promise((done) => blocker.close(done)));
    const port = (blocker.address() as { port: number }).port;
    const result = await runWith({ PRESENCE__HTTP__PORT: String(port) });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`http.port ${port} is already in use on 127.0.0.1`);
    expect(logLines(result.stdout).some((line) => String(line.msg).startsWith('start-up call'))).toBe(false);
  });

  it('exits 3 for an http.host that is not an address', async () => {
    const result = await runWith({ PRESENCE__HTTP__HOST: 'not a host!' });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/env:PRESENCE__HTTP__HOST\s+http\.host\s+must be an IP address/);
  });

  it('exits 3 for an http.host this machine does not have', async () => {
    const result = await runWith({ PRESENCE__HTTP__HOST: '192.0.2.1' });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('cannot listen on http.host 192.0.2.1');
  });

  it('prints the address actually bound in the start-up line', async () => {
    const service = startCli(['run', '--config', configPath(), ...ROLES], {
      ...KEY_ENV,
      PRESENCE__HTTP__HOST: '0.0.0.0',
    });
    const [line] = await service.waitForOutput(/^.*presence-poller running.*$/m);
    const startup = JSON.parse(line) as { listening: string; http: string; msg: string };
    expect(startup.listening).toMatch(/^0\.0\.0\.0:\d+$/);
    expect(startup.msg).toContain(`ops listening on ${startup.listening}`);
    expect((await fetch(`${startup.http}/healthz`)).status).toBe(200);
    expect((await stopped(service)).code).toBe(0);
  });
});
