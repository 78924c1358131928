/**
 * Every Redis key the product uses, in one place. All keys of one app share the hash tag `{<prefix>:<sdkAppId>}`,
 * so Lua scripts that touch several of them stay valid on Redis Cluster and apps spread over slots.
 */

/**
 * Per-user state lives in this many hash buckets per app. Small hashes stay listpack-encoded (a user costs its
 * UserID and record plus 4 bytes, instead of ~90 bytes more in a hash table): Redis keeps a hash compact up to 128
 * fields (hash-max-listpack-entries), so 16,384 buckets keep an app compact up to ~2M users. Each bucket key costs
 * ~100 bytes of its own (~1.7 B a user at 1M). It must be the same in every process of a deployment: changing it
 * orphans state.
 */
export const DEFAULT_STATE_BUCKETS = 16_384;

/** `redis.outboxShards` default: one outbox stream and one relay lease per app. */
export const DEFAULT_OUTBOX_SHARDS = 1;

/**
 * `redis.snapshotPriority`: `normal` puts every entry in the outbox stream of its shard (one stream per shard);
 * `low` puts `snapshot` entries in a second stream per shard that the relay publishes only while the first is
 * empty, so transitions are not held up behind a first sweep's snapshots (see "Low-priority snapshots" in
 * events/lua/include/outbox-entry.lua).
 */
export type SnapshotPriority = 'normal' | 'low';
export const DEFAULT_SNAPSHOT_PRIORITY: SnapshotPriority = 'normal';

export interface AppKeys {
  /** The hash tag shared by every key of the app, e.g. `{presence:1400000000}`. */
  tag: string;
  /** BullMQ prefix for the app's queues (inside the same hash tag). */
  bullPrefix: string;
  /** Stream of events not yet acknowledged by Kafka: the outbox of shard 0 (the only one with a single shard). */
  outbox: string;
  /**
   * The outbox is split into this many shards by user (`redis.outboxShards`): each is a stream of its own with a
   * relay lease of its own, so several relay processes publish an app in parallel, every user's events in order.
   */
  outboxShards: number;
  /** The outbox stream of a shard (0 .. outboxShards - 1); shard 0 is `outbox`. */
  outboxShard(shard: number): string;
  /** The shard holding a user's events: its state bucket's number modulo the shards (the Lua scripts know it). */
  outboxShardOf(userId: string): number;
  /** The shard of a state bucket, by the bucket's number. */
  outboxShardOfBucket(bucket: number): number;
  /**
   * `redis.snapshotPriority`: with `low`, each shard also has `lowOutboxShard` and `lowPendingOf` (read and drained
   * with `normal` too: a switch back leaves them until the relay published them).
   */
  snapshotPriority: SnapshotPriority;
  /** Stream of a shard's low-priority entries (`snapshot`s, with `redis.snapshotPriority: low`). */
  lowOutboxShard(shard: number): string;
  /**
   * Hash of a shard's low-priority stream: UserID -> id of the user's pending entry in it (at most one), and the
   * field `@claim` (no UserID starts with `@`): the last id of the low batch the relay is publishing.
   */
  lowPendingOf(shard: number): string;
  /** Hash: relay bookkeeping (published and dead-lettered counters of every shard, last published id per shard). */
  relayState: string;
  /**
   * Stream of outbox entries Kafka refused for their size (a record larger than the topic accepts): kept with
   * their original fields so `presence-poller dead-letters replay` can put them back in the outbox.
   */
  deadLetters: string;
  /** String: the relay lease of shard 0 (value = holder token, `<host>:<pid>:<random>`). */
  relayLease: string;
  /** The relay lease of an outbox shard; shard 0 is `relayLease`. */
  relayLeaseOf(shard: number): string;
  /**
   * Sorted set: the relay processes of the app (member: a process's token, score: its last announcement, Redis time
   * in ms), so each holds a fair share of the shard leases (relay/relay-group.ts).
   */
  relayMembers: string;
  /** Hash: the outcome of the app's last calls (`lastOkAt`, `lastFailedAt`, `lastFailureKind`, `lastFailureCode`). */
  callStatus: string;
  /** Sorted set: users named by state-change callbacks, waiting for a hint call (score: first callback, ms). */
  hints: string;
  /** Counter of hint calls started in one second (schedule/lua/take-hints.lua). */
  hintCalls(second: number): string;
  /** Hash: pacer reservations (`next`, `factor`, `adjustedAt`). */
  pacer: string;
  /** Hash: watchlist name -> JSON definition of the active version (the registry). */
  watchlists: string;
  /** Hash: watchlist numeric id -> JSON {name, topic}; ids are never reused, names outlive removal. */
  watchlistIds: string;
  /** String: the last watchlist id handed out. */
  watchlistIdCounter: string;
  /** String: content hash of the config last synced (processes converge on it). */
  configVersion: string;
  /** String: a short lock held while one process syncs a new config. */
  syncLock: string;
  /**
   * String: when this Redis's data began (ms). Written once after the first sync, never deleted: its absence means
   * Redis lost its data (restart without persistence, failover to an empty replica, FLUSHALL). roles/state-recovery.ts
   */
  generation: string;
  /** String: a lock held while one process restores the app's states from the state topic. */
  restoreLock: string;
  /** Hash: watchlist id -> {name, from, to} member versions whose leaving members are not removed yet. */
  pendingRemovals: string;
  /** String: comma-separated ids of the watchlists with `detail`; a user in any of them gets `devices`. */
  detailWatchlistIds: string;
  /** String: comma-separated ids of the watchlists with `deviceEvents`; a user in any of them gets `devices` events. */
  deviceEventWatchlistIds: string;
  /** List of chunk blobs (at most 500 UserIDs each, deflated: state/watchlist-registry.ts) of one watchlist version. */
  watchlistChunks(name: string, version: string): string;
  /** Hash: progress of the current sweep of a watchlist (overlap policy) and its counters. */
  sweep(name: string): string;
  /**
   * Hash: chunk field (version:index) -> last observation time applied, and `<field>|s` -> the chunk's packed
   * states (see state/lua/apply-observations.lua).
   */
  chunkWatermarks(name: string): string;
  /**
   * Hash: watchlist id -> count of state-record writes to its members that its chunks' packed states did not make
   * (state/lua/apply-observations.lua): a packed state is trusted only while this count is unchanged.
   */
  stateWrites: string;
  /** Written by the relay right before it waits for replicas (redis.waitForReplicas): a counter, never read. */
  replicationMark: string;
  /** Bitmap of the chunks of the current sweep that have finished (so a re-run chunk is counted once). */
  sweepDone(name: string): string;
  /** The hash bucket holding a user's state record. */
  stateBucketOf(userId: string): string;
  /** The number of a user's state bucket (0 .. stateBuckets - 1), and the key of a bucket by number. */
  stateBucketIndexOf(userId: string): number;
  stateBucket(index: number): string;
  /** A bucket's id as the per-user scripts name it: its number in base 36 (the end of its key). */
  stateBucketId(index: number): string;
  /** The most characters of a bucket id (the ids of the last bucket). */
  stateBucketIdWidth: number;
  /**
   * The argument the per-user scripts name a user's bucket and outbox shard from (`<tag>,<outboxShards>,<snapshot
   * priority>,<stateBucketIdWidth>`; see "Per-user keys" in events/lua/include/outbox-entry.lua): they are not
   * passed as KEYS.
   */
  keySpace: string;
}

/** The keys of an app as the `redis` section of the configuration names them (prefix and outbox shards). */
export function configuredAppKeys(
  redis: { prefix: string; outboxShards: number; snapshotPriority?: SnapshotPriority },
  sdkAppId: number,
): AppKeys {
  return appKeys(
    redis.prefix,
    sdkAppId,
    DEFAULT_STATE_BUCKETS,
    redis.outboxShards,
    redis.snapshotPriority ?? DEFAULT_SNAPSHOT_PRIORITY,
  );
}

/** The field of `relayState` holding the id of the last entry a shard published. */
export function relayLastIdField(shard: number): string {
  return shard === 0 ? 'lastId' : `lastId:${shard}`;
}

export function appKeys(
  prefix: string,
  sdkAppId: number,
  stateBuckets = DEFAULT_STATE_BUCKETS,
  outboxShards = DEFAULT_OUTBOX_SHARDS,
  snapshotPriority: SnapshotPriority = DEFAULT_SNAPSHOT_PRIORITY,
): AppKeys {
  if (!Number.isInteger(outboxShards) || outboxShards < 1) {
    throw new RangeError(`outboxShards must be a positive integer, not ${outboxShards}`);
  }
  const tag = `{${prefix}:${sdkAppId}}`;
  // One string per bucket, built on first use and reused: what an ioredis command's arguments reference survives
  // the young-generation GCs, and a fresh key string per user was a quarter of the garbage of a 1M-member sync.
  const bucketIds: string[] = [];
  const bucketKeys: string[] = [];
  const stateBucketId = (index: number): string => (bucketIds[index] ??= index.toString(36));
  const stateBucket = (index: number): string => (bucketKeys[index] ??= `${tag}:s:${stateBucketId(index)}`);
  const stateBucketIdWidth = (stateBuckets - 1).toString(36).length;
  // FNV-1a of the UserID: stable forever, since changing it orphans stored state.
  const stateBucketIndexOf = (userId: string): number => fnv1a32(userId) % stateBuckets;
  // Shard 0 keeps the names of the single outbox, so a deployment going from one shard to several (with the outbox
  // drained first: README "Outbox shards") keeps its keys.
  const outboxShard = (shard: number): string => (shard === 0 ? `${tag}:outbox` : `${tag}:outbox:${shard}`);
  const relayLeaseOf = (shard: number): string =>
    shard === 0 ? `${tag}:relay:lease` : `${tag}:relay:lease:${shard}`;
  const outboxShardOfBucket = (bucket: number): number => bucket % outboxShards;
  return {
    tag,
    bullPrefix: `${tag}:bull`,
    outbox: outboxShard(0),
    outboxShards,
    outboxShard,
    outboxShardOf: (userId) => outboxShardOfBucket(stateBucketIndexOf(userId)),
    outboxShardOfBucket,
    snapshotPriority,
    lowOutboxShard: (shard) => `${outboxShard(shard)}:low`,
    lowPendingOf: (shard) => `${outboxShard(shard)}:low-pending`,
    relayState: `${tag}:relay`,
    deadLetters: `${tag}:dead-letters`,
    relayLease: relayLeaseOf(0),
    relayLeaseOf,
    relayMembers: `${tag}:relay:members`,
    callStatus: `${tag}:call-status`,
    pacer: `${tag}:pacer`,
    hints: `${tag}:hints`,
    hintCalls: (second) => `${tag}:hint-calls:${second}`,
    watchlists: `${tag}:watchlists`,
    watchlistIds: `${tag}:watchlist-ids`,
    watchlistIdCounter: `${tag}:watchlist-id-counter`,
    configVersion: `${tag}:config-version`,
    syncLock: `${tag}:sync-lock`,
    generation: `${tag}:generation`,
    restoreLock: `${tag}:restore-lock`,
    pendingRemovals: `${tag}:pending-removals`,
    detailWatchlistIds: `${tag}:detail-watchlist-ids`,
    deviceEventWatchlistIds: `${tag}:device-event-watchlist-ids`,
    watchlistChunks: (name, version) => `${tag}:wl:${name}:${version}`,
    sweep: (name) => `${tag}:sweep:${name}`,
    sweepDone: (name) => `${tag}:sweep:${name}:done`,
    chunkWatermarks: (name) => `${tag}:watermarks:${name}`,
    stateWrites: `${tag}:state-writes`,
    replicationMark: `${tag}:replication-mark`,
    stateBucketOf: (userId) => stateBucket(stateBucketIndexOf(userId)),
    stateBucketIndexOf,
    stateBucket,
    stateBucketId,
    stateBucketIdWidth,
    keySpace: `${tag},${outboxShards},${snapshotPriority},${stateBucketIdWidth}`,
  };
}

/** FNV-1a (32-bit) of a string's UTF-16 code units: a fast, stable, non-cryptographic hash. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
