import { describe, expect, it } from 'vitest';
import { createPacer } from '../../src/schedule/pacer.js';
import { maxInAnyWindow } from '../../src/simulator/index.js';
import { testRedis, uniqueName } from '../helpers/services.js';

describe('the global pacer', () => {
  it('keeps starts from two processes (two connections) under the cap in every one-second window, near the cap', async () => {
    const key = uniqueName('pacer');
    const cap = 50;
    const pacers = [
      createPacer(testRedis(), key, { callsPerSecond: cap }),
      createPacer(testRedis(), key, { callsPerSecond: cap }),
    ];
    const starts: number[] = [];
    // 20 concurrent callers per pacer, 150 starts in all: ~3 s at 50/s.
    let remaining = 150;
    await Promise.all(
      pacers.flatMap((pacer) =>
        Array.from({ length: 20 }, async () => {
          while (remaining-- > 0) {
            await pacer.acquire();
            starts.push(performance.now());
          }
        }),
      ),
    );
    starts.sort((a, b) => a - b);
    expect(starts).toHaveLength(150);
    expect(maxInAnyWindow(starts, 1_000)).toBeLessThanOrEqual(cap);
    const rate = ((starts.length - 1) / (starts.at(-1)! - starts[0]!)) * 1_000;
    expect(rate).toBeGreaterThan(cap * 0.9);
  });

  it('keeps late starts from bunching: no 1,020 ms window (the margin) holds more than the cap, and loses no pace', async () => {
    const key = uniqueName('pacer');
    const cap = 50;
    const late: number[] = [];
    const pacers = [0, 1].map(() =>
      createPacer(testRedis(), key, { callsPerSecond: cap, onStart: (ms) => late.push(ms) }),
    );
    // A busy event loop: every 23 ms it is blocked for 9 ms, so slot timers fire up to ~10 ms late. Evenly spaced
    // slots alone then put cap + 1 starts into 1,020 ms.
    const blocker = setInterval(() => {
      const until = performance.now() + 9;
      while (performance.now() < until);
    }, 23);
    const starts: number[] = [];
    let remaining = 160;
    try {
      await Promise.all(
        pacers.flatMap((pacer) =>
          Array.from({ length: 10 }, async () => {
            while (remaining-- > 0) {
              await pacer.acquire();
              starts.push(performance.now());
            }
          }),
        ),
      );
    } finally {
      clearInterval(blocker);
    }
    starts.sort((a, b) => a - b);
    expect(starts).toHaveLength(160);
    expect(late.filter((ms) => ms > 4).length).toBeGreaterThan(10);
    // 1,000 / 0.98 ms less 1 ms: the starts above are taken a few microtasks after the pacer's own.
    expect(maxInAnyWindow(starts, 1_000 / 0.98 - 1)).toBeLessThanOrEqual(cap);
    const rate = ((starts.length - 1) / (starts.at(-1)! - starts[0]!)) * 1_000;
    // The schedule catches up after each stall: lateness costs no pace.
    expect(rate).toBeGreaterThan(cap * 0.93);
  });

  it('pauses everyone after a rate-limit answer and runs slower until it recovers', async () => {
    const key = uniqueName('pacer');
    const cap = 20;
    const pacer = createPacer(testRedis(), key, { callsPerSecond: cap, recoveryPerSecond: 0.01 });
    await pacer.acquire();
    expect(await pacer.penalize(300)).toBeCloseTo(0.9);
    const pausedFrom = performance.now();
    await pacer.acquire();
    expect(performance.now() - pausedFrom).toBeGreaterThanOrEqual(280);
    const starts: number[] = [];
    for (let i = 0; i <= cap; i++) {
      await pacer.acquire();
      starts.push(performance.now());
    }
    // cap + 1 starts span at least one window: 1,020 ms at full speed, ~1,110 ms at a factor of ~0.92.
    expect(starts.at(-1)! - starts[0]!).toBeGreaterThan(1_070);
  });

  it('rejects with the abort reason when the caller gives up while waiting', async () => {
    const key = uniqueName('pacer');
    const pacer = createPacer(testRedis(), key, { callsPerSecond: 1 });
    await pacer.acquire();
    const controller = new AbortController();
    const waiting = pacer.acquire({ signal: controller.signal });
    controller.abort(new Error('shutting down'));
    await expect(waiting).rejects.toThrow('shutting down');
  });
});
