import { describe, expect, it } from 'vitest';
import { CHAOS_ACTIONS, failedInvariants, runChaos } from '../../bench/chaos-run.js';

/**
 * The one-minute chaos run (RELIABILITY.md): three workers, one SIGKILLed every 10 s, Kafka stopped for 12 s, Redis
 * restarted with its AOF, a hot reload, ~10 % API faults. It starts its own Redis and Kafka (it stops them), so it
 * never touches the shared test services.
 *
 * Without the emptied Redis: an emptied Redis loses the outbox entries not yet relayed, and on a busy CI machine the
 * relay's lag makes that window wide enough to lose a state now and then (RELIABILITY.md, "Limits"); a gate must
 * not fail on a documented limit. The restore itself is tested in test/roles/state-recovery.int.test.ts, and the
 * five-minute `npm run chaos` keeps the emptied restart.
 */
describe('chaos run (1 minute)', () => {
  it('loses, invents, reorders and reuses nothing, stays under the cap, and is never blind past its bound', async () => {
    const only = CHAOS_ACTIONS.filter((action) => action !== 'redis-restart-empty');
    const report = await runChaos({ minutes: 1, seed: 1, only });
    expect({ failed: failedInvariants(report), samples: report.samples }).toEqual({
      failed: [],
      samples: { lost: [], invented: [], reordered: [], reused: [] },
    });
    // The faults really happened and the judge had something to judge.
    expect(report.counts.workerKills).toBeGreaterThanOrEqual(4);
    expect(report.counts.faultsInjected).toBeGreaterThan(0);
    expect(report.counts.mustSee).toBeGreaterThan(1_000);
    expect(report.schedule.every((action) => action.doneAtMs !== undefined)).toBe(true);
    expect(report.counts.usersWithSeveralEpochs).toBe(0);
  }, 900_000);
});
