import type { Cluster, Redis } from 'ioredis';
import { isCluster, masterOf, nodeKeyOf, type RedisClient } from '../redis/client.js';
import type { OutageLog } from './outage-log.js';

export interface WatchRedisOptions {
  /** Names the connection in outage lines (`commands`, `relay`, ...). */
  name: string;
  /** The outage log of the Redis server this connection reaches; several connections share one. */
  outage: OutageLog;
  /**
   * A key of the app (its hash tag), for a Redis Cluster: which master's failures are this connection's outage.
   * Without it a cluster's outage is reported only when the client loses every node.
   */
  key?: string;
}

/**
 * Reports a Redis connection's life through an outage log: `error` as a failure, `reconnecting` as a retry, `ready`
 * as a success, `end` (no more reconnects) as closed. With its `error` listener in place, ioredis no longer prints
 * "Unhandled error event" stacks as plain text.
 *
 * @returns a function that removes the listeners again.
 */
export function watchRedis(redis: RedisClient, { name, outage, key }: WatchRedisOptions): () => void {
  let watching = true;
  const listeners: Record<string, Parameters<Cluster['on']>[1]> = {
    error: (error: Error) => outage.failure(error, name),
    reconnecting: () => outage.retry(name),
    ready: () => outage.success(name),
    end: () => outage.closed(name),
  };
  if (key !== undefined && isCluster(redis)) {
    // A cluster client stays `ready` while one master is gone: it reports that node's errors as `node error` and
    // makes a new connection to it (`+node`) for each retry, until one becomes ready when the master is back.
    const isOwnMaster = (nodeKey: string) => masterOf(redis, key) === nodeKey;
    Object.assign(listeners, {
      'node error': (error: Error, nodeKey: string) => {
        if (isOwnMaster(nodeKey)) outage.failure(error, name);
      },
      '+node': (node: Redis) => {
        if (!isOwnMaster(nodeKeyOf(node))) return;
        if (outage.down) outage.retry(name);
        node.once('ready', () => {
          if (watching) outage.success(name);
        });
      },
    });
  }
  for (const [event, listener] of Object.entries(listeners)) redis.on(event, listener);
  return () => {
    watching = false;
    for (const [event, listener] of Object.entries(listeners)) redis.off(event, listener);
  };
}

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * True for errors that mean "Redis cannot be reached" rather than "this command failed": what BullMQ queues and
 * workers relay from their connections during an outage. Those belong in the outage log, not one line each.
 */
export function isRedisConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { code } = error as { code?: unknown };
  if (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) return true;
  if (error instanceof AggregateError) return error.errors.some(isRedisConnectionError);
  return /^Connection is closed\.?$|Stream isn't writeable|connect ETIMEDOUT/.test(error.message);
}

/**
 * True for Redis refusing writes while reachable: over `maxmemory` with `noeviction` (`OOM`), or unable to persist
 * (`MISCONF`: a full disk under the RDB or AOF). Every write fails alike until an operator makes room, so the
 * callers back off and report it once rather than retrying at once.
 */
export function isRedisRefusingWrites(error: unknown): boolean {
  // BullMQ wraps some (`Failed to add repeatable job for next iteration: OOM ...`).
  return error instanceof Error && /(^|: )(OOM|MISCONF) /.test(error.message);
}
