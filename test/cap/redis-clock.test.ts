import { describe, expect, it } from 'vitest';
import { createRedisClock } from '../../src/cap/redis-clock.js';

// Redis's clock runs 1,000,000 ms ahead of the local one in these examples.
const OFFSET = 1_000_000;

describe('the Redis clock estimate', () => {
  it('trusts the sample with the shortest round trip, whichever order they come in', () => {
    const clock = createRedisClock(8);
    // Redis read its clock 1 ms after the request left, but the reply came back 20 ms later (a busy event loop).
    clock.observe(100, 121, 101 + OFFSET);
    expect(clock.toLocal(500 + OFFSET)).toBeCloseTo(509.5);
    clock.observe(200, 200.4, 200.2 + OFFSET);
    clock.observe(300, 330, 329 + OFFSET);
    expect(clock.toLocal(500 + OFFSET)).toBeCloseTo(500);
  });

  it('forgets a best sample once it leaves the window, so drift cannot accumulate', () => {
    const clock = createRedisClock(3);
    clock.observe(0, 0.2, 0.1 + OFFSET);
    // The two clocks have drifted 2 ms apart since; these samples are noisier but current.
    clock.observe(10, 11, 12.5 + OFFSET);
    clock.observe(20, 21, 22.5 + OFFSET);
    expect(clock.toLocal(100 + OFFSET)).toBeCloseTo(100);
    clock.observe(30, 31.5, 32.75 + OFFSET);
    expect(clock.toLocal(100 + OFFSET)).toBeCloseTo(98);
  });

  it('refuses to map a time before it has any sample', () => {
    expect(() => createRedisClock().toLocal(1)).toThrow('no Redis clock sample');
  });
});
