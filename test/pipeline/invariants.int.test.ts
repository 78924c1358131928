import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/ops/logger.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { createTencentClient, type OnlineStatusClient } from '../../src/tencent/index.js';
import { collectRecords } from '../helpers/kafka-events.js';
import {
  simulatorApp,
  startTestService,
  startTestSimulator,
  testConfig,
  userIds,
} from '../helpers/pipeline.js';
import { onTeardown, testKafka } from '../helpers/services.js';
import { spawnWorker } from '../helpers/spawn-worker.js';
import { waitFor } from '../helpers/wait-for.js';

describe('invariants', () => {
  it('chunking: every call carries 1..500 distinct IDs and every member is in exactly one chunk per sweep', async () => {
    const simulator = await startTestSimulator({
      seed: 31,
      population: { size: 1_234, notImportedShare: 0 },
    });
    const calls: string[][] = [];
    const config = testConfig([simulatorApp(simulator)], [{ name: 'odd-size', userIds: userIds(1_234) }]);
    const service = await startTestService(config, {
      createClient: (app, transport): OnlineStatusClient => {
        const client = createTencentClient({ ...app, transport });
        return {
          queryOnlineStatus: (userIds, options) => {
            calls.push([...userIds]);
            return client.queryOnlineStatus(userIds, options);
          },
          close: () => client.close(),
        };
      },
    });
    onTeardown(() => service.stop());
    await waitFor(() => calls.length >= 9, {
      timeoutMs: 20_000,
      description: 'three sweeps of three chunks',
    });
    await service.stop();

    for (const call of calls) {
      expect(call.length).toBeGreaterThanOrEqual(1);
      expect(call.length).toBeLessThanOrEqual(500);
      expect(new Set(call).size).toBe(call.length);
    }
    const firstSweep = calls.slice(0, 3).flat().sort();
    expect(
      calls
        .slice(0, 3)
        .map((c) => c.length)
        .sort(),
    ).toEqual([234, 500, 500]);
    expect(firstSweep).toEqual(userIds(1_234).sort());
  });

  it('secrets: the key and UserSigs appear in no log line, metric or event, even when Tencent rejects them', async () => {
    const simulator = await startTestSimulator({ seed: 32, population: { size: 600, notImportedShare: 0 } });
    const goodApp = simulatorApp(simulator);
    const wrongKey = 'a-wrong-secret-key-0123456789abcdef0123456789';
    let logText = '';
    const logger = createLogger({
      level: 'debug',
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          logText += chunk.toString();
          done();
        },
      }),
    });
    const metrics = createMetrics();
    // One watchlist per app: the good one publishes, the one signed with a wrong key is refused (70009/70003).
    const config = testConfig([goodApp], [{ name: 'all', userIds: userIds(600) }]);
    const service = await startTestService(config, { logger, metrics });
    onTeardown(() => service.stop());
    const collector = await collectRecords(testKafka(), [config.kafka.topics.transitions]);
    await waitFor(() => collector.records.length >= 600, { timeoutMs: 20_000, description: 'events' });

    const badConfig = testConfig(
      [{ ...goodApp, secretKey: wrongKey }],
      [{ name: 'all', userIds: userIds(600) }],
    );
    const badService = await startTestService(badConfig, { logger, metrics, roles: ['scheduler', 'poller'] });
    onTeardown(() => badService.stop());
    await waitFor(() => logText.includes('rejected the configuration'), {
      timeoutMs: 20_000,
      description: 'the fatal error log',
    });
    await badService.stop();

    const exported = await metrics.registry.metrics();
    const events = JSON.stringify(collector.records);
    for (const text of [logText, exported, events]) {
      expect(text).not.toContain(goodApp.secretKey);
      expect(text).not.toContain(wrongKey);
      expect(text).not.toMatch(/usersig=(?!\[redacted\])/i);
      expect(text).not.toMatch(/eJ[wxyz][0-9A-Za-z*_-]{40,}/); // a zlib-compressed UserSig starts with eJ.
    }
    expect(exported).toMatch(/presence_tencent_errors_total\{[^}]*kind="fatal_config"/);
  });

  it('one relay per app: a second relay waits, and takes over when the holder is killed', async () => {
    const simulator = await startTestSimulator({ seed: 33, population: { size: 200, notImportedShare: 0 } });
    const config = testConfig([simulatorApp(simulator)], [{ name: 'all', userIds: userIds(200) }]);
    const holder = await spawnWorker(config, ['scheduler', 'poller', 'relay']);
    const collector = await collectRecords(testKafka(), [config.kafka.topics.transitions]);
    await waitFor(() => collector.records.length >= 200, {
      timeoutMs: 30_000,
      description: 'snapshots via the first relay',
    });

    const standby = await startTestService(config, { roles: ['relay'] });
    onTeardown(() => standby.stop());
    const standbyRelay = standby.apps[0]!.relay!;
    expect(standbyRelay.isLeader).toBe(false);

    await holder.kill();
    const userId = simulator.importedUserIds()[0]!;
    const pollers = await startTestService(config, { roles: ['scheduler', 'poller'] });
    onTeardown(() => pollers.stop());
    simulator.setUserState(userId, simulator.getUserState(userId)!.state === 'Online' ? 'Offline' : 'Online');
    await waitFor(() => standbyRelay.isLeader, {
      timeoutMs: 20_000,
      description: 'the standby to take the lease',
    });
    await waitFor(
      () =>
        collector
          .events(config.kafka.topics.transitions)
          .some((e) => e.userId === userId && e.kind === 'transition'),
      {
        timeoutMs: 20_000,
        description: 'the transition published by the new relay',
      },
    );
  }, 90_000);
});
