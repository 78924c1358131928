import { describe, expect, it } from 'vitest';
import { createPacer, type Pacer } from '../../src/cap/pacer.js';
import { maxInAnyWindow } from '../../src/simulator/index.js';
import { testRedis, uniqueName } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Takes `total` slots through `pacers`, each with `callersPerPacer` concurrent callers: the start times in order,
 * and each start's lateness after its slot.
 */
async function takeSlots(
  pacers: Pacer[],
  callersPerPacer: number,
  total: number,
): Promise<{ starts: number[]; lateness: number[] }> {
  const starts: number[] = [];
  const lateness: number[] = [];
  let remaining = total;
  await Promise.all(
    pacers.flatMap((pacer) =>
      Array.from({ length: callersPerPacer }, async () => {
        while (remaining-- > 0) {
          lateness.push(await pacer.acquire());
          starts.push(performance.now());
        }
      }),
    ),
  );
  return { starts: starts.sort((a, b) => a - b), lateness };
}

describe('the global pacer', () => {
  it('keeps starts from two processes (two connections) under the cap in every one-second window', async () => {
    const key = uniqueName('pacer');
    const cap = 50;
    const pacers = [
      createPacer(testRedis(), key, { callsPerSecond: cap }),
      createPacer(testRedis(), key, { callsPerSecond: cap }),
    ];
    // 20 concurrent callers per pacer, 150 starts in all: ~3 s at 50/s.
    const { starts } = await takeSlots(pacers, 20, 150);
    expect(starts).toHaveLength(150);
    expect(maxInAnyWindow(starts, 1_000)).toBeLessThanOrEqual(cap);
    // How near the cap the starts come is a timing figure: the benchmark's cap-utilization rows measure it.
  });

  it('leaves the configured margin of the cap unused', async () => {
    const pacer = createPacer(testRedis(), uniqueName('pacer'), { callsPerSecond: 50, callMargin: 0.2 });
    const { starts } = await takeSlots([pacer], 10, 41);
    expect(starts).toHaveLength(41);
    // 40 spacings of 1000 / (50 x 0.8) = 25 ms: 1,000 ms less the first start's lateness (at the default margin,
    // 816 ms).
    expect(starts.at(-1)! - starts[0]!).toBeGreaterThanOrEqual(950);
  });

  it('keeps late starts from bunching: no 1,015 ms window (margin less start slack) holds more than the cap', async () => {
    const key = uniqueName('pacer');
    const cap = 50;
    const pacers = [0, 1].map(() => createPacer(testRedis(), key, { callsPerSecond: cap }));
    // A busy event loop: every 23 ms it is blocked for 9 ms, so slot timers fire up to ~10 ms late (accepted,
    // under the 10 ms limit). Evenly spaced slots alone then put cap + 1 starts into 1,015 ms.
    const blocker = setInterval(() => {
      const until = performance.now() + 9;
      while (performance.now() < until);
    }, 23);
    const { starts, lateness: late } = await takeSlots(pacers, 10, 160).finally(() => clearInterval(blocker));
    expect(starts).toHaveLength(160);
    // The precondition, not a speed: the blocker did make starts late (a loaded machine makes more of them late).
    expect(late.filter((ms) => ms > 4).length).toBeGreaterThan(10);
    // 1,000 / 0.98 ms less the 5 ms start slack, less 1 ms: the starts above are taken a few microtasks after the
    // pacer's own.
    expect(maxInAnyWindow(starts, 1_000 / 0.98 - 5 - 1)).toBeLessThanOrEqual(cap);
  });

  it('records every actual start, the last one too when no reservation follows to carry it', async () => {
    const redis = testRedis();
    const key = uniqueName('pacer');
    // A slot is given back only after 10 s of lateness, so on however busy a machine the two calls hold
    // reservations 1 and 2, whose ring fields (reserve-call.lua) hold the provisional start, slot + 10 s, until the
    // actual start is reported.
    const pacer = createPacer(redis, key, { callsPerSecond: 50, maxLatenessMs: 10_000 });
    const startOf = async (seq: number) => Number(await redis.hget(key, `s${seq % 50}`));
    const redisNowUs = async () => {
      const [seconds, micros] = await redis.time();
      return Number(seconds) * 1_000_000 + Number(micros);
    };
    await pacer.acquire();
    const firstStartedBy = await redisNowUs();
    await pacer.acquire();
    const secondStartedBy = await redisNowUs();
    expect(await redis.hget(key, 'seq')).toBe('2');
    // The first start rides on the second reservation (or goes alone after 50 ms), the last goes alone: each is
    // recorded, at most when its acquire had returned (the provisional start is ~10 s later; 1 s of margin for the
    // local clock's mapping onto Redis's).
    await waitFor(async () => (await startOf(1)) < firstStartedBy + 1_000_000, {
      description: "the first call's start recorded",
    });
    await waitFor(async () => (await startOf(2)) < secondStartedBy + 1_000_000, {
      description: "the last call's start recorded without a reservation after it",
    });
  });

  it('pauses everyone after a rate-limit answer and runs slower until it recovers', async () => {
    const key = uniqueName('pacer');
    const pacer = createPacer(testRedis(), key, { callsPerSecond: 100, recoveryPerSecond: 0.01 });
    await pacer.acquire();
    expect(await pacer.penalize(300)).toBeCloseTo(0.9);
    const pausedFrom = performance.now();
    await pacer.acquire();
    expect(performance.now() - pausedFrom).toBeGreaterThanOrEqual(280);
    const started = performance.now();
    for (let i = 0; i < 20; i++) await pacer.acquire();
    // 20 calls at 90% of 100/s (less the 2% margin) take at least ~200 ms.
    expect(performance.now() - started).toBeGreaterThan(200);
  });

  it('gives the next slot to an urgent caller, not to the callers whose reservations were taken first', async () => {
    const pacer = createPacer(testRedis(), uniqueName('pacer'), { callsPerSecond: 50, lanes: 4 });
    const served: string[] = [];
    // Twelve sweep chunks queue first: all four lanes reserve slots for them (20 ms apart).
    const sweeps = Array.from({ length: 12 }, (_, i) =>
      pacer.acquire({ priority: 5 }).then(() => served.push(`sweep ${i}`)),
    );
    await waitFor(() => served.length >= 1, { intervalMs: 1, description: 'the first sweep slot' });
    const servedBefore = served.length;
    const urgent = pacer.acquire({ priority: 1 }).then(() => served.push('urgent'));
    await Promise.all([...sweeps, urgent]);
    // It takes the first slot that comes after it asked (one more may have been served before its promise ran);
    // were the reservations bound to the sweeps, it would come after the four already held for them.
    expect(served.indexOf('urgent')).toBeLessThanOrEqual(servedBefore + 1);
    expect(served).toHaveLength(13);
  });

  it('does not hand a slot to a caller that gave up, and serves the others', async () => {
    const pacer = createPacer(testRedis(), uniqueName('pacer'), { callsPerSecond: 50, lanes: 2 });
    const controller = new AbortController();
    const givenUp = pacer.acquire({ signal: controller.signal });
    const others = [pacer.acquire(), pacer.acquire(), pacer.acquire()];
    controller.abort(new Error('chunk obsolete'));
    await expect(givenUp).rejects.toThrow('chunk obsolete');
    await expect(Promise.all(others)).resolves.toHaveLength(3);
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
