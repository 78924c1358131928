import { describe, expect, it } from 'vitest';
import { CHAOS_ACTIONS, runChaos } from '../../bench/chaos-run.js';

/**
 * The 60-second version of `npm run chaos` (RELIABILITY.md): three worker processes, a kill every 10 s, Kafka down
 * for 12 s, Redis restarted once with its AOF and once emptied, ~10 % API faults and a hot reload, judged against the
 * simulator's ground truth. It starts its own Redis and Kafka (it stops both), never the shared ones.
 * The emptied-Redis restart is left out: it loses outbox entries not yet relayed and restores no state
 * (RELIABILITY.md, known failures); `npm run chaos` still runs it.
 */
describe('chaos: the 60-second fault schedule', () => {
  it('loses, invents, reorders and reuses nothing, and never calls over the cap', async () => {
    const report = await runChaos({
      minutes: 1,
      seed: 1,
      only: CHAOS_ACTIONS.filter((action) => action !== 'redis-restart-empty'),
    });

    expect(report.schedule.every((action) => action.doneAtMs !== undefined)).toBe(true);
    expect(report.counts.workerKills).toBeGreaterThan(0);
    expect(report.counts.faultsInjected).toBeGreaterThan(0);
    expect(report.counts.mustSee).toBeGreaterThan(0);
    expect(report.samples.lost).toEqual([]);
    expect(report.samples.invented).toEqual([]);
    expect(report.samples.reordered).toEqual([]);
    expect(report.samples.reused).toEqual([]);
    expect({
      lost: report.lost,
      invented: report.invented,
      reordered: report.reordered,
      reusedEventIds: report.reusedEventIds,
      callsOverCap: report.callsOverCap,
    }).toEqual({ lost: 0, invented: 0, reordered: 0, reusedEventIds: 0, callsOverCap: 0 });
  }, 420_000);
});
