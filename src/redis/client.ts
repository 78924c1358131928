/**
 * Where every Redis connection of the service is made: one Redis (`redis.url`) or a Redis Cluster
 * (`redis.cluster.nodes`). Both speak the same commands to the rest of the code; what differs is here.
 *
 * On a cluster every key of an app shares the hash tag of redis/keys.ts, so each app's keys, scripts, pipelines and
 * BullMQ queues live on one shard, and a script's KEYS never cross slots.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

/** Where Redis is: the `url` and `cluster` of the `redis` setting (plain data, so a thread can receive it). */
export interface RedisTarget {
  url: string;
  cluster?: { nodes: readonly string[] } | undefined;
}

/**
 * While a shard's master restarts or fails over, its slots answer CLUSTERDOWN or its connection closes: commands
 * wait and retry, as they wait for a single Redis's reconnection, rather than fail. 150 tries 200 ms apart cover
 * about 30 s of CLUSTERDOWN, more than a replica's promotion (cluster-node-timeout plus an election). A master that
 * is simply gone costs two tries per round (another master's MOVED, then the refused connection): about 20 s
 * (measured 19 to 22 s on a local three-master cluster), enough for a restart with AOF; after that the command
 * fails and is retried by its caller like any Redis failure, and the shard's outage shows in its apps' outage log
 * (ops/watch-redis.ts).
 */
const CLUSTER_RETRIES: ClusterOptions = {
  retryDelayOnClusterDown: 200,
  retryDelayOnFailover: 200,
  retryDelayOnTryAgain: 200,
  maxRedirections: 150,
  // No ready check after connecting. ioredis's check (CLUSTER INFO) goes to any node; while a master is gone it
  // can go to that one and fail, and the client then reconnects by itself but never settles the promise `connect()`
  // returned (about one connect in four with one master of three down: test/redis/cluster-connect.int.test.ts).
  // BullMQ reconnects a worker's blocking connection with `connect()` and waits for it: the worker then took no job
  // again and could not be closed. Without the check the client is ready once it has the slots; a shard that is
  // down answers CLUSTERDOWN or refuses, which the retries above cover.
  enableReadyCheck: false,
};

/**
 * A client for the target. `options` are the connection options of each server (for a cluster, of each node);
 * `clusterOptions` add to or replace the cluster's own.
 */
export function createRedisClient(
  target: RedisTarget,
  options: RedisOptions = {},
  clusterOptions: Omit<ClusterOptions, 'redisOptions'> = {},
): RedisClient {
  if (!target.cluster) return new Redis(target.url, options);
  const seeds = target.cluster.nodes.map((node) => {
    const url = new URL(node);
    return { host: url.hostname, port: Number(url.port || 6379) };
  });
  return new Cluster(seeds, {
    ...CLUSTER_RETRIES,
    ...clusterOptions,
    // Discovered nodes get these options only, never a seed's URL: the credentials and TLS of the seeds (which
    // config/presence-checks.ts requires to agree) go here.
    redisOptions: { ...accessOf(target.cluster.nodes[0]!), ...options },
  });
}

function accessOf(node: string): RedisOptions {
  const url = new URL(node);
  return {
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

export function isCluster(client: RedisClient): client is Cluster {
  return (client as Cluster).isCluster === true;
}

/**
 * The servers behind a client, for what is asked of each server rather than of a key (CONFIG GET): the nodes of
 * a cluster the client knows (masters and replicas: a replica becomes a master on failover), or the one Redis.
 */
export function serversOf(client: RedisClient): Redis[] {
  return isCluster(client) ? client.nodes('all') : [client];
}

/**
 * The state of the connection that serves `key` (`ready` when commands on it can be answered now): the one Redis's,
 * or on a cluster that of the master holding the key's slot, so a shard that is down shows on its apps only.
 */
export function connectionStatusOf(client: RedisClient, key: string): string {
  if (!isCluster(client) || client.status !== 'ready') return client.status;
  const master = masterOf(client, key);
  const node = client.nodes('master').find((server) => nodeKeyOf(server) === master);
  return node?.status ?? 'unassigned';
}

/** `host:port` of the master that serves `key`'s slot, as the cluster client last learnt it. */
export function masterOf(cluster: Cluster, key: string): string | undefined {
  return cluster.slots[hashSlotOf(key)]?.[0];
}

/** `host:port` of a cluster node's connection: how the client names nodes in its slots and its `node error`s. */
export function nodeKeyOf(node: Redis): string {
  return `${node.options.host}:${node.options.port}`;
}

/** Redis Cluster's slot of a key (CRC16/XMODEM of its hash tag, or of the whole key without one, mod 16384). */
export function hashSlotOf(key: string): number {
  const bytes = Buffer.from(key);
  const open = bytes.indexOf(0x7b); // {
  const close = open < 0 ? -1 : bytes.indexOf(0x7d, open + 1); // }
  const hashed = close > open + 1 ? bytes.subarray(open + 1, close) : bytes;
  let crc = 0;
  for (const byte of hashed) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16_384;
}
