import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { appKeys } from '../../src/redis/keys.js';
import { POLL_QUEUE } from '../../src/schedule/jobs.js';
import { stallSettingsFor } from '../../src/schedule/stall-settings.js';
import { startObservedPipeline } from '../helpers/observed-pipeline.js';
import { onTeardown } from '../helpers/services.js';
import { spawnWorker } from '../helpers/spawn-worker.js';
import { waitFor } from '../helpers/wait-for.js';

const INTERVAL_MS = 2_000;

describe('a dead worker costs about one interval', () => {
  it('chunks of a SIGKILLed poller are taken over, and changes made after the kill are published', async () => {
    const run = await startObservedPipeline({
      seed: 17,
      users: 1_000,
      intervalMs: INTERVAL_MS,
      // Slow answers: the poller almost always has a chunk in flight when it is killed.
      simulator: { latency: { minMs: 600, maxMs: 900 } },
      service: { roles: ['scheduler', 'relay'] },
    });
    // The service's own stall settings, not the short ones the other crash tests use.
    const spawnPoller = () => spawnWorker(run.config, ['poller'], { PRESENCE_TEST_STALL: 'derived' });
    const first = await spawnPoller();
    await run.waitForSnapshots(60_000);

    const app = run.config.apps[0]!;
    const pollQueue = new Queue(POLL_QUEUE, {
      connection: { url: run.config.redis.url },
      prefix: appKeys(run.config.redis.prefix, app.sdkAppId).bullPrefix,
    });
    onTeardown(() => pollQueue.close());
    // Killed holding a chunk: its lock stays until it expires, and its sweep counts as running until then.
    await waitFor(async () => (await pollQueue.getActiveCount()) > 0, { description: 'a chunk in flight' });
    await first.kill();
    const changed = run.changeUsers(0, 5);
    await spawnPoller();

    // Takeover within lock + stalled check, then a sweep: ~2 intervals and the stall settings, with slack for a
    // loaded machine. BullMQ's defaults (30 s lock, checked every 30 s) leave the watchlist blind well past this.
    const { lockDurationMs, stalledIntervalMs } = stallSettingsFor([INTERVAL_MS]);
    const deadlineMs = 2 * INTERVAL_MS + lockDurationMs + stalledIntervalMs + 10_000;
    await waitFor(() => run.publishedCurrentStates(changed), {
      timeoutMs: deadlineMs,
      description: 'every change made after the kill published',
    });
    const report = run.compare();
    expect(report.mismatches).toEqual([]);
    expect(report.outOfOrder).toEqual([]);
  });
});

describe('stall settings', () => {
  it('follow the shortest interval within bounds', () => {
    expect(stallSettingsFor([2_000, 60_000])).toEqual({ lockDurationMs: 5_000, stalledIntervalMs: 1_000 });
    expect(stallSettingsFor([15_000])).toEqual({ lockDurationMs: 15_000, stalledIntervalMs: 7_500 });
    expect(stallSettingsFor([3_600_000])).toEqual({ lockDurationMs: 30_000, stalledIntervalMs: 30_000 });
    expect(stallSettingsFor([])).toEqual({ lockDurationMs: 30_000, stalledIntervalMs: 15_000 });
  });
});
