import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { findFreePort } from './ports.js';
import { startRedisServer, type RedisServer } from './redis-server.js';
import { waitFor } from './wait-for.js';

const run = promisify(execFile);

export interface RedisCluster {
  /**
   * Every node, each a private redis-server with AOF (appendfsync always) in its own directory: the masters first,
   * then their replicas (`replicas`).
   */
  nodes: RedisServer[];
  /** Seed URLs for `redis.cluster.nodes`. */
  seeds: string[];
  /** The master that holds a slot, as the slot map stood at the start or at the last `refreshSlots`. */
  masterOf(slot: number): RedisServer;
  /** The replica of a master (with `replicas`). */
  replicaOf(master: RedisServer): RedisServer;
  /** Reads the slot map again (after a failover). */
  refreshSlots(): Promise<void>;
  /**
   * Resolves once every node sees every slot served and knows every other node (after a start, or after a node came
   * back): not while a node is stopped.
   */
  waitHealthy(timeoutMs?: number): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * A local Redis Cluster of `masters` masters, on free loopback ports: `redis-server --cluster-enabled yes` per
 * node, joined by `redis-cli --cluster create`. No Docker. Without replicas the slots of a stopped master stay its
 * own and come back with it and its AOF; `cluster-require-full-coverage no` lets the other masters answer for their
 * slots meanwhile, as a production cluster should for apps on other shards. With `replicas: 1` each master has a
 * replica that can take its slots over (`CLUSTER FAILOVER` on the replica, or the master's failure).
 */
export async function startRedisCluster(masters = 3, { replicas = 0 } = {}): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
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
    await run('redis-cli', [
      '--cluster',
      'create',
      ...addresses,
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ]);
  } catch (error) {
    await Promise.all(nodes.map((node) => node.destroy()));
    throw error;
  }

  let ranges: Array<{ from: number; to: number; node: RedisServer; replica?: RedisServer }> = [];
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
  const nodeAt = (port: number) => nodes.find((candidate) => candidate.port === port)!;
  // A node that stands for the others: one that answers (a test may have stopped any one of them).
  const refreshSlots = async () => {
    for (const node of nodes) {
      const slots = await ask(node, (client) => client.call('CLUSTER', 'SLOTS')).catch(() => undefined);
      if (!Array.isArray(slots)) continue;
      ranges = (
        slots as Array<[number, number, [string, number, ...unknown[]], ...Array<[string, number]>]>
      ).map(([from, to, [, port], replica]) => ({
        from,
        to,
        node: nodeAt(port),
        ...(replica ? { replica: nodeAt(replica[1]) } : {}),
      }));
      return;
    }
    throw new Error('no node of the Redis Cluster answers CLUSTER SLOTS');
  };
  await waitHealthy();
  // Replicas show in CLUSTER SLOTS once they have synced with their master.
  await waitFor(
    async () => {
      await refreshSlots();
      return ranges.every((range) => replicas === 0 || range.replica !== undefined);
    },
    {
      timeoutMs: 30_000,
      intervalMs: 100,
      description: 'every master of the Redis Cluster to have its replica',
    },
  );

  return {
    nodes,
    seeds: nodes.map((node) => node.url),
    masterOf(slot) {
      const range = ranges.find((candidate) => slot >= candidate.from && slot <= candidate.to);
      if (!range) throw new RangeError(`no master serves slot ${slot}`);
      return range.node;
    },
    replicaOf(master) {
      const replica = ranges.find((range) => range.node === master)?.replica;
      if (!replica) throw new RangeError(`the node on port ${master.port} is no master with a replica`);
      return replica;
    },
    refreshSlots,
    waitHealthy,
    async destroy() {
      await Promise.all(nodes.map((node) => node.destroy()));
    },
  };
}

/** One command (or a few) on one node of a cluster, over a connection of its own that fails rather than retries. */
export async function ask<T>(node: RedisServer, command: (client: Redis) => Promise<T>): Promise<T> {
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
}

/** The node's replication role (`master`, `slave`), or undefined when it does not answer. */
export async function roleOf(node: RedisServer): Promise<string | undefined> {
  const info = await ask(node, (client) => client.info('replication')).catch(() => '');
  return /role:(\w+)/.exec(info)?.[1];
}
