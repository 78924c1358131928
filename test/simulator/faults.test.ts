import { describe, expect, it } from 'vitest';
import { createFaultPlan, RETRYABLE_CODES } from '../../src/simulator/faults.js';
import { createRng } from '../../src/simulator/prng.js';

describe('createFaultPlan', () => {
  it('serves queued faults in order, then none', () => {
    const plan = createFaultPlan(createRng(1));
    plan.enqueue(['http502', { kind: 'timeout', delayMs: 50 }, 'malformed']);
    expect(plan.queued).toBe(3);
    expect([plan.next(), plan.next(), plan.next(), plan.next()]).toEqual([
      { kind: 'http502' },
      { kind: 'timeout', delayMs: 50 },
      { kind: 'malformed' },
      undefined,
    ]);
  });

  it('rotates the retryable codes unless one is given', () => {
    const plan = createFaultPlan(createRng(1));
    plan.enqueue(['retryable', 'retryable', { kind: 'retryable', errorCode: 90994 }, 'retryable']);
    expect([plan.next(), plan.next(), plan.next(), plan.next()].map((f) => f?.errorCode)).toEqual([
      RETRYABLE_CODES[0],
      RETRYABLE_CODES[1],
      90994,
      RETRYABLE_CODES[2],
    ]);
  });

  it('injects by probability when the queue is empty, deterministically per seed', () => {
    const sample = (seed: number) => {
      const plan = createFaultPlan(createRng(seed), { http502: 0.1, malformed: 0.05 });
      return Array.from({ length: 10_000 }, () => plan.next()?.kind ?? 'none');
    };
    const kinds = sample(4);
    expect(kinds).toEqual(sample(4));
    const share = (k: string) => kinds.filter((x) => x === k).length / kinds.length;
    expect(share('http502')).toBeGreaterThan(0.08);
    expect(share('http502')).toBeLessThan(0.12);
    expect(share('malformed')).toBeGreaterThan(0.03);
    expect(share('malformed')).toBeLessThan(0.06);
  });

  it('draws latency uniformly in [minMs, maxMs]', () => {
    const plan = createFaultPlan(createRng(2), {}, { minMs: 10, maxMs: 20 });
    const samples = Array.from({ length: 2_000 }, () => plan.latencyMs());
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...samples)).toBeLessThanOrEqual(20);
    expect(samples.reduce((a, b) => a + b, 0) / samples.length).toBeCloseTo(15, 0);
  });

  it('refuses unknown kinds and out-of-range rates or latency', () => {
    const plan = createFaultPlan(createRng(1));
    expect(() => plan.setRates({ http502: 1.5 })).toThrow(RangeError);
    expect(() => plan.setRates({ ['bogus' as 'http502']: 0.1 })).toThrow(/unknown fault kind/);
    expect(() => plan.setLatency({ minMs: 5, maxMs: 1 })).toThrow(RangeError);
  });

  it('clear() drops the queue and the rates', () => {
    const plan = createFaultPlan(createRng(1), { reset: 1 });
    plan.enqueue(['http502']);
    plan.clear();
    expect(plan.next()).toBeUndefined();
  });
});
