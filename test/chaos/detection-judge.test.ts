import { describe, expect, it } from 'vitest';
import { matchChanges, type Appended } from '../../bench/detection-judge.js';
import type { GroundTruthEntry } from '../../src/simulator/index.js';
import type { PresenceState } from '../../src/tencent/types.js';

const WINDOW = { windowStart: 0, windowEnd: 60_000, minLastingMs: 20_000 };

const change = (userId: string, from: PresenceState, to: PresenceState, atMs: number): GroundTruthEntry => ({
  userId,
  from,
  to,
  devices: [],
  atMs,
  cause: 'manual',
});
const published = (userId: string, to: string, observedMs: number): Appended => ({
  userId,
  to,
  observedMs,
  appendMs: observedMs + 50,
});

describe('detection bench judge', () => {
  it('does not count a return to the published state after several changes too short to see', () => {
    // Online (published) -> PushOnline for 1.1 s -> Offline for 3.5 s -> Online again: nothing to publish.
    const changes = [
      change('u1', 'Online', 'PushOnline', 1_000),
      change('u1', 'PushOnline', 'Offline', 2_100),
      change('u1', 'Offline', 'Online', 5_600),
    ];
    expect(matchChanges(changes, [], WINDOW).lost).toBe(0);
  });

  it('counts a change that lasted and was never published', () => {
    const result = matchChanges([change('u2', 'Offline', 'Online', 1_000)], [], WINDOW);
    expect(result.lost).toBe(1);
    expect(result.lostChanges[0]?.change.userId).toBe('u2');
  });

  it('counts the return when the short state in between was published', () => {
    const changes = [change('u3', 'Online', 'Offline', 1_000), change('u3', 'Offline', 'Online', 3_000)];
    expect(matchChanges(changes, [published('u3', 'Offline', 1_500)], WINDOW).lost).toBe(1);
  });

  it('does not count a return when the short state was published only later, when reached again', () => {
    // Online (published) -> PushOnline for 8.3 s -> Online for 27.4 s -> PushOnline, published 11.5 s after that:
    // the publication is of the third change, not of the blip (a 1M-user detection run counted this as lost).
    const changes = [
      change('u5', 'Online', 'PushOnline', 1_000),
      change('u5', 'PushOnline', 'Online', 9_300),
      change('u5', 'Online', 'PushOnline', 36_700),
    ];
    const minLasting = { ...WINDOW, minLastingMs: 24_000 };
    expect(matchChanges(changes, [published('u5', 'PushOnline', 48_200)], minLasting).lost).toBe(0);
  });

  it('pairs a published change with its transition and measures it', () => {
    const result = matchChanges(
      [change('u4', 'Offline', 'Online', 1_000)],
      [published('u4', 'Online', 1_200)],
      WINDOW,
    );
    expect(result).toMatchObject({ lost: 0, withCallback: { count: 1, p50: 250 } });
  });
});
