import { describe, expect, it } from 'vitest';
import { parseOutboxEntry } from '../../src/events/outbox-entry.js';
import {
  chunkMembers,
  chunksWithDetailUsers,
  syncWatchlists,
  type WatchlistSpec,
} from '../../src/state/watchlist-sync.js';
import { appKeys } from '../../src/redis/keys.js';
import { createStateStore } from '../../src/state/state-store.js';
import { createWatchlistRegistry, decodeChunk, encodeChunk } from '../../src/state/watchlist-registry.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { onTeardown, testRedis, uniqueName } from '../helpers/services.js';

function setup(redisUrl?: string) {
  const redis = testRedis({}, redisUrl);
  const keys = appKeys(uniqueName('sync'), 1400000000);
  const deps = {
    redis,
    keys,
    registry: createWatchlistRegistry(redis, keys),
    stateStore: createStateStore(redis, keys),
  };
  const outbox = async () =>
    ((await redis.xrange(keys.outbox, '-', '+')) as Array<[string, string[]]>).map(parseOutboxEntry);
  return { ...deps, deps, outbox };
}
const list = (name: string, userIds: string[]): WatchlistSpec => ({
  name,
  userIds,
  intervalMs: 1_000,
  detail: false,
  deviceEvents: false,
  firstObservation: 'snapshot',
  priority: 5,
});
const see = (userIds: string[], observedAtMs: number, store: ReturnType<typeof setup>['stateStore']) =>
  store.applyObservations({
    source: { watchlist: 'any', version: 'v', chunk: observedAtMs },
    observedAtMs,
    firstObservation: 'snapshot',
    deviceEvents: false,
    observations: userIds.map((userId) => ({ userId, code: 'N' as const, deviceHash: '', devicesJson: '' })),
  });

/** updateMembership that fails like a process dying on `op`: before it runs, or right after. */
const failOn =
  (op: 'add' | 'remove', store: ReturnType<typeof setup>['stateStore'], { after = false } = {}) =>
  async (...args: Parameters<typeof store.updateMembership>) => {
    if (args[0].op !== op) return store.updateMembership(...args);
    if (after) await store.updateMembership(...args);
    throw new Error('process died');
  };

describe('syncWatchlists', () => {
  it('moves a user from one watchlist to another without untracking it or losing its state', async () => {
    const { deps, stateStore, outbox } = setup();
    await syncWatchlists(deps, [list('a', ['u1', 'u2']), list('b', ['u3'])]);
    await see(['u1', 'u2', 'u3'], 1_000, stateStore);
    const report = await syncWatchlists(deps, [list('a', ['u2']), list('b', ['u3', 'u1'])]);

    expect(report).toMatchObject({ changed: true, untracked: 0, usersAdded: 1, usersRemoved: 1 });
    expect((await outbox()).filter((e) => e.kind === 'untracked')).toEqual([]);
    const u1 = await stateStore.readState('u1');
    expect(u1).toMatchObject({ state: 'Online', seq: 1 });
    expect(u1!.watchlistIds).toHaveLength(1);
  });

  it('untracks the members of a removed watchlist that are in no other, and keeps the rest', async () => {
    const { deps, registry, stateStore, outbox } = setup();
    await syncWatchlists(deps, [list('a', ['u1', 'u2']), list('b', ['u2'])]);
    await see(['u1', 'u2'], 1_000, stateStore);
    const report = await syncWatchlists(deps, [list('b', ['u2'])]);

    expect(report).toMatchObject({ removed: ['a'], untracked: 1 });
    expect((await outbox()).filter((e) => e.kind === 'untracked').map((e) => e.userId)).toEqual(['u1']);
    expect(await stateStore.readState('u1')).toBeUndefined();
    expect(await stateStore.readState('u2')).toMatchObject({ state: 'Online' });
    expect((await registry.list()).map((w) => w.name)).toEqual(['b']);
  });

  it('finishes removing a watchlist on the next sync when the previous one died half-way', async () => {
    const { deps, registry, stateStore, outbox } = setup();
    await syncWatchlists(deps, [list('a', ['u1', 'u2']), list('b', ['u2'])]);
    await see(['u1', 'u2'], 1_000, stateStore);
    const dying = {
      ...stateStore,
      updateMembership: async (...args: Parameters<typeof stateStore.updateMembership>) => {
        if (args[0].op === 'remove') throw new Error('process died');
        return stateStore.updateMembership(...args);
      },
    };
    await expect(syncWatchlists({ ...deps, stateStore: dying }, [list('b', ['u2'])])).rejects.toThrow(
      'process died',
    );

    const report = await syncWatchlists(deps, [list('b', ['u2'])]);
    expect(report).toMatchObject({ changed: true, removed: ['a'], untracked: 1 });
    expect(await stateStore.readState('u1')).toBeUndefined();
    expect((await outbox()).filter((e) => e.kind === 'untracked').map((e) => e.userId)).toEqual(['u1']);
    expect((await registry.list()).map((d) => d.name)).toEqual(['b']);
  });

  it('finishes a changed watchlist on the next sync when the previous one died before removing its leavers', async () => {
    const { deps, stateStore, outbox } = setup();
    await syncWatchlists(deps, [list('a', ['u1', 'u2'])]);
    await see(['u1', 'u2'], 1_000, stateStore);
    const dying = { ...stateStore, updateMembership: failOn('remove', stateStore) };
    await expect(syncWatchlists({ ...deps, stateStore: dying }, [list('a', ['u2', 'u3'])])).rejects.toThrow(
      'process died',
    );

    const report = await syncWatchlists(deps, [list('a', ['u2', 'u3'])]);
    expect(report).toMatchObject({ changed: true, usersRemoved: 1, untracked: 1 });
    expect(await stateStore.readState('u1')).toBeUndefined();
    expect((await outbox()).filter((e) => e.kind === 'untracked').map((e) => e.userId)).toEqual(['u1']);
  });

  it('undoes the additions of a change that never got published when the old configuration comes back', async () => {
    const { deps, redis, keys, stateStore } = setup();
    await syncWatchlists(deps, [list('a', ['u1', 'u2'])]);
    const dying = { ...stateStore, updateMembership: failOn('add', stateStore, { after: true }) };
    await expect(syncWatchlists({ ...deps, stateStore: dying }, [list('a', ['u1', 'u3'])])).rejects.toThrow(
      'process died',
    );
    expect(await stateStore.readState('u3')).toBeDefined();

    await syncWatchlists(deps, [list('a', ['u1', 'u2'])]);
    expect(await stateStore.readState('u3')).toBeUndefined();
    expect(await stateStore.readState('u2')).toBeDefined();
    expect(await redis.exists(keys.pendingRemovals)).toBe(0);
    expect((await redis.keys(`${keys.watchlistChunks('a', '')}*`)).length).toBe(1);
  });

  it('does nothing when Redis already holds the same configuration', async () => {
    const { deps } = setup();
    const specs = [list('a', ['u1', 'u2'])];
    expect((await syncWatchlists(deps, specs)).changed).toBe(true);
    expect((await syncWatchlists(deps, specs)).changed).toBe(false);
  });

  it('stores, diffs and removes a list longer than one write piece, keeping the old order for removals', async () => {
    // A Redis of its own: 120,500 records in the shared one would skew other files' memory figures.
    const server = await startRedisServer({ appendOnly: false });
    onTeardown(() => server.destroy());
    const { deps, redis, keys, registry, stateStore, outbox } = setup(server.url);
    // 120,500 users: three pieces of up to 50,000 (100 chunks) each, the last chunk half full.
    const ids = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => `m${String(from + i).padStart(7, '0')}`);
    const first = ids(0, 120_500);
    expect(await syncWatchlists(deps, [list('big', first)])).toMatchObject({ usersAdded: 120_500 });
    const stored = (await registry.get('big'))!;
    expect(stored).toMatchObject({ chunkCount: 241, userCount: 120_500 });
    const storedChunks = await redis.lrangeBuffer(keys.watchlistChunks('big', stored.version), 0, -1);
    expect(storedChunks).toEqual(chunkMembers(first));
    expect(storedChunks.map(decodeChunk)).toEqual(
      Array.from({ length: 241 }, (_, chunk) => first.slice(chunk * 500, chunk * 500 + 500)),
    );
    // Users seen once get an untracked event when they leave: one every 10,000, across the pieces.
    const seen = first.filter((_, i) => i % 10_000 === 0);
    await see(seen, 1_000, stateStore);

    // Drop the first 60,000 (more than one piece of leaving users), keep the rest, add 40,000.
    const second = [...first.slice(60_000), ...ids(200_000, 40_000)];
    expect(await syncWatchlists(deps, [list('big', second)])).toMatchObject({
      usersAdded: 40_000,
      usersRemoved: 60_000,
      untracked: 60_000,
    });
    const changed = (await registry.get('big'))!;
    expect(await registry.readMembers(changed)).toEqual(second);
    expect(await redis.exists(keys.watchlistChunks('big', stored.version))).toBe(0);
    const untrackedUsers = async () =>
      (await outbox()).filter((e) => e.kind === 'untracked').map((e) => e.userId);
    expect(await untrackedUsers()).toEqual(seen.filter((userId) => userId < 'm0060000'));
    expect(await stateStore.readState('m0060000')).toMatchObject({ state: 'Online' });
    expect(await stateStore.readState('m0200000')).toMatchObject({ state: null, watchlistIds: [changed.id] });

    // Removing the watchlist reads its stored list back piece by piece.
    expect(await syncWatchlists(deps, [])).toMatchObject({ removed: ['big'], untracked: 100_500 });
    expect(await untrackedUsers()).toEqual(seen);
    expect(await redis.exists(keys.watchlistChunks('big', changed.version))).toBe(0);
    expect(await stateStore.readState('m0200000')).toBeUndefined();
  });

  it('reads chunks stored plain by an earlier version, and stores new ones deflated', async () => {
    const { redis, keys, registry } = setup();
    const members = Array.from({ length: 500 }, (_, i) => `user-${String(i).padStart(6, '0')}`);
    // As the first format stored a list: newline-joined UserIDs, one blob per chunk.
    await redis.rpush(keys.watchlistChunks('old', 'v0'), members.join('\n'), 'last-one');
    expect(await registry.readChunk('old', 'v0', 0)).toEqual(members);
    expect(await registry.readChunk('old', 'v0', 1)).toEqual(['last-one']);
    const pieces: string[][] = [];
    for await (const piece of registry.memberPieces({ name: 'old', version: 'v0' }, 1)) pieces.push(piece);
    expect(pieces).toEqual([members, ['last-one']]);

    const stored = encodeChunk(members);
    expect(decodeChunk(stored)).toEqual(members);
    expect(stored.length).toBeLessThan(members.join('\n').length / 3);
    // Every printable UserID survives, including ones that look like the separator's neighbours.
    const odd = ['a b', '~!@#$%^&*()', 'x'.repeat(32), '0'];
    expect(decodeChunk(encodeChunk(odd))).toEqual(odd);
  });

  it('marks the chunks of a watchlist without detail that hold a user of a watchlist with detail', async () => {
    const { deps, redis, keys, registry } = setup();
    const everyone = Array.from({ length: 1_200 }, (_, i) => `e${String(i).padStart(4, '0')}`);
    await syncWatchlists(deps, [
      list('everyone', everyone),
      { ...list('vip', ['e0700', 'x']), detail: true, deviceEvents: true },
    ]);
    const vip = await registry.get('vip');
    expect(await registry.get('everyone')).toMatchObject({ detailChunks: [1] });
    expect(vip).not.toHaveProperty('detailChunks');
    expect(await redis.get(keys.detailWatchlistIds)).toBe(String(vip!.id));
    expect(await redis.get(keys.deviceEventWatchlistIds)).toBe(String(vip!.id));

    await syncWatchlists(deps, [list('everyone', everyone), list('vip', ['e0700'])]);
    expect(await registry.get('everyone')).not.toHaveProperty('detailChunks');
    expect(await redis.get(keys.detailWatchlistIds)).toBe('');
    expect(await redis.get(keys.deviceEventWatchlistIds)).toBe('');
  });
});

describe('chunksWithDetailUsers', () => {
  it('names each chunk of 500 once, and none without detail users', () => {
    const ids = Array.from({ length: 1_001 }, (_, i) => `u${i}`);
    expect(chunksWithDetailUsers(ids, new Set(['u3', 'u4', 'u1000']))).toEqual([0, 2]);
    expect(chunksWithDetailUsers(ids, new Set())).toEqual([]);
  });
});
