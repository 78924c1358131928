import type { RedisClient } from '../redis/client.js';
import type { AppKeys } from '../redis/keys.js';
import { defineScripts, type ScriptSpec } from '../redis/scripts.js';
import {
  DETECTION_LETTERS,
  isObservedCode,
  type FirstObservationPolicy,
  type ObservedCode,
} from '../vocabulary.js';
import { decodeRecord, type StoredState } from './record.js';

/** What one chunk saw for one user. */
export interface Observation {
  userId: string;
  code: ObservedCode;
  /** Short hash of the device list ('' without detail), so device-only changes are detectable cheaply. */
  deviceHash: string;
  /** Devices as JSON for the event ('' without detail). */
  devicesJson: string;
}

/**
 * One chunk's answer to a query without detail, as the compact reading gives it (tencent/parse-codes.ts): the asked
 * IDs and one letter per ID. Users whose letter is no observed code (an account error, a set-aside entry) are left
 * untouched, exactly as `toObservations` leaves them out.
 */
export interface CodedObservations {
  userIds: readonly string[];
  codes: string;
}

export interface ApplyResult {
  applied: number;
  events: number;
  stale: number;
  untracked: number;
}

export interface MembershipResult {
  changed: number;
  untracked: number;
}

export interface StateStore {
  /** Diffs one chunk's answer against stored states and appends its events to the outbox, in one atomic script. */
  applyObservations(input: {
    /**
     * The chunk that observed: its watermark orders retried and concurrent attempts. `hint`: a hint call;
     * `callback`: a trusted callback's state. Neither has a chunk or a watermark.
     */
    source: { watchlist: string; version: string; chunk: number } | 'hint' | 'callback';
    observedAtMs: number;
    firstObservation: FirstObservationPolicy;
    deviceEvents: boolean;
    observations: readonly Observation[] | CodedObservations;
  }): Promise<ApplyResult>;
  /** Adds users to, or removes them from, one watchlist (untracked events for users left in none). */
  updateMembership(input: {
    op: 'add' | 'remove';
    watchlistId: number;
    userIds: readonly string[];
    nowMs: number;
  }): Promise<MembershipResult>;
  /** Re-publishes the current state of these users as `snapshot` events (next seq each); returns how many. */
  emitSnapshots(userIds: readonly string[]): Promise<number>;
  readState(userId: string): Promise<StoredState | undefined>;
  /** The records of several users in one round trip, in order (`undefined`: not tracked). */
  readStates(userIds: readonly string[]): Promise<Array<StoredState | undefined>>;
}

const SCRIPTS = {
  presenceApplyObservations: { source: 'state/apply-observations' },
  presenceUpdateMembership: { source: 'state/update-membership' },
  presenceEmitSnapshots: { source: 'state/emit-snapshots' },
} satisfies Record<string, ScriptSpec>;
/** Users per membership / snapshot script call: keeps each script short so Redis never blocks long. */
const MEMBERSHIP_BATCH = 1_000;

function growTo(array: Int32Array, size: number): Int32Array {
  const grown = new Int32Array(size);
  grown.set(array);
  return grown;
}

/** The per-app state store: every change goes through one of the Lua scripts in ./lua. */
export function createStateStore(redis: RedisClient, keys: AppKeys): StateStore {
  const commands = defineScripts(redis, SCRIPTS);

  /**
   * The KEYS index of each bucket in the script call being built, valid where `bucketStamp` holds the call's stamp:
   * reused from call to call (building is synchronous), so no map or array is allocated per call.
   */
  let bucketSlot: Int32Array = new Int32Array(0);
  let bucketStamp: Int32Array = new Int32Array(0);
  let stamp = 0;

  /** The numbers of the buckets in the call being built, in KEYS order (for its outbox layout). */
  let callBuckets: number[] = [];

  /** Starts building a script call's KEYS: the buckets met from now on are numbered from scratch. */
  function newCall(): void {
    stamp += 1;
    callBuckets = [];
  }

  /**
   * The KEYS index (1-based) of the user's state bucket in `keysList`, appending the bucket's key the first time the
   * call being built (the current `stamp`) meets it. Buckets are looked up by number: no string per user.
   */
  function bucketSlotOf(userId: string, keysList: string[]): number {
    const bucket = keys.stateBucketIndexOf(userId);
    if (bucket >= bucketSlot.length) {
      const size = Math.max(bucket + 1, bucketSlot.length * 2, 1_024);
      bucketSlot = growTo(bucketSlot, size);
      bucketStamp = growTo(bucketStamp, size);
    }
    if (bucketStamp[bucket] !== stamp) {
      bucketStamp[bucket] = stamp;
      keysList.push(keys.stateBucket(bucket));
      callBuckets.push(bucket);
      bucketSlot[bucket] = keysList.length;
    }
    return bucketSlot[bucket]!;
  }

  /**
   * Appends the outbox streams of the shards the call's buckets need (shard 0 is KEYS[1] already) and returns the
   * script's layout argument: the KEYS index of each bucket's outbox, in KEYS order ('' with a single shard). See
   * "Outbox shards" in events/lua/include/outbox-entry.lua. With low-priority snapshots every shard's outbox,
   * shard 0's too, is appended with its low stream and hash after it, and the layout starts with `L`.
   */
  function outboxLayout(keysList: string[]): string {
    const low = keys.snapshotPriority === 'low';
    if (keys.outboxShards === 1 && !low) return '';
    const slotOfShard = new Map<number, number>(low ? [] : [[0, 1]]);
    const slots = callBuckets.map((bucket) => {
      const shard = keys.outboxShardOfBucket(bucket);
      let slot = slotOfShard.get(shard);
      if (slot === undefined) {
        keysList.push(keys.outboxShard(shard));
        slot = keysList.length;
        if (low) keysList.push(keys.lowOutboxShard(shard), keys.lowPendingOf(shard));
        slotOfShard.set(shard, slot);
      }
      return slot;
    });
    return (low ? 'L' : '') + slots.join(',');
  }

  /**
   * KEYS = [...leading, ...distinct buckets, ...outboxes of other shards]; with the KEYS index (1-based) of each
   * user's bucket, in order, and the outbox layout.
   */
  function bucketKeys(
    userIds: readonly string[],
    leading: string[],
  ): { keys: string[]; indexOf: number[]; layout: string } {
    const keysList = [...leading];
    newCall();
    const indexOf = userIds.map((userId) => bucketSlotOf(userId, keysList));
    return { keys: keysList, indexOf, layout: outboxLayout(keysList) };
  }

  /**
   * Runs a per-user script over batches of users, one batch at a time: `call` gets KEYS = `leading` + the batch's
   * buckets (+ outboxes of other shards), each user's KEYS index and the outbox layout. Returns each batch's reply
   * as numbers.
   */
  async function runPerUserBatches(
    userIds: readonly string[],
    leading: readonly string[],
    call: (
      scriptKeys: string[],
      batch: readonly string[],
      indexOf: number[],
      layout: string,
    ) => Promise<unknown>,
  ): Promise<number[][]> {
    const replies: number[][] = [];
    for (let start = 0; start < userIds.length; start += MEMBERSHIP_BATCH) {
      const batch = userIds.slice(start, start + MEMBERSHIP_BATCH);
      const { keys: scriptKeys, indexOf, layout } = bucketKeys(batch, [...leading]);
      const reply = await call(scriptKeys, batch, indexOf, layout);
      replies.push((Array.isArray(reply) ? reply : [reply]).map(Number));
    }
    return replies;
  }

  /** Packs coded observations into the script's argument with their buckets, without an object per user. */
  function packCodes(
    { userIds, codes }: CodedObservations,
    leading: string[],
  ): { keys: string[]; packed: string; count: number; layout: string } {
    const keysList = leading;
    newCall();
    let packed = '';
    let count = 0;
    for (let i = 0; i < userIds.length; i += 1) {
      const code = codes[i]!;
      if (!isObservedCode(code)) continue;
      const userId = userIds[i]!;
      packed += `${count === 0 ? '' : '\n'}${userId}\t${bucketSlotOf(userId, keysList)}\t${code}\t\t`;
      count += 1;
    }
    return { keys: keysList, packed, count, layout: outboxLayout(keysList) };
  }

  return {
    async applyObservations({ source, observedAtMs, firstObservation, deviceEvents, observations }) {
      const leading = [
        keys.outbox,
        // Without a chunk (hint call, trusted callback) the watermark key is passed but never read (the script's
        // chunk field is '').
        typeof source === 'string' ? keys.hints : keys.chunkWatermarks(source.watchlist),
        keys.detailWatchlistIds,
        keys.deviceEventWatchlistIds,
        keys.watchlists,
        keys.stateWrites,
      ];
      let scriptKeys: string[];
      let packed: string;
      let layout: string;
      if ('codes' in observations) {
        const coded = packCodes(observations, leading);
        if (coded.count === 0) return { applied: 0, events: 0, stale: 0, untracked: 0 };
        ({ keys: scriptKeys, packed, layout } = coded);
      } else {
        if (observations.length === 0) return { applied: 0, events: 0, stale: 0, untracked: 0 };
        const buckets = bucketKeys(
          observations.map((o) => o.userId),
          leading,
        );
        scriptKeys = buckets.keys;
        layout = buckets.layout;
        // One packed argument instead of five per user: far less work building and parsing the command.
        packed = observations
          .map((o, i) => `${o.userId}\t${buckets.indexOf[i]}\t${o.code}\t${o.deviceHash}\t${o.devicesJson}`)
          .join('\n');
      }
      const [applied = 0, events = 0, stale = 0, untracked = 0] = (await commands.presenceApplyObservations(
        scriptKeys.length,
        ...scriptKeys,
        observedAtMs,
        firstObservation,
        deviceEvents ? '1' : '0',
        typeof source === 'string' ? '' : `${source.version}:${source.chunk}`,
        packed,
        // The letters let the script compare the chunk with its packed states (see apply-observations.lua).
        'codes' in observations ? observations.codes : '',
        typeof source === 'string' ? '' : source.watchlist,
        DETECTION_LETTERS[typeof source === 'string' ? source : 'sweep'],
        layout,
      )) as number[];
      return { applied, events, stale, untracked };
    },

    async updateMembership({ op, watchlistId, userIds, nowMs }) {
      const results = await runPerUserBatches(
        userIds,
        [keys.outbox, keys.stateWrites],
        (scriptKeys, batch, indexOf, layout) =>
          commands.presenceUpdateMembership(
            scriptKeys.length,
            ...scriptKeys,
            nowMs,
            op,
            watchlistId,
            // One packed argument, as for observations: 1,000 users are one string, not 2,000 arguments.
            batch.map((userId, i) => `${userId}\t${indexOf[i]}`).join('\n'),
            layout,
          ),
      );
      return {
        changed: results.reduce((sum, [changed = 0]) => sum + changed, 0),
        untracked: results.reduce((sum, [, untracked = 0]) => sum + untracked, 0),
      };
    },

    async emitSnapshots(userIds) {
      const results = await runPerUserBatches(userIds, [keys.outbox], (scriptKeys, batch, indexOf, layout) =>
        commands.presenceEmitSnapshots(
          scriptKeys.length,
          ...scriptKeys,
          layout,
          ...batch.flatMap((userId, i) => [userId, indexOf[i]!]),
        ),
      );
      return results.reduce((sum, [emitted = 0]) => sum + emitted, 0);
    },

    async readState(userId) {
      const record = await redis.hget(keys.stateBucketOf(userId), userId);
      return record === null ? undefined : decodeRecord(record);
    },
    async readStates(userIds) {
      const pipeline = redis.pipeline();
      for (const userId of userIds) pipeline.hget(keys.stateBucketOf(userId), userId);
      const results = (await pipeline.exec()) ?? [];
      return results.map(([error, record]) => {
        if (error) throw error;
        return typeof record === 'string' ? decodeRecord(record) : undefined;
      });
    },
  };
}
