import { EventEmitter } from 'node:events';
import type { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/ops/logger.js';
import { createOutageLog } from '../../src/ops/outage-log.js';
import { isRedisConnectionError, isRedisRefusingWrites, watchRedis } from '../../src/ops/watch-redis.js';
import { hashSlotOf } from '../../src/redis/client.js';
import { captureLogLines } from './log-lines.js';

const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), { code: 'ECONNREFUSED' });

describe('watchRedis', () => {
  it('reports error, reconnecting and ready of a connection through the outage log', () => {
    const capture = captureLogLines();
    const outage = createOutageLog({
      logger: createLogger({ destination: capture.stream }),
      dependency: 'redis',
    });
    // The connection's events as ioredis emits them; a real server outage is covered by the integration test.
    const connection = new EventEmitter();
    const unwatch = watchRedis(connection as unknown as Redis, { name: 'commands', outage });
    connection.emit('reconnecting', 50);
    connection.emit('error', refused());
    connection.emit('reconnecting', 100);
    connection.emit('error', refused());
    expect(outage.down).toBe(true);
    connection.emit('ready');
    expect(capture.lines().map((line) => [line.outage, line.failures, line.retries])).toEqual([
      ['started', undefined, undefined],
      ['ended', 2, 2],
    ]);
    unwatch();
    expect(connection.listenerCount('error')).toBe(0);
    expect(connection.listenerCount('ready')).toBe(0);
  });

  it("on a cluster, reports the failures of the master holding the app's key, not of other masters", () => {
    const capture = captureLogLines();
    const outage = createOutageLog({
      logger: createLogger({ destination: capture.stream }),
      dependency: 'redis',
    });
    // A cluster client as ioredis emits a lost master: `node error`s of that node, a new connection per retry
    // (`+node`), one of them `ready` when the master is back. The client itself stays `ready` throughout.
    const key = '{app}';
    const cluster = Object.assign(new EventEmitter(), {
      isCluster: true,
      slots: Object.assign([], { [hashSlotOf(key)]: ['127.0.0.1:7001'] }),
    });
    const node = (port: number) =>
      Object.assign(new EventEmitter(), { options: { host: '127.0.0.1', port } }) as unknown as Redis;
    const unwatch = watchRedis(cluster as unknown as Cluster, { name: 'commands', outage, key });
    cluster.emit('node error', refused(), '127.0.0.1:7002');
    expect(outage.down).toBe(false);
    cluster.emit('node error', refused(), '127.0.0.1:7001');
    expect(outage.down).toBe(true);
    const retried = node(7001);
    cluster.emit('+node', retried);
    cluster.emit('node error', refused(), '127.0.0.1:7001');
    const back = node(7001);
    cluster.emit('+node', back);
    back.emit('ready');
    expect(outage.down).toBe(false);
    expect(capture.lines().map((line) => [line.outage, line.failures, line.retries])).toEqual([
      ['started', undefined, undefined],
      ['ended', 2, 2],
    ]);
    unwatch();
    expect(cluster.listenerCount('node error')).toBe(0);
    expect(cluster.listenerCount('+node')).toBe(0);
  });
});

describe('isRedisConnectionError', () => {
  it('tells an unreachable Redis from a failed command', () => {
    expect(isRedisConnectionError(refused())).toBe(true);
    expect(isRedisConnectionError(new Error('Connection is closed.'))).toBe(true);
    expect(isRedisConnectionError(new AggregateError([refused()], ''))).toBe(true);
    expect(isRedisConnectionError(new Error('ERR unknown command'))).toBe(false);
    expect(isRedisConnectionError('ECONNREFUSED')).toBe(false);
  });
});

describe('isRedisRefusingWrites', () => {
  it("knows Redis's refusals for want of memory or disk, also wrapped by BullMQ, and nothing else", () => {
    const refusals = [
      "OOM command not allowed when used memory > 'maxmemory'.",
      'MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk.',
      "Failed to add repeatable job for next iteration: OOM command not allowed when used memory > 'maxmemory'.",
    ];
    for (const message of refusals) expect(isRedisRefusingWrites(new Error(message)), message).toBe(true);
    const others = ['ERR unknown command', 'NOPERM no permissions', 'Connection is closed.', 'BOOM OOM'];
    for (const message of others) expect(isRedisRefusingWrites(new Error(message)), message).toBe(false);
    expect(isRedisRefusingWrites('OOM as a string')).toBe(false);
  });
});
