import { describe, expect, it } from 'vitest';
import { parseOutboxEntry } from '../../src/events/outbox-entry.js';
import { appKeys } from '../../src/redis/keys.js';
import { createRng } from '../../src/simulator/prng.js';
import { countObserved, toObservations } from '../../src/state/observations.js';
import { createStateStore } from '../../src/state/state-store.js';
import { createWatchlistRegistry } from '../../src/state/watchlist-registry.js';
import { syncWatchlists, type WatchlistSpec } from '../../src/state/watchlist-sync.js';
import type { OnlineStatusResult } from '../../src/tencent/types.js';
import {
  ACCOUNT_ERROR_LETTER,
  ACCOUNT_NOT_FOUND,
  QUARANTINED_LETTER,
  STATE_CODES,
} from '../../src/vocabulary.js';
import { testRedis, uniqueName } from '../helpers/services.js';
import { UserIdList } from '../../src/tencent/user-id-list.js';

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
  /** Publishes a watchlist definition, as the sync does (its chunks may then use packed states). */
  const publish = (name: string, id: number, version: string) =>
    redis.hset(keys.watchlists, name, JSON.stringify({ name, id, version }));
  /** Record reads (HGET calls, the scripts' included) since the server started. */
  const hgets = async () =>
    Number(/cmdstat_hget:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
  const outbox = async () =>
    ((await redis.xrange(keys.outbox, '-', '+')) as Array<[string, string[]]>)
      .map(parseOutboxEntry)
      .map(({ id: _id, ...entry }) => entry)
      .sort((a, b) => a.userId.localeCompare(b.userId) || a.seq - b.seq);
  return { store: createStateStore(redis, keys), outbox, publish, hgets };
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
        observations: { userIds: UserIdList.of(asked), codes },
      });
      expect({ round, result: actual }).toEqual({ round, result: expected });
      expect(countObserved({ userIds: UserIdList.of(asked), codes })).toBe(observations.length);
      events += expected.events;
    }
    expect(events).toBeGreaterThan(20);
    expect(await coded.outbox()).toEqual(await perUser.outbox());
    expect(await coded.store.readStates(asked)).toEqual(await perUser.store.readStates(asked));
  });

  it('compared with packed chunk states give the same events as the per-user path, whatever else writes', async () => {
    const perUser = store();
    const packed = store();
    // Watchlist w (id 3): users 0-39 in chunk 0; watchlist x (id 4): users 30-49, so 30-39 are in both.
    const user = (i: number) => `user-${i}`;
    const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => user(from + i));
    const chunks = {
      w: { id: 3, userIds: [...range(0, 40), 'ghost-w'] },
      x: { id: 4, userIds: [...range(30, 50), 'ghost-x'] },
    };
    for (const { store: s } of [perUser, packed]) {
      await s.updateMembership({ op: 'add', watchlistId: 3, userIds: range(0, 40), nowMs: 100 });
      await s.updateMembership({ op: 'add', watchlistId: 4, userIds: range(30, 50), nowMs: 100 });
    }
    await packed.publish('w', 3, 'v1');
    await packed.publish('x', 4, 'v1');
    const rng = createRng(1818);
    const last = { w: '', x: '' };
    let observedAtMs = 1_000;
    const unchangedReads: number[] = [];
    for (let round = 0; round < 300; round += 1) {
      const action = rng.pick(['w', 'w', 'w', 'x', 'x', 'hint', 'stale'] as const);
      observedAtMs += 100;
      let apply: (s: ReturnType<typeof store>['store'], coded: boolean) => Promise<unknown>;
      if (action === 'hint') {
        const userIds = [user(rng.int(0, 49)), user(rng.int(0, 49))].filter(
          (id, i, all) => all.indexOf(id) === i,
        );
        const codes = userIds.map(() => rng.pick(LETTERS)).join('');
        const { observations } = toObservations(resultOf(userIds, codes), false);
        apply = (s) =>
          s.applyObservations({
            source: 'hint',
            observedAtMs,
            firstObservation: 'snapshot',
            deviceEvents: false,
            observations,
          });
      } else {
        const list = action === 'stale' ? rng.pick(['w', 'x'] as const) : action;
        const { userIds } = chunks[list];
        // Mostly the last answer again, or with a few users changed: a chunk without a change is common.
        let codes = last[list] || userIds.map(() => rng.pick(LETTERS)).join('');
        for (let n = rng.int(-3, 2); n > 0; n -= 1) {
          const at = rng.int(0, userIds.length - 1);
          codes = codes.slice(0, at) + rng.pick(LETTERS) + codes.slice(at + 1);
        }
        const unchanged = codes === last[list];
        last[list] = codes;
        const input = {
          source: { watchlist: list, version: 'v1', chunk: 0 },
          // A stale attempt answers older than what its chunk and the hints already applied.
          observedAtMs: action === 'stale' ? observedAtMs - 250 : observedAtMs,
          firstObservation: round < 100 ? ('silent' as const) : ('snapshot' as const),
          deviceEvents: false,
        };
        const { observations } = toObservations(resultOf(userIds, codes), false);
        apply = async (s, coded) => {
          const before = await packed.hgets();
          const result = await s.applyObservations({
            ...input,
            observations: coded ? { userIds: UserIdList.of(userIds), codes } : observations,
          });
          if (coded && unchanged && action !== 'stale') unchangedReads.push((await packed.hgets()) - before);
          return result;
        };
      }
      const expected = await apply(perUser.store, false);
      const actual = await apply(packed.store, true);
      expect({ round, action, result: actual }).toEqual({ round, action, result: expected });
    }
    expect(await packed.outbox()).toEqual(await perUser.outbox());
    const everyone = [...range(0, 50), 'ghost-w', 'ghost-x'];
    expect(await packed.store.readStates(everyone)).toEqual(await perUser.store.readStates(everyone));
    expect((await perUser.outbox()).length).toBeGreaterThan(100);
    // The packed path was taken: an unchanged chunk read its watermark, the definition, the write count and its
    // packed states, and at most one record: the untracked ghost's, which no packed letter stands for.
    expect(unchangedReads.filter((reads) => reads <= 5).length).toBeGreaterThan(20);
  });

  it('are void once the member list changed, even when the same list (and version) comes back', async () => {
    const redis = testRedis();
    const keys = appKeys(uniqueName('coded-sync'), 1400000000);
    const deps = {
      redis,
      keys,
      registry: createWatchlistRegistry(redis, keys),
      stateStore: createStateStore(redis, keys),
    };
    const spec = (userIds: string[]): WatchlistSpec => ({
      name: 'w',
      userIds,
      intervalMs: 1_000,
      detail: false,
      deviceEvents: false,
      firstObservation: 'snapshot',
      priority: 5,
    });
    /** Answers chunk 0 of the published version: every member in `state`. */
    const answer = async (observedAtMs: number, code: string) => {
      const definition = (await deps.registry.get('w'))!;
      const userIds = (await deps.registry.readChunk('w', definition.version, 0))!;
      return deps.stateStore.applyObservations({
        source: { watchlist: 'w', version: definition.version, chunk: 0 },
        observedAtMs,
        firstObservation: 'snapshot',
        deviceEvents: false,
        observations: { userIds: UserIdList.of(userIds), codes: code.repeat(userIds.length) },
      });
    };
    await syncWatchlists(deps, [spec(['a', 'b'])]);
    expect(await answer(1_000, STATE_CODES.Online)).toMatchObject({ events: 2 });
    // Reordered: a new version, whose chunk sees both go offline.
    await syncWatchlists(deps, [spec(['b', 'a'])]);
    expect(await answer(2_000, STATE_CODES.Offline)).toMatchObject({ events: 2 });
    // The first order again: its version's chunk must not trust what it knew before (both online).
    await syncWatchlists(deps, [spec(['a', 'b'])]);
    expect(await answer(3_000, STATE_CODES.Online)).toMatchObject({ applied: 2, events: 2 });
    expect(await deps.stateStore.readStates(['a', 'b'])).toMatchObject([
      { state: 'Online', seq: 3 },
      { state: 'Online', seq: 3 },
    ]);
  });

  it("write each user's record in its own bucket when a chunk's members differ from before (bucket ids kept per chunk)", async () => {
    const redis = testRedis();
    const keys = appKeys(uniqueName('coded-buckets'), 1400000000, 64);
    const deps = {
      redis,
      keys,
      registry: createWatchlistRegistry(redis, keys),
      stateStore: createStateStore(redis, keys),
    };
    const first = ['u1', 'u2', 'u3'];
    const second = ['x7', 'x8', 'x9'];
    await syncWatchlists(deps, [
      {
        name: 'w',
        userIds: [...first, ...second],
        intervalMs: 1_000,
        detail: false,
        deviceEvents: false,
        firstObservation: 'snapshot',
        priority: 5,
      },
    ]);
    const { version } = (await deps.registry.get('w'))!;
    const answer = (userIds: string[], code: string, observedAtMs: number) =>
      deps.stateStore.applyObservations({
        source: { watchlist: 'w', version, chunk: 0 },
        observedAtMs,
        firstObservation: 'snapshot',
        deviceEvents: false,
        observations: { userIds: UserIdList.of(userIds), codes: code.repeat(userIds.length) },
      });
    // The same chunk with other members (a chunk's members never change within a version; the store must not
    // take the earlier members' bucket ids for them if they ever did): each record lands in its own bucket. Other
    // letters than before, so that the packed chunk state reads the records.
    expect(await answer(first, STATE_CODES.Online, 1_000)).toMatchObject({ events: 3 });
    expect(await answer(first, STATE_CODES.Online, 2_000)).toMatchObject({ events: 0 });
    expect(await answer(second, STATE_CODES.Offline, 3_000)).toMatchObject({ events: 3 });
    const states = await deps.stateStore.readStates([...first, ...second]);
    expect(states.map((state) => state?.state)).toEqual([
      ...Array(3).fill('Online'),
      ...Array(3).fill('Offline'),
    ]);
  });

  it('are void for a user that left the watchlist while its chunks still run', async () => {
    const { store: s, publish } = store();
    await s.updateMembership({ op: 'add', watchlistId: 3, userIds: ['a', 'b'], nowMs: 100 });
    await s.updateMembership({ op: 'add', watchlistId: 4, userIds: ['a'], nowMs: 100 });
    await publish('w', 3, 'v1');
    await publish('x', 4, 'v1');
    const answer = (watchlist: string, userIds: string[], codes: string, observedAtMs: number) =>
      s.applyObservations({
        source: { watchlist, version: 'v1', chunk: 0 },
        observedAtMs,
        firstObservation: 'snapshot',
        deviceEvents: false,
        observations: { userIds: UserIdList.of(userIds), codes },
      });
    expect(await answer('w', ['a', 'b'], 'NN', 1_000)).toMatchObject({ events: 2 });
    // 'a' leaves w (its removal runs while w's chunk still does), then x sees it go offline.
    await s.updateMembership({ op: 'remove', watchlistId: 3, userIds: ['a'], nowMs: 1_500 });
    expect(await answer('x', ['a'], 'F', 2_000)).toMatchObject({ events: 1 });
    // w's chunk sees 'a' online again: a transition, as the per-user path finds it.
    expect(await answer('w', ['a', 'b'], 'NN', 3_000)).toMatchObject({ applied: 2, events: 1 });
    expect(await s.readState('a')).toMatchObject({ state: 'Online', seq: 3 });
  });

  it('write nothing for an answer that observes nobody', async () => {
    const { store: s, outbox } = store();
    await s.updateMembership({ op: 'add', watchlistId: 1, userIds: ['a', 'b'], nowMs: 100 });
    const nobody = {
      userIds: UserIdList.of(['a', 'b']),
      codes: `${ACCOUNT_ERROR_LETTER}${QUARANTINED_LETTER}`,
    };
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
