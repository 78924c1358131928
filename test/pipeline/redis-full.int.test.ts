import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/ops/logger.js';
import { startObservedPipeline } from '../helpers/observed-pipeline.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { onTeardown, testRedis } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';
import { captureLogLines } from '../ops/log-lines.js';

describe('a full Redis (maxmemory reached with noeviction: every write refused with OOM)', () => {
  it('backs off without flooding the log, says so in readiness, and publishes every change in order once Redis has room', async () => {
    const redisServer = await startRedisServer({ appendOnly: true });
    onTeardown(() => redisServer.destroy());
    const capture = captureLogLines();
    const run = await startObservedPipeline({
      seed: 21,
      users: 1_000,
      simulator: { latency: { minMs: 20, maxMs: 60 } },
      redisUrl: redisServer.url,
      service: { logger: createLogger({ destination: capture.stream, level: 'warn' }) },
    });
    const service = run.service!;
    let replaced = 0;
    service.events.on('workerReplaced', () => replaced++);
    const admin = testRedis({}, redisServer.url);
    await run.waitForSnapshots();

    const changed = run.changeUsers(0, 4);
    await run.waitForCalls(1, 'a sweep in flight');
    await admin.config('SET', 'maxmemory', '1');
    changed.push(...run.changeUsers(1, 4));
    // The poller stops taking jobs and readiness says so.
    await waitFor(
      () => service.health.readiness().checks[`poller:${run.config.apps[0]!.sdkAppId}`]?.ok === false,
      {
        timeoutMs: 20_000,
        description: 'the poller reported not taking jobs',
      },
    );
    // Five seconds of refusals (the fault lasting, not a wait for an outcome): BullMQ's fetch loop alone failed
    // ~4,000 times a second before the back-off, each failure one log line.
    const linesAtFull = capture.rawLines().length;
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const linesWhileFull = capture.rawLines().length - linesAtFull;
    expect(linesWhileFull).toBeLessThan(50);
    expect(
      capture
        .lines()
        .some((line) => String(line.msg).startsWith('Redis refuses writes (out of memory or disk)')),
    ).toBe(true);

    await admin.config('SET', 'maxmemory', '0');
    // Resumed by its own back-off (at most 15 s), not by the watchdog replacing a worker that looked stuck (30 s).
    await waitFor(() => run.published().length >= run.states.size + changed.length, {
      timeoutMs: 60_000,
      description: 'every change, once Redis has room',
    });
    expect(replaced).toBe(0);
    await waitFor(() => service.health.readiness().ready, { description: 'ready again' });
    const report = run.compare();
    expect(report.mismatches).toEqual([]);
    expect(report.outOfOrder).toEqual([]);
  }, 180_000);
});
