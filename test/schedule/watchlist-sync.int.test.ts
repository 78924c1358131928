import { describe, expect, it } from 'vitest';
import { parseOutboxEntry } from '../../src/events/outbox-entry.js';
import { syncWatchlists, type WatchlistSpec } from '../../src/schedule/watchlist-sync.js';
import { appKeys } from '../../src/state/keys.js';
import { createStateStore } from '../../src/state/state-store.js';
import { createWatchlistRegistry } from '../../src/state/watchlist-registry.js';
import { testRedis, uniqueName } from '../helpers/services.js';

function setup() {
  const redis = testRedis();
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

  it('does nothing when Redis already holds the same configuration', async () => {
    const { deps } = setup();
    const specs = [list('a', ['u1', 'u2'])];
    expect((await syncWatchlists(deps, specs)).changed).toBe(true);
    expect((await syncWatchlists(deps, specs)).changed).toBe(false);
  });
});
