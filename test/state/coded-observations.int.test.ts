import { describe, expect, it } from 'vitest';
import { parseOutboxEntry } from '../../src/events/outbox-entry.js';
import { appKeys } from '../../src/redis/keys.js';
import { createRng } from '../../src/simulator/prng.js';
import { countObserved, toObservations } from '../../src/state/observations.js';
import { createStateStore } from '../../src/state/state-store.js';
import type { OnlineStatusResult } from '../../src/tencent/types.js';
import {
  ACCOUNT_ERROR_LETTER,
  ACCOUNT_NOT_FOUND,
  QUARANTINED_LETTER,
  STATE_CODES,
} from '../../src/vocabulary.js';
import { testRedis, uniqueName } from '../helpers/services.js';

const LETTERS = [
  STATE_CODES.Online,
  STATE_CODES.PushOnline,
  STATE_CODES.Offline,
  STATE_CODES.NotFound,
  ACCOUNT_ERROR_LETTER,
  QUARANTINED_LETTER,
];

/** The full reading of an answer that the compact reading gives as `codes` (tencent/parse-codes.ts). */
function resultOf(userIds: readonly string[], codes: string): OnlineStatusResult {
  const result: OnlineStatusResult = { results: [], accountErrors: [], quarantined: [] };
  userIds.forEach((userId, i) => {
    const code = codes[i];
    if (code === STATE_CODES.Online) result.results.push({ userId, state: 'Online' });
    else if (code === STATE_CODES.PushOnline) result.results.push({ userId, state: 'PushOnline' });
    else if (code === STATE_CODES.Offline) result.results.push({ userId, state: 'Offline' });
    else if (code === STATE_CODES.NotFound)
      result.accountErrors.push({ userId, errorCode: ACCOUNT_NOT_FOUND });
    else if (code === ACCOUNT_ERROR_LETTER) result.accountErrors.push({ userId, errorCode: 70169 });
    else result.quarantined.push({ userId, kind: 'unknown_state', reason: 'test' });
  });
  return result;
}

function store() {
  const redis = testRedis();
  const keys = appKeys(uniqueName('coded'), 1400000000, 64);
  const outbox = async () =>
    ((await redis.xrange(keys.outbox, '-', '+')) as Array<[string, string[]]>)
      .map(parseOutboxEntry)
      .map(({ id: _id, ...entry }) => entry)
      .sort((a, b) => a.userId.localeCompare(b.userId) || a.seq - b.seq);
  return { store: createStateStore(redis, keys), outbox };
}

describe('coded observations (the compact reading of an answer without detail)', () => {
  it('give the same counts, events and records as the per-user observations of the same answers', async () => {
    const perUser = store();
    const coded = store();
    // 40 tracked users and 8 asked but untracked; rounds at random times, some older than the last (stale).
    const tracked = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    const asked = [...tracked, ...Array.from({ length: 8 }, (_, i) => `ghost-${i}`)];
    for (const { store: s } of [perUser, coded]) {
      await s.updateMembership({ op: 'add', watchlistId: 3, userIds: tracked, nowMs: 100 });
    }
    const rng = createRng(18);
    let observedAtMs = 1_000;
    let events = 0;
    for (let round = 0; round < 30; round += 1) {
      observedAtMs += rng.int(0, 2) === 0 ? -500 : 1_000;
      const codes = asked.map(() => rng.pick(LETTERS)).join('');
      const input = {
        source: { watchlist: 'w', version: 'v1', chunk: round % 2 },
        observedAtMs,
        firstObservation: round < 15 ? ('silent' as const) : ('snapshot' as const),
        deviceEvents: false,
      };
      const { observations } = toObservations(resultOf(asked, codes), false);
      const expected = await perUser.store.applyObservations({ ...input, observations });
      const actual = await coded.store.applyObservations({
        ...input,
        observations: { userIds: asked, codes },
      });
      expect({ round, result: actual }).toEqual({ round, result: expected });
      expect(countObserved({ userIds: asked, codes })).toBe(observations.length);
      events += expected.events;
    }
    expect(events).toBeGreaterThan(20);
    expect(await coded.outbox()).toEqual(await perUser.outbox());
    expect(await coded.store.readStates(asked)).toEqual(await perUser.store.readStates(asked));
  });

  it('write nothing for an answer that observes nobody', async () => {
    const { store: s, outbox } = store();
    await s.updateMembership({ op: 'add', watchlistId: 1, userIds: ['a', 'b'], nowMs: 100 });
    const nobody = { userIds: ['a', 'b'], codes: `${ACCOUNT_ERROR_LETTER}${QUARANTINED_LETTER}` };
    expect(
      await s.applyObservations({
        source: { watchlist: 'w', version: 'v1', chunk: 0 },
        observedAtMs: 1_000,
        firstObservation: 'snapshot',
        deviceEvents: false,
        observations: nobody,
      }),
    ).toEqual({ applied: 0, events: 0, stale: 0, untracked: 0 });
    expect(await outbox()).toEqual([]);
    expect(await s.readState('a')).toMatchObject({ state: null, seq: 0, observedAtMs: 0 });
  });
});
