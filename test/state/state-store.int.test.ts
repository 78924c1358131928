import { describe, expect, it } from 'vitest';
import { parseOutboxEntry } from '../../src/events/outbox-entry.js';
import { appKeys } from '../../src/redis/keys.js';
import { createSweepTracker } from '../../src/schedule/sweep-tracker.js';
import { createStateStore, type Observation } from '../../src/state/state-store.js';
import { testRedis, uniqueName } from '../helpers/services.js';
import { UserIdList } from '../../src/tencent/user-id-list.js';

function setup(stateBuckets?: number) {
  const redis = testRedis();
  const keys = appKeys(uniqueName('state'), 1400000000, stateBuckets);
  const store = createStateStore(redis, keys);
  const outbox = async () =>
    ((await redis.xrange(keys.outbox, '-', '+')) as Array<[string, string[]]>).map(parseOutboxEntry);
  return { redis, keys, store, outbox };
}
const see = (userId: string, code: Observation['code'], deviceHash = ''): Observation => ({
  userId,
  code,
  deviceHash,
  devicesJson: deviceHash ? '[]' : '',
});
/** Applies one chunk's observations; each call is a new observation of chunk 0 unless `chunk` says otherwise. */
const apply = (
  store: ReturnType<typeof setup>['store'],
  observedAtMs: number,
  observations: Observation[],
  extra: Partial<Parameters<ReturnType<typeof setup>['store']['applyObservations']>[0]> = {},
) =>
  store.applyObservations({
    source: { watchlist: 'w', version: 'v1', chunk: 0 },
    observedAtMs,
    firstObservation: 'snapshot',
    deviceEvents: false,
    observations,
    ...extra,
  });

describe('apply-observations (one atomic script per chunk)', () => {
  it('ignores users that are not tracked: untracked counts them and nothing is written', async () => {
    const { store, outbox } = setup();
    expect(await apply(store, 1_000, [see('ghost', 'N')])).toEqual({
      applied: 0,
      events: 0,
      stale: 0,
      untracked: 1,
    });
    expect(await outbox()).toEqual([]);
    expect(await store.readState('ghost')).toBeUndefined();
  });

  it('emits a snapshot on first sight, a transition on change, nothing when unchanged', async () => {
    const { store, outbox } = setup();
    await store.updateMembership({ op: 'add', watchlistId: 1, userIds: ['a', 'b'], nowMs: 500 });
    expect(await apply(store, 1_000, [see('a', 'N'), see('b', 'F')])).toEqual({
      applied: 2,
      events: 2,
      stale: 0,
      untracked: 0,
    });
    expect(await apply(store, 2_000, [see('a', 'N'), see('b', 'F')])).toEqual({
      applied: 2,
      events: 0,
      stale: 0,
      untracked: 0,
    });
    expect(await apply(store, 3_000, [see('a', 'P'), see('b', 'F')])).toEqual({
      applied: 2,
      events: 1,
      stale: 0,
      untracked: 0,
    });
    const entries = await outbox();
    expect(entries.map((e) => [e.userId, e.kind, e.fromCode, e.toCode, e.seq])).toEqual([
      ['a', 'snapshot', '', 'N', 1],
      ['b', 'snapshot', '', 'F', 1],
      ['a', 'transition', 'N', 'P', 2],
    ]);
    expect(entries[2]).toMatchObject({ observedAtMs: 3_000, previousObservedAtMs: 2_000, watchlistIds: [1] });
    expect(await store.readState('a')).toMatchObject({
      state: 'PushOnline',
      seq: 2,
      observedAtMs: 3_000,
      watchlistIds: [1],
    });
  });

  it("counts a sweep's chunk done in the same step, once, a stale answer too, and completes the sweep", async () => {
    const { redis, keys, store } = setup();
    const sweeps = createSweepTracker(redis, keys);
    await store.updateMembership({ op: 'add', watchlistId: 1, userIds: ['a', 'b'], nowMs: 500 });
    const begin = { watchlist: 'w', version: 'v1', nowMs: 600, staleAfterMs: 60_000 };
    expect(await sweeps.begin({ ...begin, sweepId: 's1', chunks: 2 })).toBe('start');
    const chunk = (index: number, observedAtMs: number, sweepId = 's1') =>
      store.applyObservations({
        source: { watchlist: 'w', version: 'v1', chunk: index },
        observedAtMs,
        firstObservation: 'snapshot',
        deviceEvents: false,
        observations: { userIds: UserIdList.of([index === 0 ? 'a' : 'b']), codes: 'N' },
        countDoneFor: sweepId,
      });
    expect((await chunk(0, 1_000)).chunkProgress).toEqual({ remaining: 1, startNext: false });
    // The same chunk again (a retried attempt whose answer is older): stale, and not counted twice.
    const again = await chunk(0, 900);
    expect([again.stale, again.chunkProgress]).toEqual([1, { remaining: -1, startNext: false }]);
    // A chunk of another sweep is not counted for this one.
    expect((await chunk(1, 1_100, 'old')).chunkProgress).toEqual({ remaining: -1, startNext: false });
    const last = await chunk(1, 1_200);
    expect(last.chunkProgress).toEqual({ remaining: 0, startNext: false, durationMs: 600 });
    expect((await sweeps.stats('w')).completed).toBe(1);
    // Without a sweep to count for (a hint call), nothing is counted.
    const hint = await store.applyObservations({
      source: 'hint',
      observedAtMs: 1_300,
      firstObservation: 'snapshot',
      deviceEvents: false,
      observations: [see('a', 'F')],
    });
    expect([hint.events, hint.chunkProgress]).toEqual([1, undefined]);
  });

  it('never applies an observation older than (or as old as) the stored one: stale', async () => {
    const { store, outbox } = setup();
    await store.updateMembership({ op: 'add', watchlistId: 1, userIds: ['a'], nowMs: 1 });
    await apply(store, 5_000, [see('a', 'N')]);
    expect(await apply(store, 4_000, [see('a', 'F')])).toEqual({
      applied: 0,
      events: 0,
      stale: 1,
      untracked: 0,
    });
    expect(await apply(store, 5_000, [see('a', 'F')])).toMatchObject({ stale: 1 });
    expect((await outbox()).map((e) => e.toCode)).toEqual(['N']);
    expect(await store.readState('a')).toMatchObject({ state: 'Online', observedAtMs: 5_000 });
  });

  it('rejects an older observation from another chunk (another watchlist) once a newer change is stored', async () => {
    const { store, outbox } = setup();
    await store.updateMembership({ op: 'add', watchlistId: 1, userIds: ['a'], nowMs: 1 });
    await apply(store, 5_000, [see('a', 'N')]);
    const other = { source: { watchlist: 'other', version: 'v9', chunk: 3 } };
    expect(await apply(store, 4_000, [see('a', 'F')], other)).toEqual({
      applied: 0,
      events: 0,
      stale: 1,
      untracked: 0,
    });
    expect(await apply(store, 6_000, [see('a', 'F')], other)).toMatchObject({ applied: 1, events: 1 });
    expect((await outbox()).map((e) => e.toCode)).toEqual(['N', 'F']);
  });

  it('writes a record only when something changed; the event still says when the old state was last seen', async () => {
    const { store, outbox } = setup();
    await store.updateMembership({ op: 'add', watchlistId: 1, userIds: ['a'], nowMs: 1 });
    await apply(store, 1_000, [see('a', 'N')]);
    await apply(store, 2_000, [see('a', 'N')]);
    await apply(store, 3_000, [see('a', 'N')]);
    expect(await store.readState('a')).toMatchObject({ state: 'Online', observedAtMs: 1_000, seq: 1 });
    await apply(store, 4_000, [see('a', 'F')]);
    expect((await outbox()).at(-1)).toMatchObject({
      toCode: 'F',
      observedAtMs: 4_000,
      previousObservedAtMs: 3_000,
    });
  });

  it('stays silent on first sight under the silent policy, then reports real transitions from seq 1', async () => {
    const { store, outbox } = setup();
    await store.updateMembership({ op: 'add', watchlistId: 1, userIds: ['a'], nowMs: 1 });
    expect(await apply(store, 1_000, [see('a', 'N')], { firstObservation: 'silent' })).toMatchObject({
      applied: 1,
      events: 0,
    });
    await apply(store, 2_000, [see('a', 'F')], { firstObservation: 'silent' });
    expect((await outbox()).map((e) => [e.kind, e.fromCode, e.toCode, e.seq])).toEqual([
      ['transition', 'N', 'F', 1],
    ]);
  });

  it('reports not_found once, and a snapshot when the account appears later', async () => {
    const { store, outbox } = setup();
    await store.updateMembership({ op: 'add', watchlistId: 1, userIds: ['a'], nowMs: 1 });
    await apply(store, 1_000, [see('a', 'X')]);
    await apply(store, 2_000, [see('a', 'X')]);
    await apply(store, 3_000, [see('a', 'N')]);
    expect((await outbox()).map((e) => [e.kind, e.toCode, e.seq])).toEqual([
      ['not_found', 'X', 1],
      ['snapshot', 'N', 2],
    ]);
  });

  it('emits devices events for device-only changes only when asked', async () => {
    const { store, outbox } = setup();
    await store.updateMembership({ op: 'add', watchlistId: 1, userIds: ['a'], nowMs: 1 });
    await apply(store, 1_000, [see('a', 'N', 'aaaa0000')], { deviceEvents: true });
    expect(await apply(store, 2_000, [see('a', 'N', 'bbbb0000')], { deviceEvents: false })).toMatchObject({
      events: 0,
    });
    expect(await apply(store, 3_000, [see('a', 'N', 'cccc0000')], { deviceEvents: true })).toMatchObject({
      events: 1,
    });
    expect((await outbox()).map((e) => e.kind)).toEqual(['snapshot', 'devices']);
  });

  it('keeps the device hash when another watchlist answers without detail (no false devices event)', async () => {
    const { store, outbox } = setup();
    await store.updateMembership({ op: 'add', watchlistId: 1, userIds: ['a'], nowMs: 1 });
    await apply(store, 1_000, [see('a', 'N', 'aaaa0000')], { deviceEvents: true });
    const noDetail = { source: { watchlist: 'plain', version: 'v1', chunk: 0 } };
    await apply(store, 2_000, [see('a', 'F')], noDetail);
    await apply(store, 3_000, [see('a', 'F', 'aaaa0000')], { deviceEvents: true });
    expect((await outbox()).map((e) => e.kind)).toEqual(['snapshot', 'transition']);
    expect(await store.readState('a')).toMatchObject({ deviceHash: 'aaaa0000' });
  });

  it('gives devices only to users in a watchlist with detail, whichever chunk asked for them', async () => {
    const { redis, keys, store, outbox } = setup();
    await redis.set(keys.detailWatchlistIds, '2');
    await store.updateMembership({ op: 'add', watchlistId: 1, userIds: ['plain', 'both'], nowMs: 1 });
    await store.updateMembership({ op: 'add', watchlistId: 2, userIds: ['both'], nowMs: 1 });
    // A chunk of watchlist 1 asked for detail because 'both' is also in watchlist 2 (with detail).
    await apply(store, 1_000, [see('plain', 'N', 'aaaa0000'), see('both', 'N', 'bbbb0000')]);
    expect((await outbox()).map((e) => [e.userId, e.devicesJson])).toEqual([
      ['plain', ''],
      ['both', '[]'],
    ]);
    expect(await store.readState('plain')).toMatchObject({ deviceHash: '' });
    expect(await store.readState('both')).toMatchObject({ deviceHash: 'bbbb0000' });
  });

  it('emits a devices event for a user in a deviceEvents watchlist whichever watchlist’s chunk sees the change', async () => {
    const { redis, keys, store, outbox } = setup();
    await redis.set(keys.detailWatchlistIds, '2');
    await redis.set(keys.deviceEventWatchlistIds, '2');
    await store.updateMembership({ op: 'add', watchlistId: 1, userIds: ['plain', 'both'], nowMs: 1 });
    await store.updateMembership({ op: 'add', watchlistId: 2, userIds: ['both'], nowMs: 1 });
    await apply(store, 1_000, [see('plain', 'N'), see('both', 'N', 'aaaa0000')]);
    // Watchlist 1's chunk (deviceEvents off) sees the new device list first.
    await apply(store, 2_000, [see('plain', 'N', 'cccc0000'), see('both', 'N', 'bbbb0000')]);
    expect((await outbox()).map((e) => [e.userId, e.kind])).toEqual([
      ['plain', 'snapshot'],
      ['both', 'snapshot'],
      ['both', 'devices'],
    ]);
  });

  it('gives the same answer whichever of two concurrent chunks for the same users runs first', async () => {
    const { store, outbox } = setup();
    const users = Array.from({ length: 500 }, (_, i) => `u${i}`);
    await store.updateMembership({ op: 'add', watchlistId: 1, userIds: users, nowMs: 1 });
    await Promise.all([
      apply(
        store,
        2_000,
        users.map((u) => see(u, 'F')),
      ),
      apply(
        store,
        1_000,
        users.map((u) => see(u, 'N')),
      ),
    ]);
    const states = await Promise.all(users.map((u) => store.readState(u)));
    expect(states.every((s) => s?.state === 'Offline' && s.observedAtMs === 2_000)).toBe(true);
    // Each user ends on the newer observation; at most snapshot + one transition each, seq in order.
    const byUser = new Map<string, number[]>();
    for (const entry of await outbox())
      byUser.set(entry.userId, [...(byUser.get(entry.userId) ?? []), entry.seq]);
    expect([...byUser.values()].every((seqs) => seqs.every((s, i) => s === i + 1))).toBe(true);
  });
});

describe('update-membership', () => {
  it('tracks a user in several watchlists once and untracks it only when the last one lets go', async () => {
    const { store, outbox } = setup();
    expect(await store.updateMembership({ op: 'add', watchlistId: 1, userIds: ['a'], nowMs: 1_000 })).toEqual(
      { changed: 1, untracked: 0 },
    );
    expect(await store.updateMembership({ op: 'add', watchlistId: 2, userIds: ['a'], nowMs: 1_000 })).toEqual(
      { changed: 1, untracked: 0 },
    );
    expect(await store.updateMembership({ op: 'add', watchlistId: 2, userIds: ['a'], nowMs: 1_000 })).toEqual(
      { changed: 0, untracked: 0 },
    );
    await apply(store, 2_000, [see('a', 'N')]);
    expect(
      await store.updateMembership({ op: 'remove', watchlistId: 1, userIds: ['a'], nowMs: 3_000 }),
    ).toEqual({ changed: 1, untracked: 0 });
    expect(await store.readState('a')).toMatchObject({ watchlistIds: [2], state: 'Online' });
    expect(
      await store.updateMembership({ op: 'remove', watchlistId: 2, userIds: ['a'], nowMs: 4_000 }),
    ).toEqual({ changed: 1, untracked: 1 });
    expect(await store.readState('a')).toBeUndefined();
    expect((await outbox()).map((e) => [e.kind, e.fromCode, e.seq, e.watchlistIds])).toEqual([
      ['snapshot', '', 1, [1, 2]],
      ['membership', '', 1, [2]],
      ['untracked', 'N', 2, [2]],
    ]);
  });

  it('records a membership entry (the current state, seq and time) when a published user changes watchlists', async () => {
    const { store, outbox } = setup();
    await store.updateMembership({ op: 'add', watchlistId: 1, userIds: ['a', 'b'], nowMs: 1_000 });
    await apply(store, 2_000, [see('a', 'P'), see('b', 'X')]);
    // Moved from 1 to 3, as the sync does it: added to the new list first, then removed from the old one.
    await store.updateMembership({ op: 'add', watchlistId: 3, userIds: ['a', 'b'], nowMs: 3_000 });
    await store.updateMembership({ op: 'remove', watchlistId: 1, userIds: ['a', 'b'], nowMs: 4_000 });
    const entries = (await outbox()).filter((e) => e.kind === 'membership');
    expect(
      entries.map((e) => [e.userId, e.toCode, e.seq, e.observedAtMs, e.watchlistIds, e.devicesJson]),
    ).toEqual([
      ['a', 'P', 1, 2_000, [1, 3], ''],
      ['b', 'X', 1, 2_000, [1, 3], ''],
      ['a', 'P', 1, 2_000, [3], ''],
      ['b', 'X', 1, 2_000, [3], ''],
    ]);
    expect(await store.readState('a')).toMatchObject({ watchlistIds: [3], seq: 1 });
  });

  it('records no membership entry for a user nothing was published for yet', async () => {
    const { store, outbox } = setup();
    await store.updateMembership({ op: 'add', watchlistId: 1, userIds: ['a'], nowMs: 1_000 });
    await store.updateMembership({ op: 'add', watchlistId: 2, userIds: ['a'], nowMs: 1_000 });
    await apply(store, 2_000, [see('a', 'N')], { firstObservation: 'silent' });
    await store.updateMembership({ op: 'remove', watchlistId: 1, userIds: ['a'], nowMs: 3_000 });
    expect(await outbox()).toEqual([]);
  });

  it('untracks a never-published user silently, and re-tracking starts a new epoch', async () => {
    const { store, outbox } = setup();
    await store.updateMembership({ op: 'add', watchlistId: 1, userIds: ['a'], nowMs: 1_000 });
    expect(
      await store.updateMembership({ op: 'remove', watchlistId: 1, userIds: ['a'], nowMs: 2_000 }),
    ).toEqual({ changed: 1, untracked: 1 });
    expect(await outbox()).toEqual([]);
    await store.updateMembership({ op: 'add', watchlistId: 1, userIds: ['a'], nowMs: 1_000 });
    const first = (await store.readState('a'))!.epoch;
    await apply(store, 3_000, [see('a', 'F')]);
    await store.updateMembership({ op: 'remove', watchlistId: 1, userIds: ['a'], nowMs: 4_000 });
    await store.updateMembership({ op: 'add', watchlistId: 1, userIds: ['a'], nowMs: 5_000 });
    expect((await store.readState('a'))!.epoch).not.toBe(first);
  });

  it('takes any printable UserID through the packed batch, spaces and separators included', async () => {
    const { store } = setup();
    const odd = ['a b', 'x|y', 'c,d', '"q"', '%d+', 'tab-less\\t', 'last'];
    expect(await store.updateMembership({ op: 'add', watchlistId: 7, userIds: odd, nowMs: 1_000 })).toEqual({
      changed: odd.length,
      untracked: 0,
    });
    for (const userId of odd) expect(await store.readState(userId)).toMatchObject({ watchlistIds: [7] });
    expect(
      await store.updateMembership({ op: 'remove', watchlistId: 7, userIds: odd, nowMs: 2_000 }),
    ).toEqual({ changed: odd.length, untracked: odd.length });
  });

  it('re-emits current states as snapshots with the next seq', async () => {
    const { store, outbox } = setup();
    await store.updateMembership({ op: 'add', watchlistId: 1, userIds: ['a', 'b', 'never'], nowMs: 1 });
    await apply(store, 1_000, [see('a', 'N'), see('b', 'X')]);
    expect(await store.emitSnapshots(['a', 'b', 'never', 'ghost'])).toBe(1);
    expect((await outbox()).filter((e) => e.userId === 'a').map((e) => [e.kind, e.toCode, e.seq])).toEqual([
      ['snapshot', 'N', 1],
      ['snapshot', 'N', 2],
    ]);
  });

  it('stores a tracked user in under 100 bytes of Redis at production bucket density', async () => {
    // 30 users a bucket, as 500,000 users have with the default 16,384 buckets.
    const { redis, store } = setup(1_000);
    const users = Array.from({ length: 30_000 }, (_, i) => `user${String(i).padStart(7, '0')}`);
    const before = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
    await store.updateMembership({ op: 'add', watchlistId: 1, userIds: users, nowMs: 1_795_600_000_000 });
    for (let i = 0; i < users.length; i += 500) {
      await apply(
        store,
        1_795_600_001_000,
        users.slice(i, i + 500).map((u) => see(u, 'N')),
        { firstObservation: 'silent' },
      );
    }
    const after = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
    expect((after - before) / users.length).toBeLessThan(100);
  });
});
