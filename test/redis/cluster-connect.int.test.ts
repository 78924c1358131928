import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient, type RedisClient } from '../../src/redis/client.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { onTeardown } from '../helpers/services.js';

const ATTEMPTS = 20;

describe('Redis Cluster client while a master is gone', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    onTeardown(() => cluster.destroy());
    await cluster.nodes[0]!.kill();
  });
  const clients: RedisClient[] = [];
  afterAll(() => {
    for (const client of clients) client.disconnect();
  });

  it('connect() settles every time (BullMQ awaits it to reconnect a worker)', async () => {
    // With ioredis's ready check, about one connect in four went to the gone master, failed, reconnected by itself
    // and never settled its promise (redis/client.ts).
    const outcomes: string[] = [];
    for (let i = 0; i < ATTEMPTS; i++) {
      const client = createRedisClient(
        { url: '', cluster: { nodes: cluster.seeds } },
        { maxRetriesPerRequest: null },
        { lazyConnect: true },
      );
      client.on('error', () => undefined);
      clients.push(client);
      let timer: NodeJS.Timeout | undefined;
      outcomes.push(
        await Promise.race([
          client.connect().then(
            () => 'connected',
            (error: Error) => `failed: ${error.message}`,
          ),
          new Promise<string>((resolve) => (timer = setTimeout(() => resolve('never settled'), 5_000))),
        ]),
      );
      clearTimeout(timer);
      expect(client.status).toBe('ready');
    }
    expect(outcomes).toEqual(Array.from({ length: ATTEMPTS }, () => 'connected'));
  }, 150_000);
});
