import { describe, expect, it } from 'vitest';
import { judgeReplication, readReplication } from '../../src/redis/durability.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { onTeardown, testRedis } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

describe('what redis.waitForReplicas needs from Redis, read at start', () => {
  it('counts the replicas in sync of a master, and names a master that refuses WAIT', async () => {
    const master = await startRedisServer();
    onTeardown(() => master.destroy());
    const replica = await startRedisServer({ extraArgs: ['--replicaof', '127.0.0.1', String(master.port)] });
    onTeardown(() => replica.destroy());
    const withoutWait = await startRedisServer({ extraArgs: ['--rename-command', 'WAIT', ''] });
    onTeardown(() => withoutWait.destroy());

    const onMaster = testRedis({ maxRetriesPerRequest: 0 }, master.url);
    await waitFor(async () => (await readReplication(onMaster))[0]!.onlineReplicas === 1, {
      description: 'the replica in sync',
    });
    const [node] = await readReplication(onMaster);
    expect(node).toEqual({ server: `127.0.0.1:${master.port}`, role: 'master', onlineReplicas: 1 });
    expect(judgeReplication(node!, 1)).toEqual([]);
    expect(judgeReplication(node!, 2)).toEqual([
      expect.objectContaining({ severity: 'warn', setting: 'redis.waitForReplicas', value: '2' }),
    ]);

    // A replica is judged by its master's entry, not its own.
    const [asReplica] = await readReplication(testRedis({ maxRetriesPerRequest: 0 }, replica.url));
    expect(asReplica).toMatchObject({ role: 'slave', onlineReplicas: 0 });
    expect(judgeReplication(asReplica!, 1)).toEqual([]);

    const [refusing] = await readReplication(testRedis({ maxRetriesPerRequest: 0 }, withoutWait.url));
    expect(refusing?.waitRefused).toMatch(/unknown command/i);
    expect(judgeReplication(refusing!, 1)).toEqual([
      expect.objectContaining({ severity: 'refuse', message: expect.stringMatching(/refuses WAIT/) }),
    ]);
    // Nothing is asked of Redis without the setting.
    expect(judgeReplication(refusing!, 0)).toEqual([]);
  });
});
