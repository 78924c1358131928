import type { PresenceEvent } from '@presence-poller/events';
import { describe, expect, it } from 'vitest';
import { judgeChaosRun, type TrackedUser } from '../../bench/chaos-oracle.js';
import type { GroundTruthEntry } from '../../src/simulator/index.js';
import type { PresenceState } from '../../src/tencent/types.js';

/** The chaos run's judge on hand-made timelines: one user, watchlist interval 1 s, tracked from t = 0. */
const T0 = Date.parse('2026-12-05T12:00:00.000Z');
const user: TrackedUser = { watchlist: 'fast', intervalMs: 1_000, trackedFromMs: T0 };
let seq = 0;
function event(to: PresenceState, atS: number, from: PresenceState | null): PresenceEvent {
  seq++;
  return {
    schema: 'presence.transition/1',
    eventId: `1:u1:e:${seq}`,
    sdkAppId: 1,
    userId: 'u1',
    kind: from === null ? 'snapshot' : 'transition',
    from,
    to,
    seq,
    epoch: 'e',
    observedAt: new Date(T0 + atS * 1_000).toISOString(),
    previousObservedAt: null,
    watchlists: ['fast'],
  };
}
const change = (to: PresenceState, from: PresenceState, atS: number): GroundTruthEntry => ({
  userId: 'u1',
  from,
  to,
  devices: [],
  atMs: T0 + atS * 1_000,
  cause: 'churn',
});
function judge(changes: GroundTruthEntry[], events: PresenceEvent[]) {
  return judgeChaosRun({
    initialStates: new Map([['u1', 'Offline']]),
    tracked: new Map([['u1', user]]),
    changeLog: changes,
    events,
  });
}

describe('chaos judge', () => {
  // Offline; Online at 10 s for 0.8 s (shorter than the 2 intervals that must be seen), Offline for 0.2 s, then
  // Online for good. The service saw the short Online and published it.
  const changes = [
    change('Online', 'Offline', 10),
    change('Offline', 'Online', 10.8),
    change('Online', 'Offline', 11),
  ];

  it('does not count a state as lost when it was already published as it began, and nothing changed it since', () => {
    const report = judge(changes, [event('Offline', 1, null), event('Online', 10.5, 'Offline')]);
    expect(report.samples.lost).toEqual([]);
    expect(report.lost).toBe(0);
  });

  it('does so too when the next state, after it ended, was published within the observation slack', () => {
    const report = judge(
      [...changes, change('Offline', 'Online', 30)],
      [event('Offline', 1, null), event('Online', 10.5, 'Offline'), event('Offline', 30.2, 'Online')],
    );
    expect(report.samples.lost).toEqual([]);
  });

  it('counts it as lost when the change in between was published and the return to the state was not', () => {
    const report = judge(changes, [
      event('Offline', 1, null),
      event('Online', 10.5, 'Offline'),
      event('Offline', 10.9, 'Online'),
    ]);
    expect(report.lost).toBe(1);
    expect(report.samples.lost[0]!.detail).toMatch(/^Online from .*11\.000Z to the end$/);
  });

  it('counts a long state no event reports as lost', () => {
    const report = judge(
      [change('Online', 'Offline', 10), change('Offline', 'Online', 20)],
      [event('Offline', 1, null)],
    );
    expect(report.lost).toBe(1);
    expect(report.samples.lost[0]!.detail).toMatch(/^Online from .*10\.000Z to .*20\.000Z$/);
  });
});
