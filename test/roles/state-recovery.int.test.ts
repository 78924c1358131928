import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { PresenceEvent } from '@presence-poller/events';
import { createMetrics, type Metrics } from '../../src/ops/metrics.js';
import { appKeys } from '../../src/redis/keys.js';
import { decodeRecord } from '../../src/state/record.js';
import { startObservedPipeline, type ObservedPipeline } from '../helpers/observed-pipeline.js';
import { startTestService } from '../helpers/pipeline.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { onTeardown } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

/** A private Redis without persistence: FLUSHALL stands for a restart that lost everything. */
async function volatileRedis(): Promise<{ url: string; client: Redis }> {
  const server = await startRedisServer({ appendOnly: false });
  onTeardown(() => server.destroy());
  const client = new Redis(server.url);
  onTeardown(() => client.quit());
  return { url: server.url, client };
}

/** Every eventId must always name the same event: a reuse with other content makes a deduping consumer drop it. */
function reusedEventIds(events: readonly PresenceEvent[]): string[] {
  const contents = new Map<string, string>();
  const reused = new Set<string>();
  for (const event of events) {
    const content = JSON.stringify(event);
    const before = contents.get(event.eventId);
    if (before !== undefined && before !== content) reused.add(event.eventId);
    contents.set(event.eventId, content);
  }
  return [...reused];
}

function epochsPerUser(events: readonly PresenceEvent[]): Map<string, Set<string>> {
  const epochs = new Map<string, Set<string>>();
  for (const event of events) {
    const set = epochs.get(event.userId) ?? new Set<string>();
    set.add(event.epoch);
    epochs.set(event.userId, set);
  }
  return epochs;
}

async function counterValue(metrics: Metrics, name: string): Promise<number> {
  const family = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (family?.values ?? []).reduce((sum, sample) => sum + sample.value, 0);
}

/** Changes a fifth of the users and waits until the published stream matches the ground truth again. */
async function changeAndWait(run: ObservedPipeline, round: number): Promise<void> {
  run.changeUsers(round, 5);
  await waitFor(() => run.compare().mismatches.length === 0, {
    timeoutMs: 90_000,
    description: `round ${round}: every change published, nothing else`,
  });
}

describe('Redis that lost its data heals from the state topic', () => {
  it('detects a loss while running, restores states, seq and epochs, and polls on without a false event', async () => {
    const redis = await volatileRedis();
    const metrics = createMetrics();
    const run = await startObservedPipeline({
      seed: 41,
      users: 300,
      redisUrl: redis.url,
      service: { metrics, lossCheckIntervalMs: 500 },
    });
    await run.waitForSnapshots(60_000);
    await changeAndWait(run, 0);

    await redis.client.flushall();
    // Changes made while Redis is empty and while it heals are published after it, in the same epoch.
    await changeAndWait(run, 1);
    await changeAndWait(run, 2);

    const report = run.compare();
    expect(report.mismatches).toEqual([]);
    expect(report.outOfOrder).toEqual([]);
    expect(reusedEventIds(run.published())).toEqual([]);
    const multipleEpochs = [...epochsPerUser(run.published())].filter(([, epochs]) => epochs.size > 1);
    expect(multipleEpochs).toEqual([]);
    expect(await counterValue(metrics, 'presence_redis_data_losses_total')).toBe(1);
    expect(await counterValue(metrics, 'presence_states_restored_total')).toBe(run.users.length);
    expect(await counterValue(metrics, 'presence_state_recovering')).toBe(0);
  }, 240_000);

  it('restores at start-up when the service starts against a Redis that lost everything', async () => {
    const redis = await volatileRedis();
    const run = await startObservedPipeline({ seed: 43, users: 200, redisUrl: redis.url });
    await run.waitForSnapshots(60_000);
    await changeAndWait(run, 0);
    await run.service!.stop();

    await redis.client.flushall();
    const keys = appKeys(run.config.redis.prefix, run.config.apps[0]!.sdkAppId);
    const restarted = await startTestService(run.config);
    onTeardown(() => restarted.stop());
    // Before the first sweep after the restart, each user's record carries the last published seq and epoch.
    const lastPublished = new Map(run.published().map((event) => [event.userId, event]));
    for (const userId of run.users.slice(0, 20)) {
      const record = await redis.client.hget(keys.stateBucketOf(userId), userId);
      expect(record).not.toBeNull();
      const stored = decodeRecord(record!);
      expect({ seq: stored.seq, epoch: stored.epoch }).toEqual({
        seq: lastPublished.get(userId)!.seq,
        epoch: lastPublished.get(userId)!.epoch,
      });
    }
    await changeAndWait(run, 1);

    const report = run.compare();
    expect(report.mismatches).toEqual([]);
    expect(report.outOfOrder).toEqual([]);
    expect(reusedEventIds(run.published())).toEqual([]);
    expect(await redis.client.exists(keys.generation)).toBe(1);
  }, 240_000);
});
