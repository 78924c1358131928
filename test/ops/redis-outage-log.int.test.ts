import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/ops/logger.js';
import { DEFAULT_SIMULATOR_APP } from '../../src/simulator/index.js';
import {
  simulatorApp,
  startTestService,
  startTestSimulator,
  testConfig,
  userIds,
} from '../helpers/pipeline.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { onTeardown } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';
import { captureLogLines, type LogLine } from './log-lines.js';

const OUTAGE_MS = 15_000;

/** Every error object anywhere in a line (under err, error, or a cause chain). */
function errorsIn(
  value: unknown,
  found: Array<Record<string, unknown>> = [],
): Array<Record<string, unknown>> {
  if (value === null || typeof value !== 'object') return found;
  const record = value as Record<string, unknown>;
  if (typeof record.type === 'string' && 'stack' in record) found.push(record);
  for (const child of Object.values(record)) errorsIn(child, found);
  return found;
}

describe('logs of a Redis outage under a running service', () => {
  const consoleError = vi.spyOn(console, 'error');
  afterAll(() => consoleError.mockRestore());

  it('logs the outage as start, summaries and end, in valid JSON lines without secrets', async () => {
    const redis = await startRedisServer();
    onTeardown(() => redis.destroy());
    const simulator = await startTestSimulator({ population: { size: 200, notImportedShare: 0 } });
    const capture = captureLogLines();
    const config = testConfig([simulatorApp(simulator)], [{ name: 'vip', userIds: userIds(200) }], redis.url);
    const service = await startTestService(config, {
      logger: createLogger({ level: 'info', destination: capture.stream }),
      outageSummaryIntervalMs: 3_000,
    });
    onTeardown(() => service.stop());
    const callsBefore = () => simulator.stats().calls;
    await waitFor(() => callsBefore() >= 2, { description: 'polling before the outage' });

    await redis.stop();
    const outageLines = (state: string) => capture.lines().filter((line) => line.outage === state);
    await waitFor(() => outageLines('started').length > 0, { description: 'the outage start line' });
    // The outage itself: Redis stays down this long whatever the service does.
    await sleep(OUTAGE_MS);
    await redis.start();
    await waitFor(() => outageLines('ended').length > 0, {
      timeoutMs: 30_000,
      description: 'the outage end line',
    });
    const callsAfterOutage = callsBefore();
    await waitFor(() => callsBefore() > callsAfterOutage + 2, { description: 'polling after the outage' });
    await service.stop();

    // Every line: valid JSON, no key twice in one object (parseLogLine throws otherwise).
    const lines: LogLine[] = capture.lines();
    const redisLines = lines.filter((line) => line.dependency === 'redis');
    expect(redisLines.map((line) => line.outage).filter((state) => state !== 'ongoing')).toEqual([
      'started',
      'ended',
    ]);
    const [started] = outageLines('started');
    const summaries = outageLines('ongoing');
    const [ended] = outageLines('ended');
    expect(started).toMatchObject({ level: 40, app: String(DEFAULT_SIMULATOR_APP.sdkAppId) });
    // Which failure comes first depends on timing: a reset or closed socket as the server goes, a refusal after.
    expect((started!.err as { message?: string }).message).toMatch(
      /ECONNREFUSED|ECONNRESET|EPIPE|Connection is closed|timed out/,
    );
    // A summary at most every 3 s over a 15 s outage: at least one, never one per reconnect attempt.
    expect(summaries.length).toBeGreaterThanOrEqual(1);
    expect(summaries.length).toBeLessThanOrEqual(Math.floor(Number(ended!.downForMs) / 3_000));
    for (const summary of summaries) {
      expect(summary).toMatchObject({ failures: expect.any(Number), retries: expect.any(Number) });
      expect(summary.lastError).toEqual(expect.any(String));
    }
    expect(Number(ended!.failures)).toBeGreaterThan(summaries.length);

    // Apart from the outage lines, a few warnings at most (a scheduler repaired after the gap, a relay lease
    // changing hands), never one per failure: the outage had hundreds.
    const other = lines.filter((line) => line.dependency !== 'redis' && Number(line.level) >= 40);
    expect(other.length).toBeLessThan(10);
    expect(Number(ended!.failures)).toBeGreaterThan(10 * 10);

    // Errors carry their message and stack.
    const errors = lines.flatMap((line) => errorsIn(line));
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) {
      expect(error.message).toEqual(expect.any(String));
      expect(error.stack).toEqual(expect.stringContaining(String(error.message)));
    }

    // No secret key, no UserSig (zlib-deflated JSON in base64 starts with eJ), no usersig= value.
    const text = capture.rawLines().join('\n');
    expect(text).not.toContain(DEFAULT_SIMULATOR_APP.secretKey);
    expect(text).not.toMatch(/eJ[wxy][A-Za-z0-9*_-]{20,}/);
    expect(text).not.toMatch(/usersig=(?!\[redacted\])/i);

    // No connection was left without an error listener (ioredis would print "Unhandled error event").
    const printed = consoleError.mock.calls.map((args) => args.map(String).join(' '));
    expect(printed.filter((line) => /Unhandled error event|ECONNREFUSED/.test(line))).toEqual([]);
  });
});
