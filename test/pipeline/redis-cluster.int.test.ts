import { readFileSync, writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SIMULATOR_APP } from '../../src/simulator/index.js';
import type { StatusReport } from '../../src/roles/status.js';
import { runCliProcess, startCli } from '../cli/cli-process.js';
import { writeConfigDir } from '../cli/config-dir.js';
import { startTestSimulator, userIds } from '../helpers/pipeline.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { onTeardown } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

describe('Redis Cluster: the service on a local three-master cluster', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    onTeardown(() => cluster.destroy());
  });

  it('`run` with redis.cluster checks every node, publishes, and `status` reads the cluster', async () => {
    const users = userIds(600);
    const simulator = await startTestSimulator({
      seed: 62,
      population: { size: users.length, notImportedShare: 0 },
    });
    const dir = writeConfigDir(simulator.url, {
      all: `name: all\ninterval: 1s\nusers: [${users.join(', ')}]\n`,
    });
    const yaml = readFileSync(dir.configPath, 'utf8');
    expect(yaml).toMatch(/^ {2}url: /m);
    writeFileSync(
      dir.configPath,
      yaml.replace(/^ {2}url: .*$/m, `  cluster:\n    nodes: [${cluster.seeds.join(', ')}]`),
    );
    const env = { TENCENT_IM_SECRET_KEY: DEFAULT_SIMULATOR_APP.secretKey };

    const service = startCli(['run', '--config', dir.configPath], env);
    const [line] = await service.waitForOutput(/^.*presence-poller running.*$/m);
    const opsUrl = (JSON.parse(line) as { http: string }).http;
    const appStatus = async () => ((await (await fetch(`${opsUrl}/status`)).json()) as StatusReport).apps[0]!;
    await waitFor(
      async () => {
        const app = await appStatus();
        return (
          app.relay.holder !== null && app.watchlists[0]!.sweepsCompleted >= 2 && app.outbox.entries === 0
        );
      },
      { timeoutMs: 60_000, description: 'a relay holder, two sweeps and an empty outbox in /status' },
    );
    // Every node was judged durable: no durability warning.
    expect(service.stdout()).not.toMatch(/appendfsync|appendonly|maxmemory-policy/);

    const status = await runCliProcess(['status', '--json', '--config', dir.configPath], env);
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout) as StatusReport;
    expect(report.apps[0]!.watchlists[0]!.members).toBe(users.length);
    expect(report.apps[0]!.relay.holder).not.toBeNull();

    service.signal('SIGTERM');
    expect((await service.exited).code).toBe(0);
  });
});
