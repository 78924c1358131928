import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SIMULATOR_APP, startSimulator, type Simulator } from '../../src/simulator/index.js';
import { startKafkaBroker } from '../helpers/kafka-broker.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { onTeardown } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';
import { startCli, type CliProcess } from './cli-process.js';
import { writeConfigDir } from './config-dir.js';

const KEY_ENV = { TENCENT_IM_SECRET_KEY: DEFAULT_SIMULATOR_APP.secretKey };
const WATCHLIST = 'name: alpha\ninterval: 1s\nusers: [u000000, u000001, u000002]\n';

interface ReadyAnswer {
  status: number;
  body: {
    ready: boolean;
    checks: Record<string, { ok: boolean; reason?: string }>;
    dependencies?: Record<string, string>;
  };
}

/** `run` as a child process; resolves with its ops URL once the start-up line is printed. */
async function startService(args: string[], env: Record<string, string>) {
  const service = startCli(['run', ...args, '--shutdown-timeout', '10s'], env);
  const [line] = await service.waitForOutput(/^.*presence-poller running.*$/m);
  return { service, url: (JSON.parse(line) as { http: string }).http };
}

async function readyz(url: string, timeoutMs = 10_000): Promise<ReadyAnswer> {
  const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: (await res.json()) as ReadyAnswer['body'] };
}

async function callsOk(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = /^presence_tencent_calls_total\{[^}]*outcome="ok"[^}]*\} (\d+)/m.exec(text);
  return Number(match?.[1] ?? 0);
}

const stop = async (service: CliProcess) => {
  service.signal('SIGTERM');
  await service.exited;
};

/**
 * `/readyz` follows what the roles do, from memory: false while Tencent refuses the key, true while Kafka is down
 * and polling goes on, and answering while Redis hangs (no dependency call behind the probe).
 */
describe('readiness of run', () => {
  let simulator: Simulator;
  beforeAll(async () => {
    simulator = await startSimulator({ seed: 15, population: { size: 20, notImportedShare: 0 } });
    onTeardown(() => simulator.close());
  });

  it('is false with a wrong secret key, naming the refusal', async () => {
    const config = writeConfigDir(simulator.url, { alpha: WATCHLIST });
    const { service, url } = await startService(
      // Without the start-up call, which would refuse to start (test/cli/preflight.int.test.ts).
      ['--config', config.configPath, '--roles', 'scheduler,poller', '--no-preflight'],
      { TENCENT_IM_SECRET_KEY: 'not-the-key-of-this-app' },
    );
    const answer = await waitFor(
      async () => {
        const result = await readyz(url);
        return result.body.checks['credentials:demo']?.reason?.includes('70005') ? result : undefined;
      },
      { timeoutMs: 30_000, description: 'the credentials check failing with 70005' },
    );
    expect(answer.status).toBe(503);
    expect(answer.body.ready).toBe(false);
    expect(answer.body.checks['poller:demo']).toEqual({ ok: true });
    await stop(service);
  });

  it('answers while Redis hangs', async () => {
    const redis = await startRedisServer();
    onTeardown(() => redis.destroy());
    const config = writeConfigDir(simulator.url, { alpha: WATCHLIST });
    const { service, url } = await startService(
      ['--config', config.configPath, '--roles', 'scheduler,poller'],
      { ...KEY_ENV, PRESENCE__REDIS__URL: redis.url },
    );
    await waitFor(async () => (await readyz(url)).status === 200, {
      timeoutMs: 30_000,
      description: 'ready before Redis hangs',
    });
    redis.pause();
    try {
      // Both answer although every Redis command of the service now waits forever, and from what the roles last
      // did: a hang of a moment is no reason to turn unready (a probe that asked Redis would time out here).
      const answer = await readyz(url);
      expect(answer.status).toBe(200);
      expect(answer.body.ready).toBe(true);
      const health = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) });
      expect(health.status).toBe(200);
    } finally {
      redis.resume();
    }
    await stop(service);
  });

  describe('with Kafka down', () => {
    let broker: Awaited<ReturnType<typeof startKafkaBroker>>;
    beforeAll(async () => {
      broker = await startKafkaBroker();
    }, 120_000);
    afterAll(() => broker.destroy(), 60_000);

    it('stays ready while polling goes on into the outbox', async () => {
      const config = writeConfigDir(simulator.url, { alpha: WATCHLIST });
      const { service, url } = await startService(['--config', config.configPath], {
        ...KEY_ENV,
        KAFKA_BROKERS: broker.brokers.join(','),
      });
      await waitFor(async () => (await readyz(url)).status === 200, {
        timeoutMs: 30_000,
        description: 'ready with Kafka up',
      });
      await broker.stop();
      const before = await callsOk(url);
      await waitFor(async () => (await callsOk(url)) >= before + 5, {
        timeoutMs: 30_000,
        description: 'calls accepted after Kafka went down',
      });
      const answer = await readyz(url);
      expect(answer).toEqual({
        status: 200,
        body: {
          ready: true,
          checks: {
            'credentials:demo': { ok: true },
            'scheduler:demo': { ok: true },
            'poller:demo': { ok: true },
            'state:demo': { ok: true },
            'relay:demo': { ok: true },
          },
          // Kafka's state is reported, not judged.
          dependencies: { 'redis:demo': 'ready', kafka: expect.any(String) },
        },
      });
      await stop(service);
    });
  });
});
