import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { findFreePort } from './ports.js';
import { startRedisServer, type RedisServer } from './redis-server.js';
import { waitFor } from './wait-for.js';

const run = promisify(execFile);

export interface RedisCluster {
  /** The masters, each a private redis-server with AOF (appendfsync always) in its own directory. */
  nodes: RedisServer[];
  /** Seed URLs for `redis.cluster.nodes`. */
  seeds: string[];
  /** The master that holds a slot. */
  masterOf(slot: number): RedisServer;
  /** Resolves once every node sees every slot served (after a start, or after a node came back). */
  waitHealthy(timeoutMs?: number): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * A local Redis Cluster of `masters` masters and no replicas, on free loopback ports: `redis-server
 * --cluster-enabled yes` per node, joined by `redis-cli --cluster create`. No Docker. The slots of a stopped master
 * stay its own (no replica to promote) and come back with it and its AOF; `cluster-require-full-coverage no` lets
 * the other masters answer for their slots meanwhile, as a production cluster should for apps on other shards.
 */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  try {
    for (let i = 0; i < masters; i++) {
      // The bus port is chosen too: the default, port + 10000, may be taken.
      const busPort = await findFreePort();
      nodes.push(
        await startRedisServer({
          appendOnly: true,
          extraArgs: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-port',
            String(busPort),
            '--cluster-node-timeout',
            '2000',
            '--cluster-require-full-coverage',
            'no',
          ],
        }),
      );
    }
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes']);
  } catch (error) {
    await Promise.all(nodes.map((node) => node.destroy()));
    throw error;
  }

  const ask = async <T>(node: RedisServer, command: (client: Redis) => Promise<T>): Promise<T> => {
    const client = new Redis(node.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return await command(client);
    } finally {
      client.disconnect();
    }
  };
  const ranges: Array<{ from: number; to: number; node: RedisServer }> = [];
  const waitHealthy = async (timeoutMs = 30_000) => {
    await waitFor(
      async () => {
        for (const node of nodes) {
          const info = await ask(node, (client) => client.call('CLUSTER', 'INFO') as Promise<string>);
          if (!/cluster_state:ok/.test(info) || !/cluster_slots_ok:16384/.test(info)) return false;
          if (!new RegExp(`cluster_known_nodes:${nodes.length}\\b`).test(info)) return false;
        }
        return true;
      },
      { timeoutMs, intervalMs: 100, description: 'every node of the Redis Cluster to see all slots served' },
    );
  };
  await waitHealthy();
  const slots = (await ask(nodes[0]!, (client) => client.call('CLUSTER', 'SLOTS'))) as Array<
    [number, number, [string, number, ...unknown[]], ...unknown[]]
  >;
  for (const [from, to, [, port]] of slots) {
    const node = nodes.find((candidate) => candidate.port === port)!;
    ranges.push({ from, to, node });
  }

  return {
    nodes,
    seeds: nodes.map((node) => node.url),
    masterOf(slot) {
      const range = ranges.find((candidate) => slot >= candidate.from && slot <= candidate.to);
      if (!range) throw new RangeError(`no master serves slot ${slot}`);
      return range.node;
    },
    waitHealthy,
    async destroy() {
      await Promise.all(nodes.map((node) => node.destroy()));
    },
  };
}
