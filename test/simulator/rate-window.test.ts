import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/simulator/prng.js';
import { createRateWindow, maxInAnyWindow } from '../../src/simulator/rate-window.js';

describe('createRateWindow', () => {
  it('admits cap calls, rejects the next one inside the same second, and admits again exactly 1000 ms later', () => {
    const window = createRateWindow(3);
    expect([0, 100, 200].map((t) => window.tryAdmit(t))).toEqual([true, true, true]);
    expect(window.tryAdmit(999.999)).toBe(false);
    expect(window.tryAdmit(1_000)).toBe(true); // the call at 0 is no longer in (0, 1000]
    expect(window.tryAdmit(1_099)).toBe(false);
    expect(window.tryAdmit(1_100)).toBe(true);
    expect({ admitted: window.admitted, rejected: window.rejected, max: window.maxInAnyWindow }).toEqual({
      admitted: 5,
      rejected: 2,
      max: 3,
    });
  });

  it('does not count rejected calls towards the window', () => {
    const window = createRateWindow(2);
    window.tryAdmit(0);
    window.tryAdmit(500);
    for (let t = 600; t < 1_000; t += 10) expect(window.tryAdmit(t)).toBe(false);
    expect(window.tryAdmit(1_000)).toBe(true);
  });

  it('a burst of cap + N simultaneous calls admits exactly cap', () => {
    const window = createRateWindow(200);
    const admitted = Array.from({ length: 250 }, () => window.tryAdmit(42)).filter(Boolean).length;
    expect(admitted).toBe(200);
    expect(window.rejected).toBe(50);
    expect(window.maxInAnyWindow).toBe(200);
  });

  it.each([1, 5, 200])(
    'on random traffic (cap %i) is exact: admitted calls never exceed cap in any window, and every rejection had cap before it',
    (cap) => {
      const rng = createRng(cap);
      const window = createRateWindow(cap);
      const admitted: number[] = [];
      let t = 0;
      for (let i = 0; i < 20_000; i++) {
        t += rng.next() < 0.05 ? rng.next() * 800 : (rng.next() * 4_000) / cap;
        if (window.tryAdmit(t)) admitted.push(t);
        else {
          const inWindow = admitted.filter((a) => a > t - 1_000).length;
          expect(inWindow).toBe(cap);
        }
      }
      expect(maxInAnyWindow(admitted)).toBeLessThanOrEqual(cap);
      expect(window.maxInAnyWindow).toBe(maxInAnyWindow(admitted));
      expect(window.admitted).toBe(admitted.length);
    },
  );

  it('resetCounters() zeroes the counters but the cap still holds across it', () => {
    const window = createRateWindow(2);
    window.tryAdmit(0);
    window.tryAdmit(1);
    window.resetCounters();
    expect(window.tryAdmit(2)).toBe(false);
    expect({ admitted: window.admitted, rejected: window.rejected, max: window.maxInAnyWindow }).toEqual({
      admitted: 0,
      rejected: 1,
      max: 0,
    });
  });

  it('refuses a cap that is not a positive integer', () => {
    expect(() => createRateWindow(0)).toThrow(RangeError);
  });
});

describe('maxInAnyWindow', () => {
  it.each([
    [[], 0],
    [[5], 1],
    [[0, 999, 1_000], 2],
    [[0, 500, 999.9, 1_499, 1_500], 3],
    [[0, 500, 999.9, 1_000, 1_499], 4],
    [[3_000, 0, 2_000, 1_000], 1],
  ])('counts the busiest half-open second of %j as %i', (timestamps, expected) => {
    expect(maxInAnyWindow(timestamps)).toBe(expected);
  });
});
