import { describe, expect, it } from 'vitest';
import { mapLimited } from '../../src/schedule/chunk-job.js';

describe('mapLimited (the chunks of a job side by side)', () => {
  it('maps every item with at most `limit` running, in order', async () => {
    let running = 0;
    let most = 0;
    const results = await mapLimited([1, 2, 3, 4, 5], 2, async (n) => {
      running++;
      most = Math.max(most, running);
      await Promise.resolve();
      running--;
      return n * 10;
    });
    expect(results).toEqual([10, 20, 30, 40, 50]);
    expect(most).toBe(2);
  });

  it('after a failure starts nothing new and rejects only once the running items settled', async () => {
    const started: number[] = [];
    let releaseSecond!: () => void;
    let secondSettled = false;
    const outcome = mapLimited([1, 2, 3, 4], 2, async (n) => {
      started.push(n);
      if (n === 1) throw new Error('penalize failed');
      if (n === 2) {
        await new Promise<void>((resolve) => (releaseSecond = resolve));
        secondSettled = true;
      }
      return n;
    });
    let rejectedWhileRunning = false;
    outcome.catch(() => (rejectedWhileRunning = !secondSettled));
    await new Promise((resolve) => setImmediate(resolve));
    releaseSecond();
    await expect(outcome).rejects.toThrow('penalize failed');
    expect(rejectedWhileRunning).toBe(false);
    expect(started).toEqual([1, 2]);
  });
});
