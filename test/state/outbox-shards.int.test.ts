import { describe, expect, it } from 'vitest';
import { parseOutboxEntry } from '../../src/events/outbox-entry.js';
import { replayDeadLetters } from '../../src/relay/dead-letters.js';
import { outboxLength } from '../../src/relay/outbox-view.js';
import { appKeys, type SnapshotPriority } from '../../src/redis/keys.js';
import { createStateStore } from '../../src/state/state-store.js';
import { userIds } from '../helpers/pipeline.js';
import { testRedis, uniqueName } from '../helpers/services.js';
import { UserIdList } from '../../src/tencent/user-id-list.js';

const SHARDS = 4;

/**
 * The Lua scripts choose a user's outbox shard from the state bucket they are given; the TypeScript side (the
 * relay's dead-letter replay, tests, tools) from the UserID. Both must agree for every script that appends.
 */
describe('outbox shards', () => {
  function setup(priority: SnapshotPriority = 'normal') {
    const redis = testRedis();
    // Few buckets, so a call's users share buckets (several users per bucket, several buckets per shard).
    const keys = appKeys(uniqueName('shards'), 1400000000, 32, SHARDS, priority);
    const store = createStateStore(redis, keys);
    /** Every shard's entries (of its low-priority streams with `low`), as [shard, userId, kind, seq]. */
    const entries = async (low = false) => {
      const all: Array<[number, string, string, number]> = [];
      for (let shard = 0; shard < SHARDS; shard++) {
        const stream = low ? keys.lowOutboxShard(shard) : keys.outboxShard(shard);
        const rows = (await redis.xrange(stream, '-', '+')) as Array<[string, string[]]>;
        for (const entry of rows.map(parseOutboxEntry))
          all.push([shard, entry.userId, entry.kind, entry.seq]);
      }
      return all;
    };
    return { redis, keys, store, entries };
  }
  const users = userIds(200);

  it.each(['normal', 'low'] as const)(
    'every appending script writes a user’s entries to the shard the TypeScript side computes (snapshots %s)',
    async (priority) => {
      const { redis, keys, store, entries } = setup(priority);
      await store.updateMembership({ op: 'add', watchlistId: 1, userIds: users, nowMs: 500 });
      // The per-user path (observation objects) and the coded path (letters), with snapshots on first sight.
      const half = users.length / 2;
      await store.applyObservations({
        source: { watchlist: 'w', version: 'v1', chunk: 0 },
        observedAtMs: 1_000,
        firstObservation: 'snapshot',
        deviceEvents: false,
        observations: users
          .slice(0, half)
          .map((userId) => ({ userId, code: 'N', deviceHash: '', devicesJson: '' }) as const),
      });
      await store.applyObservations({
        source: { watchlist: 'w', version: 'v1', chunk: 1 },
        observedAtMs: 1_000,
        firstObservation: 'snapshot',
        deviceEvents: false,
        observations: { userIds: UserIdList.of(users.slice(half)), codes: 'F'.repeat(users.length - half) },
      });
      await store.emitSnapshots(users);
      if (priority === 'low') {
        // Each user's second snapshot waits in its shard's low stream; the first moved ahead of it.
        const waiting = await entries(true);
        expect(waiting).toHaveLength(users.length);
        for (const [shard, userId, kind, seq] of waiting) {
          expect([shard, kind, seq], userId).toEqual([keys.outboxShardOf(userId), 'snapshot', 2]);
        }
        expect(await outboxLength(redis, keys)).toBe(2 * users.length);
      }
      await store.updateMembership({ op: 'add', watchlistId: 2, userIds: users, nowMs: 2_000 });
      await store.updateMembership({ op: 'remove', watchlistId: 2, userIds: users, nowMs: 3_000 });
      await store.updateMembership({ op: 'remove', watchlistId: 1, userIds: users, nowMs: 4_000 });

      const written = await entries();
      const kinds = ['snapshot', 'snapshot', 'membership', 'membership', 'untracked'];
      expect(written).toHaveLength(users.length * kinds.length);
      for (const [shard, userId] of written) expect(shard, userId).toBe(keys.outboxShardOf(userId));
      // Every shard is used, and each user's entries sit in one stream in their order.
      expect(new Set(written.map(([shard]) => shard)).size).toBe(SHARDS);
      for (const userId of users) {
        const own = written.filter(([, user]) => user === userId);
        expect(own.map(([, , kind]) => kind)).toEqual(kinds);
      }
      expect(await outboxLength(redis, keys)).toBe(written.length);
      // With low priority, the membership entries moved every waiting snapshot ahead of them.
      expect(await entries(true)).toEqual([]);
      for (let shard = 0; shard < SHARDS; shard++) expect(await redis.hlen(keys.lowPendingOf(shard))).toBe(0);
    },
  );

  it('a replayed dead letter goes back to its user’s shard', async () => {
    const { redis, keys } = setup();
    const user = users.find((userId) => keys.outboxShardOf(userId) === 2)!;
    const fields = ['u', user, 'k', 'transition', 'f', 'F', 't', 'N', 's', '3', 'o', '1000', 'p', '900'];
    await redis.xadd(
      keys.deadLetters,
      '*',
      '_outboxId',
      '1-1',
      '_eventId',
      'x',
      '_reason',
      'too large',
      ...fields,
    );
    expect(await replayDeadLetters(redis, keys)).toBe(1);
    const rows = (await redis.xrange(keys.outboxShard(2), '-', '+')) as Array<[string, string[]]>;
    expect(rows.map(([, f]) => f)).toEqual([fields]);
    expect(await outboxLength(redis, keys)).toBe(1);
    expect(await redis.xlen(keys.deadLetters)).toBe(0);
  });
});
