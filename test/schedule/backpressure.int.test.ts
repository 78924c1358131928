import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/ops/logger.js';
import { createMetrics } from '../../src/ops/metrics.js';
import {
  simulatorApp,
  startTestService,
  startTestSimulator,
  testConfig,
  userIds,
} from '../helpers/pipeline.js';
import { onTeardown } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';
import { captureLogLines } from '../ops/log-lines.js';

describe('outbox backpressure', () => {
  it('defers sweeps while the outbox is over its bound, and sweeps again once a relay drained it', async () => {
    const simulator = await startTestSimulator({ seed: 23, population: { size: 300, notImportedShare: 0 } });
    const users = userIds(300);
    const config = testConfig([simulatorApp(simulator)], [{ name: 'all', userIds: users }]);
    // The first sweep's 300 snapshots put the outbox over the bound at once.
    config.redis.outboxMaxEntries = 100;

    // Scheduler and poller only: nothing drains the outbox yet.
    const capture = captureLogLines();
    const metrics = createMetrics();
    const poller = await startTestService(config, {
      roles: ['scheduler', 'poller'],
      logger: createLogger({ level: 'info', destination: capture.stream }),
      metrics,
    });
    onTeardown(() => poller.stop());
    const decisions: string[] = [];
    poller.events.on('sweepDecided', ({ decision }) => decisions.push(decision));
    const { redis, keys, sweeps } = poller.apps[0]!;

    await waitFor(() => decisions.filter((d) => d === 'deferred').length >= 3, {
      timeoutMs: 30_000,
      description: 'three deferred sweeps',
    });
    expect(await redis.xlen(keys.outbox)).toBe(users.length);
    // Deferred ticks start no sweep: only the first one ran, and its events are all the outbox holds.
    expect((await sweeps.stats('all')).started).toBe(1);
    const deferredCount = async () =>
      (await metrics.sweeps.get()).values
        .filter((v) => v.labels.decision === 'deferred')
        .reduce((sum, v) => sum + v.value, 0);
    expect(await deferredCount()).toBeGreaterThanOrEqual(3);
    const engaged = capture.lines().filter((line) => String(line.msg).includes('new sweeps are deferred'));
    // Logged once when it engages, not on every deferred tick.
    expect(engaged).toHaveLength(1);
    expect(engaged[0]).toMatchObject({ outbox: users.length, outboxMaxEntries: 100 });

    // A relay in a process of its own drains the outbox; the poller's next tick starts a sweep again.
    const relay = await startTestService(config, { roles: ['relay'] });
    onTeardown(() => relay.stop());
    const startsBefore = decisions.filter((d) => d === 'start').length;
    await waitFor(() => decisions.filter((d) => d === 'start').length > startsBefore, {
      timeoutMs: 30_000,
      description: 'a sweep started after the relay drained the outbox',
    });
    expect((await sweeps.stats('all')).started).toBeGreaterThanOrEqual(2);
    expect(Number(await redis.hget(keys.relayState, 'published'))).toBeGreaterThanOrEqual(users.length);
    expect(capture.lines().some((line) => String(line.msg).includes('sweeps resume'))).toBe(true);
  });
});
