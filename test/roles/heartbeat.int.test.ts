import { decodeHeartbeat, strictHeartbeatSchema } from '@presence-poller/events';
import { describe, expect, it } from 'vitest';
import { collectRecords } from '../helpers/kafka-events.js';
import {
  simulatorApp,
  startTestService,
  startTestSimulator,
  testConfig,
  userIds,
} from '../helpers/pipeline.js';
import { onTeardown, testKafka } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

describe('heartbeat', () => {
  it("publishes presence.heartbeat/1 per app, keyed by SDKAppID, with each watchlist's last sweep and the outbox", async () => {
    const simulator = await startTestSimulator({ seed: 3, population: { size: 600, notImportedShare: 0 } });
    const config = testConfig(
      [simulatorApp(simulator)],
      [
        { name: 'alpha', userIds: userIds(600) },
        { name: 'beta', userIds: userIds(20), intervalMs: 2_000 },
      ],
    );
    config.heartbeat = { intervalMs: 300 };
    const service = await startTestService(config);
    onTeardown(() => service.stop());
    const collector = await collectRecords(testKafka(), [config.kafka.topics.heartbeat]);
    const heartbeats = () =>
      collector.records.map((record) => ({
        key: record.key,
        heartbeat: decodeHeartbeat({ value: Buffer.from(JSON.stringify(record.value)) }),
        raw: record.value,
      }));

    await waitFor(
      () =>
        heartbeats().some(({ heartbeat }) =>
          heartbeat?.watchlists.every((list) => list.lastSweepCompletedAt !== null),
        ),
      { timeoutMs: 60_000, description: 'a heartbeat after the first sweep of every watchlist' },
    );
    for (const { key, heartbeat, raw } of heartbeats()) {
      expect(strictHeartbeatSchema.safeParse(raw).error).toBeUndefined();
      expect(key).toBe(String(config.apps[0]!.sdkAppId));
      expect(heartbeat).toMatchObject({ sdkAppId: config.apps[0]!.sdkAppId, intervalMs: 300 });
      expect(heartbeat!.producer).toMatch(/^[^:]+:\d+$/);
      expect(heartbeat!.outbox.entries).toBeGreaterThanOrEqual(0);
    }
    const last = heartbeats().at(-1)!.heartbeat!;
    expect(last.watchlists.map((list) => [list.name, list.members, list.intervalMs])).toEqual([
      ['alpha', 600, 1_000],
      ['beta', 20, 2_000],
    ]);
  }, 120_000);
});
