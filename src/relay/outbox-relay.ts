import type { RedisClient } from '../redis/client.js';
import type { Message } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatEventId, type ProducedRecord } from '@presence-poller/events';
import { isEventEntry, kafkaRecordsOf, parseOutboxEntry, type OutboxEntry } from '../events/outbox-entry.js';
import type { FlowEvents } from '../ops/flow-events.js';
import type { Logger } from '../ops/logger.js';
import { redactSecrets } from '../ops/redact.js';
import { relayLastIdField, type AppKeys } from '../redis/keys.js';
import { createLease } from '../redis/lease.js';
import { defineScripts, type ScriptSpec } from '../redis/scripts.js';
import { isTooLargeError } from './kafka.js';
import { outboxLength } from './outbox-view.js';
import type { ProducerSession } from './producer-session.js';
import type { WatchlistName, WatchlistRegistry } from '../state/watchlist-registry.js';

/** `kafka.maxBatchBytes` default: half of the broker's default `message.max.bytes` (~1 MiB). */
export const DEFAULT_MAX_BATCH_BYTES = 512 * 1024;

/**
 * Outbox entries the relay reads and publishes at a time: one trim and, fenced, one transaction each (the byte cap
 * splits them into requests). Large because those are fixed costs per read: fenced, a read of 4,000 instead of
 * 1,000 entries drained a backlog ~20 % faster (BENCHMARKS.md "Reads of 4,000 entries"); a read is only as large as
 * what waits, so without a backlog nothing waits longer.
 */
export const RELAY_BATCH_ENTRIES = 4_000;

/** `redis.outboxWarnEntries` default. */
export const DEFAULT_OUTBOX_WARN_ENTRIES = 1_000_000;
const OUTBOX_WARNING_INTERVAL_MS = 60_000;

/** An XRANGE row of the outbox: `[id, [field, value, ...]]`. */
type OutboxRow = [string, string[]];

/** The stream a batch comes from: the shard's outbox, or its low-priority stream (`redis.snapshotPriority: low`). */
type Stream = 'high' | 'low';

interface TopicRecord {
  topic: string;
  message: Message;
}

/** An outbox entry on its way to Kafka: its records, their size, and its raw fields (for the dead-letter stream). */
interface PendingEntry {
  entry: OutboxEntry;
  fields: string[];
  eventId: string;
  records: TopicRecord[];
  bytes: number;
}

/**
 * Kafka's per-record overhead in a v2 record batch is at most ~20 bytes, plus ~10 per header: rounded up, so the
 * byte count of a batch (before compression) errs on the large side.
 */
const RECORD_OVERHEAD_BYTES = 64;
const HEADER_OVERHEAD_BYTES = 16;

/** How long the relay waits for replicas to acknowledge a batch (`waitForReplicas`) before it holds the batch back. */
const REPLICA_WAIT_MS = 1_000;
/** Redis's answers for a command this connection may not run: no ACL permission, or renamed away. */
const REFUSED_COMMAND = /^(NOPERM|ERR unknown command)/;

/** Headers whose values repeat on every record of an app (or of a kind): encoded once, shared by every record. */
const REPEATED_HEADERS = new Set(['ce_specversion', 'ce_source', 'ce_type', 'ce_dataschema', 'content-type']);

/**
 * Turns a built record into what kafkajs sends: the value as bytes and the repeated header values as shared
 * Buffers, with the record's size computed on the way rather than by scanning the strings again.
 */
export function createRecordEncoder(): (record: ProducedRecord) => { message: Message; bytes: number } {
  const repeated = new Map<string, Buffer>();
  return (record) => {
    const value = record.value === null ? null : Buffer.from(record.value);
    let bytes = RECORD_OVERHEAD_BYTES + Buffer.byteLength(record.key) + (value?.length ?? 0);
    const headers: Record<string, Buffer | string> = {};
    for (const name in record.headers) {
      const text = record.headers[name]!;
      let header: Buffer | string = text;
      if (REPEATED_HEADERS.has(name)) {
        header = repeated.get(text) ?? Buffer.from(text);
        repeated.set(text, header);
        bytes += HEADER_OVERHEAD_BYTES + name.length + header.length;
      } else {
        bytes += HEADER_OVERHEAD_BYTES + name.length + Buffer.byteLength(text);
      }
      headers[name] = header;
    }
    return { message: { key: record.key, value, headers }, bytes };
  };
}

/**
 * A read started ahead of its use: its failure is reported where it is awaited; this only keeps it from counting as
 * unhandled meanwhile (or when it is dropped because the relay stopped first).
 */
function ignoreUntilAwaited<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** The id right after `id` in a stream: the smallest id XTRIM MINID keeps when `id` and everything before go. */
export function nextStreamId(id: string): string {
  const dash = id.indexOf('-');
  return `${id.slice(0, dash)}-${BigInt(id.slice(dash + 1)) + 1n}`;
}

/** Consecutive batches of at most `maxBytes` each (an entry larger than that is a batch of its own). */
function byteCappedBatches(entries: PendingEntry[], maxBytes: number): PendingEntry[][] {
  const batches: PendingEntry[][] = [];
  let current: PendingEntry[] = [];
  let bytes = 0;
  for (const pending of entries) {
    if (current.length > 0 && bytes + pending.bytes > maxBytes) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(pending);
    bytes += pending.bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** The batch's records grouped by topic, in outbox order within each topic (what `sendBatch` takes). */
function groupByTopic(batch: PendingEntry[]): Array<{ topic: string; messages: Message[] }> {
  const byTopic = new Map<string, Message[]>();
  for (const { records } of batch) {
    for (const { topic, message } of records) {
      const list = byTopic.get(topic);
      if (list) list.push(message);
      else byTopic.set(topic, [message]);
    }
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

export interface RelayOptions {
  sdkAppId: number;
  /** The outbox shard this relay publishes (`redis.outboxShards`). Default 0: the only one of a single outbox. */
  shard?: number;
  /** Default topic for events of watchlists without their own. */
  transitionsTopic: string;
  /** Compacted topic with the latest state per user. */
  stateTopic: string;
  /** Entries per read (one trim, and fenced one transaction). Default `RELAY_BATCH_ENTRIES`. */
  batchSize?: number;
  /**
   * Bytes per Kafka batch (keys, values, headers and per-record overhead, before compression); a batch holds at
   * least one entry whatever its size. Default 512 KiB (`kafka.maxBatchBytes`).
   */
  maxBatchBytes?: number;
  /**
   * After a read that did not fill a batch, the next read of the same stream waits until this long after it
   * (`kafka.linger`): a steady trickle of events then goes out as one batch (one transaction, fenced) per
   * `lingerMs` instead of one per Kafka round trip, and a backlog (full reads) is read without waiting. Default 0.
   */
  lingerMs?: number;
  /** Lease time; renewed every third of it. Default 10 s. */
  leaseMs?: number;
  /**
   * Redis replicas that must acknowledge everything written before a batch is sent to Kafka (`redis.waitForReplicas`,
   * Redis WAIT): a failover to a replica then cannot lose a change whose event is already out. Fewer within
   * `REPLICA_WAIT_MS`: the batch is held and retried with backoff. Default 0 (no wait).
   */
  waitForReplicas?: number;
  /** Longest wait between publish retries while Kafka is unavailable. Default 5 s. */
  maxBackoffMs?: number;
  /**
   * Outbox length above which the relay warns (at most once a minute) that events pile up, long before Redis
   * memory is at risk (`redis.outboxWarnEntries`). Default 1,000,000.
   */
  outboxWarnEntries?: number;
}

export interface RelayDeps {
  redis: RedisClient;
  /** A separate connection: it blocks in XREAD while the outbox is empty. */
  blockingRedis: RedisClient;
  keys: AppKeys;
  registry: WatchlistRegistry;
  /** The app's producer, connected when Kafka can be reached; topics are ensured through it before first use. */
  kafka: ProducerSession;
  events: FlowEvents;
  logger: Logger;
  /**
   * The relay process's fair share of the app's shard leases (relay/relay-group.ts); absent, the relay competes for
   * its lease alone (a single shard, or a test).
   */
  share?: RelayShare;
  /**
   * When the app's outbox warning was last logged: shared by the shard relays of a process, so it warns once a
   * minute rather than once per shard.
   */
  outboxWarnings?: { lastAt: number };
}

/** How the shard relays of one process keep to their fair share of the shard leases. */
export interface RelayShare {
  /**
   * Whether this process may try to take one more shard lease now; when true, `settle` must follow the attempt
   * (the reservation keeps concurrent attempts of several shards within the share).
   */
  claim(shard: number): boolean;
  settle(shard: number): void;
  /** Whether the relay of `shard` should give its lease up (this process holds more than its share). */
  mustYield(shard: number): boolean;
}

export interface OutboxRelay {
  /** Runs until `stop()`: competes for the lease, then publishes the outbox in order. */
  run(): Promise<void>;
  /** Stops after the batch in flight (its outcome is kept: acked entries are trimmed, others stay). */
  stop(): Promise<void>;
  /** Whether this relay holds its lease (with shards: the lease of any of its shards). */
  readonly isLeader: boolean;
}

const SCRIPTS = {
  presenceTrimOutbox: { source: 'relay/trim-outbox', numberOfKeys: 3 },
  presenceDeadLetter: { source: 'relay/dead-letter' },
  presenceClaimLowBatch: { source: 'relay/claim-low-batch', numberOfKeys: 4 },
  presenceTrimLowOutbox: { source: 'relay/trim-low-outbox', numberOfKeys: 4 },
} satisfies Record<string, ScriptSpec>;

/**
 * The outbox relay of one app's outbox shard. Exactly one process holds the shard's lease and publishes it (the
 * relay processes of an app share the shards: relay/relay-group.ts); the outbox is trimmed only
 * after Kafka acknowledged (acks=-1), so a crash anywhere re-publishes rather than loses. A re-published event
 * has the same eventId. One batch in flight keeps every user's events in seq order.
 */
export function createOutboxRelay(deps: RelayDeps, options: RelayOptions): OutboxRelay {
  const { redis, blockingRedis, keys, registry, kafka, events, logger } = deps;
  const {
    sdkAppId,
    transitionsTopic,
    stateTopic,
    batchSize = RELAY_BATCH_ENTRIES,
    maxBatchBytes = DEFAULT_MAX_BATCH_BYTES,
    leaseMs = 10_000,
    maxBackoffMs = 5_000,
    outboxWarnEntries = DEFAULT_OUTBOX_WARN_ENTRIES,
    shard = 0,
    lingerMs = 0,
    waitForReplicas = 0,
  } = options;
  const { share, outboxWarnings = { lastAt: 0 } } = deps;
  const outbox = keys.outboxShard(shard);
  // Low-priority snapshots (redis.snapshotPriority: low): the shard's second stream and its hash, one batch of it
  // published between two reads of `outbox` (events/lua/include/outbox-entry.lua, "Low-priority snapshots"). With
  // `normal` the relay still drains what a time with `low` left there, merged with `outbox` by time
  // (relay/lua/claim-low-batch.lua).
  const lowPriority = keys.snapshotPriority === 'low';
  const lowOutbox = keys.lowOutboxShard(shard);
  const lowPending = keys.lowPendingOf(shard);
  const leaseKey = keys.relayLeaseOf(shard);
  const app = String(sdkAppId);
  // Log lines name the shard only when there are several.
  const where = keys.outboxShards === 1 ? { app } : { app, shard };
  const stopController = new AbortController();
  let leader = false;
  let names = new Map<number, WatchlistName>();
  let stopped: Promise<void> | undefined;

  const scripts = defineScripts(redis, SCRIPTS);
  const lease = createLease(redis, leaseKey, leaseMs);
  const holdLease = () => lease.hold();

  /** Refreshes the id -> name map once per batch, only when the batch names a watchlist it does not know. */
  async function learnWatchlistNames(entries: readonly OutboxEntry[]): Promise<void> {
    if (entries.some((entry) => entry.watchlistIds.some((id) => !names.has(id)))) {
      names = await registry.namesById();
    }
  }

  const encode = createRecordEncoder();

  /** The Kafka records of one outbox entry (its event on each of its topics, its state record): see events/. */
  function toPending(entry: OutboxEntry, fields: string[]): PendingEntry {
    const watchlists = entry.watchlistIds.map((id) => names.get(id) ?? { name: `#${id}` });
    const topics = { transitions: transitionsTopic, state: stateTopic };
    let bytes = 0;
    let previous: { record: ProducedRecord; message: Message; bytes: number } | undefined;
    const records = kafkaRecordsOf(entry, sdkAppId, watchlists, topics).map(({ topic, record }) => {
      // An event on several topics is one record object: it is encoded once and shared (it still counts per topic).
      if (previous?.record !== record) previous = { record, ...encode(record) };
      bytes += previous.bytes;
      return { topic, message: previous.message };
    });
    const eventId = formatEventId(sdkAppId, entry.userId, entry.epoch, entry.seq);
    return { entry, fields, eventId, records, bytes };
  }

  /**
   * The linger's state per stream: whether its last read filled a batch, and when its last short read started
   * (performance.now() ms). A stream is read at once while either stream's last read was full (a backlog: with
   * `low` the relay takes turns between them, and a short read of the idle one must not pace the other's backlog),
   * else `lingerMs` after its own last short read. A lone event after a quiet time is read at once (that read is
   * long past); the events behind it gather for `lingerMs`, so without a backlog each stream is read at most
   * 1000 / `lingerMs` times a second. Each stream's state changes only with its own reads, so replies that come
   * back in another order than asked (a script loaded on first use) change nothing.
   */
  const lastReadFull: Record<Stream, boolean> = { high: false, low: false };
  const lastShortReadAt: Record<Stream, number> = { high: -Infinity, low: -Infinity };

  /** Reads one stream after its linger (see lastReadFull); `stop()` cuts the wait short (and nothing is read). */
  async function lingered<T>(stream: Stream, readRows: () => Promise<T>): Promise<T | []> {
    const backlog = lastReadFull.high || lastReadFull.low;
    const waitMs = backlog ? 0 : lastShortReadAt[stream] + lingerMs - performance.now();
    if (waitMs > 0) {
      await sleep(waitMs, undefined, { signal: stopController.signal }).catch(() => undefined);
      if (stopController.signal.aborted) return [];
    }
    const startedAt = performance.now();
    const rows = await readRows();
    lastReadFull[stream] = Array.isArray(rows) && rows.length >= batchSize;
    if (!lastReadFull[stream]) lastShortReadAt[stream] = startedAt;
    return rows;
  }

  /**
   * Up to `batchSize` entries after `after` (exclusive; `-` for the head) and up to `upTo` (inclusive), parsed and
   * with their records built.
   */
  async function read(after: string, upTo = '+'): Promise<PendingEntry[]> {
    const start = after === '-' ? '-' : `(${after}`;
    const rows = await lingered('high', () => redis.xrange(outbox, start, upTo, 'COUNT', batchSize));
    return toBatch(rows as OutboxRow[]);
  }

  async function toBatch(rows: OutboxRow[]): Promise<PendingEntry[]> {
    const entries = rows.map(parseOutboxEntry);
    await learnWatchlistNames(entries);
    return entries.map((entry, i) => toPending(entry, rows[i]![1]));
  }

  /**
   * With `normal`: the last id of `outbox` to publish before the snapshots left in the low stream (every id of the
   * millisecond of its oldest entry), or `+` when it is empty (the usual case: one XRANGE of an absent key).
   */
  async function leftLowBound(): Promise<string> {
    const [oldest] = (await redis.xrange(lowOutbox, '-', '+', 'COUNT', 1)) as OutboxRow[];
    if (oldest === undefined) return '+';
    return `${oldest[0].slice(0, oldest[0].indexOf('-'))}-18446744073709551615`;
  }

  /**
   * The low-priority batch to publish now (relay/lua/claim-low-batch.lua): a batch claimed earlier and not trimmed
   * yet, else the next snapshots appended before the outbox stream's head. Empty when there is none to publish now.
   */
  async function claimLow(): Promise<PendingEntry[] | 'leaseLost'> {
    const rows = (await lingered('low', () =>
      scripts.presenceClaimLowBatch(leaseKey, outbox, lowOutbox, lowPending, lease.token, batchSize),
    )) as OutboxRow[] | number;
    if (rows === -1) return 'leaseLost';
    return toBatch(rows as OutboxRow[]);
  }

  /**
   * Publishes the outbox from its head until it is empty or the lease is lost, one read (a batch of up to
   * `batchSize` entries) after the other, so every user's events keep their order. While a batch is in flight,
   * the next one is fetched and built, so Redis and record building stay off the path between two sends. Only
   * entries after the ones read are fetched ahead: the outbox only grows at its end, and nothing is sent before the
   * batch ahead of it was acknowledged and trimmed.
   */
  async function drain(first: PendingEntry[], upTo: string): Promise<void> {
    let current = first;
    while (current.length > 0 && !stopController.signal.aborted) {
      // Between batches: a newly started relay process gets the shards this one holds beyond its share.
      if (share?.mustYield(shard)) return;
      const ahead = ignoreUntilAwaited(read(current.at(-1)!.entry.id, upTo));
      if (!(await publishBatch(current, 'high'))) return;
      current = await ahead;
    }
  }

  /**
   * With `low`: publishes a low batch and an outbox batch in turn until both streams are empty (`idle`), or the
   * lease is lost, the process must yield the shard, or it stops (`stopped`). So a transition waits behind at most
   * two low batches (the one being sent, and the one claimed while the outbox batch before it was sent), and
   * snapshots keep draining while transitions keep the outbox stream busy.
   *
   * Each step is fetched while the one before is being sent: the next outbox batch while a low batch is sent, the
   * next claim and the outbox entries after the batch while an outbox batch is sent. Each user's order holds,
   * because nothing is ever sent ahead of a claimed batch except outbox entries read before the claim was made:
   * an eligible snapshot has no earlier entry of its user unpublished in the outbox stream (claim-low-batch.lua),
   * and a later one, written before the claim, would have moved it out of the low stream.
   */
  async function alternate(): Promise<'idle' | 'stopped'> {
    let nextLow = ignoreUntilAwaited(claimLow());
    let nextHigh = ignoreUntilAwaited(read('-'));
    while (!stopController.signal.aborted) {
      // Between batches: a newly started relay process gets the shards this one holds beyond its share.
      if (share?.mustYield(shard)) return 'stopped';
      const low = await nextLow;
      if (low === 'leaseLost') {
        leaseLost('before claiming a low-priority batch');
        return 'stopped';
      }
      if (low.length > 0 && !(await publishBatch(low, 'low'))) return 'stopped';
      const high = await nextHigh;
      if (low.length === 0 && high.length === 0) return stopController.signal.aborted ? 'stopped' : 'idle';
      // Issued only now: a claim made while `high` was still unread could be overtaken by an entry in it.
      nextLow = ignoreUntilAwaited(claimLow());
      nextHigh = ignoreUntilAwaited(read(high.length > 0 ? high.at(-1)!.entry.id : '-'));
      if (high.length > 0 && !(await publishBatch(high, 'high'))) return 'stopped';
    }
    return 'stopped';
  }

  /**
   * Sends a batch, as requests of at most `maxBatchBytes` (always at least one entry) in one transaction when
   * fenced, and trims it once. A batch Kafka refuses as too large is split in halves, first half first (order
   * kept); a single entry that is still too large goes to the dead-letter stream, and the entries after it go on.
   * Returns false when the batch is not to be followed: the lease was lost (the new holder takes over from the
   * outbox), or the batch is gone from Redis (then the outbox is read again from its head).
   */
  async function publishBatch(batch: PendingEntry[], stream: Stream): Promise<boolean> {
    const outcome = await sendWithRetry(batch, stream);
    if (outcome === 'leaseLost' || outcome === 'gone') return false;
    if (outcome === 'tooLarge') {
      if (batch.length === 1) return deadLetter(batch[0]!, stream);
      const half = Math.ceil(batch.length / 2);
      return (await publishBatch(batch.slice(0, half), stream)) && publishBatch(batch.slice(half), stream);
    }
    return trim(batch, stream);
  }

  async function sendWithRetry(
    batch: PendingEntry[],
    stream: Stream,
  ): Promise<'sent' | 'tooLarge' | 'leaseLost' | 'gone'> {
    const requests = byteCappedBatches(batch, maxBatchBytes).map(groupByTopic);
    const topics = [...new Set(requests.flatMap((request) => request.map(({ topic }) => topic)))];
    for (let attempt = 0; ; attempt++) {
      // A relay that lost its lease (e.g. while Kafka was down) must stop: the new holder publishes this batch, and
      // a late copy from here could land after the holder's newer events.
      if (attempt > 0 && !(leader && (await holdLease()))) return leaseLost('while retrying');
      // Waiting for Kafka is the relay working as intended: it keeps reporting that it is alive meanwhile.
      const producer = await kafka.connected(stopController.signal, () => events.emit('relayLoop', { app }));
      if (!producer) throw new Error('relay stopped before Kafka could be reached');
      // Waiting for Kafka may have outlasted the lease (the renewal timer clears `leader`).
      if (!leader) return leaseLost('while waiting for Kafka');
      events.emit('relayLoop', { app });
      if (waitForReplicas > 0) {
        const replication = await replicasHolding(stream === 'low' ? lowOutbox : outbox, batch);
        if ('holdsBatch' in replication && !replication.holdsBatch) {
          // Read from a master that died before its replica got it: the replica that took over lacks these diffs,
          // and the sweeps observe their changes again. Sending the copy read earlier would publish events that the
          // new master's states do not know. Or the lease passed on and its new holder trimmed the batch.
          if (!(await holdLease())) return leaseLost('while waiting for Redis replicas');
          logger.warn(
            { ...where, pending: batch.length, pauseMs: maxBackoffMs },
            'the batch is no longer in Redis (a failover lost it); reading the outbox again after a pause',
          );
          // Not at once: while two connections still see two masters, every read would find a batch gone again.
          await sleep(maxBackoffMs, undefined, { signal: stopController.signal }).catch(() => undefined);
          return 'gone';
        }
        if ('refusal' in replication || replication.replicas < waitForReplicas) {
          await holdBack(batch, attempt, replication);
          continue;
        }
      }
      try {
        await kafka.ensureTopics(topics);
        await kafka.send(producer, requests);
        return 'sent';
      } catch (error) {
        events.emit('publishFailed', { app });
        // A failed send may have landed on some partitions: kafkajs then rolls back every partition's sequence
        // number and the broker refuses the next send as out of order. A new producer (new id) starts clean.
        await kafka.reset();
        if (isTooLargeError(error)) return 'tooLarge';
        if (stopController.signal.aborted) throw error;
        const backoffMs = backoffFor(attempt);
        logger.warn(
          { ...where, err: error, attempt, backoffMs, pending: batch.length },
          'Kafka publish failed; retrying the same batch',
        );
        await sleep(backoffMs, undefined, { signal: stopController.signal }).catch(() => undefined);
        if (stopController.signal.aborted) throw error;
      }
    }
  }

  /** The pause before the `attempt`th retry of a batch: 200 ms doubling up to `maxBackoffMs`. */
  function backoffFor(attempt: number): number {
    return Math.min(maxBackoffMs, 200 * 2 ** attempt);
  }

  /**
   * Holds a batch back before its next attempt: fewer replicas than `waitForReplicas` acknowledged it, or Redis
   * refused to count them (an ACL or a renamed command taking WAIT or the marker write away: nothing tells whether
   * a replica holds the batch, so it is held as if none did). Throws once the relay is stopping.
   */
  async function holdBack(
    batch: readonly PendingEntry[],
    attempt: number,
    replication: { replicas: number } | { refusal: string },
  ): Promise<void> {
    const backoffMs = backoffFor(attempt);
    const fields = { ...where, waitForReplicas, attempt, backoffMs, pending: batch.length };
    if ('refusal' in replication) {
      const { refusal } = replication;
      events.emit('publishHeld', { app, reason: 'redis_refused', replicas: 0, refusal });
      logger.warn(
        { ...fields, refusal },
        'Redis refused to count the replicas holding the batch (redis.waitForReplicas); holding it back',
      );
    } else {
      const { replicas } = replication;
      events.emit('publishHeld', { app, reason: 'replicas_behind', replicas });
      logger.warn(
        { ...fields, replicas },
        'fewer Redis replicas than redis.waitForReplicas hold the batch; holding it back',
      );
    }
    await sleep(backoffMs, undefined, { signal: stopController.signal }).catch(() => undefined);
    if (stopController.signal.aborted) throw new Error('relay stopped while waiting for Redis replicas');
  }

  /**
   * Whether the app's master still holds the batch (its last entry, the same id with the same fields: a master's
   * writes reach a replica in order, so it holds the earlier ones too), and how many of its replicas hold everything written before this call, the
   * batch included. WAIT counts what the calling connection wrote, so a write of its own comes first (after the
   * read of the batch, hence after the writes that made it); one pipeline takes all three to the app's master in a
   * cluster too (WAIT names no key). On the blocking connection: WAIT holds its connection for up to
   * `REPLICA_WAIT_MS`, and that one is idle while a batch is published.
   */
  async function replicasHolding(
    stream: string,
    batch: readonly PendingEntry[],
  ): Promise<{ replicas: number; holdsBatch: boolean } | { refusal: string }> {
    const lastId = batch.at(-1)!.entry.id;
    for (let redirected = false; ; redirected = true) {
      const [mark, wait, last] =
        (await blockingRedis
          .pipeline()
          .incr(keys.replicationMark)
          .call('WAIT', waitForReplicas, REPLICA_WAIT_MS)
          .xrange(stream, lastId, lastId)
          .exec()) ?? [];
      // After a failover the pipeline may reach a node that no longer serves the app's slot. ioredis follows such
      // a MOVED for a pipeline only when every reply is one, and WAIT, which names no key, is answered anyway; a
      // plain command follows it and updates the client's slot map, and the pipeline is sent again once.
      if (!redirected && mark?.[0] instanceof Error && mark[0].message.startsWith('MOVED ')) {
        await blockingRedis.incr(keys.replicationMark);
        continue;
      }
      // WAIT or the marker write taken away (an ACL, a renamed command): held like missing replicas. Anything else
      // (a full or read-only Redis, a cluster in flux) also stops the lease and the trims, and goes to the loop's
      // retry like any Redis failure.
      for (const reply of [mark, wait]) {
        const error = reply?.[0];
        if (error instanceof Error && REFUSED_COMMAND.test(error.message)) {
          return { refusal: redactSecrets(error.message) };
        }
      }
      for (const reply of [mark, wait, last]) if (reply?.[0]) throw reply[0];
      const [stored] = (last?.[1] ?? []) as OutboxRow[];
      const expected = batch.at(-1)!.fields;
      const holdsBatch =
        stored !== undefined &&
        stored[1].length === expected.length &&
        stored[1].every((value, i) => value === expected[i]);
      return { replicas: Number(wait?.[1] ?? 0), holdsBatch };
    }
  }

  function leaseLost(when: string): 'leaseLost' {
    leader = false;
    logger.warn(where, `relay lease lost ${when}; leaving the batch to the new holder`);
    return 'leaseLost';
  }

  /**
   * Warns (at most once a minute) while the outbox (all its shards) holds more than `outboxWarnEntries`: Kafka is
   * not keeping up.
   */
  async function checkOutboxGrowth(): Promise<void> {
    const entries = await outboxLength(redis, keys);
    if (entries <= outboxWarnEntries || Date.now() - outboxWarnings.lastAt < OUTBOX_WARNING_INTERVAL_MS)
      return;
    outboxWarnings.lastAt = Date.now();
    events.emit('outboxOverWarnLevel', { app, entries });
    logger.warn(
      { app, entries, outboxWarnEntries },
      'the outbox holds more events than redis.outboxWarnEntries: Kafka is not taking them (see the outage ' +
        'lines); Redis memory grows with every event until it does',
    );
  }

  async function trim(batch: PendingEntry[], stream: Stream): Promise<boolean> {
    const ackedAt = Date.now();
    const lastId = batch.at(-1)!.entry.id;
    const deleted =
      stream === 'high'
        ? await scripts.presenceTrimOutbox(
            leaseKey,
            outbox,
            keys.relayState,
            lease.token,
            nextStreamId(lastId),
            lastId,
            relayLastIdField(shard),
          )
        : await scripts.presenceTrimLowOutbox(
            leaseKey,
            lowOutbox,
            lowPending,
            keys.relayState,
            lease.token,
            nextStreamId(lastId),
            lastId,
            ...batch.flatMap(({ entry }) => [entry.userId, entry.id]),
          );
    if (deleted === -1) {
      leader = false;
      logger.warn(
        where,
        'relay lease lost before trimming; the new holder will publish the batch again (same eventIds)',
      );
      return false;
    }
    // Membership entries are state records, not events, and carry the time of the state they repeat: counting
    // them would add an event kind and a latency of hours.
    const published = batch.map((pending) => pending.entry).filter(isEventEntry);
    events.emit('eventsPublished', {
      app,
      kinds: published.map((entry) => entry.kind),
      latenciesMs: published.map((entry) => ackedAt - entry.observedAtMs),
      transitions: published.flatMap((entry) =>
        entry.kind === 'transition' && entry.detectedBy
          ? [{ detectedBy: entry.detectedBy, latencyMs: ackedAt - entry.observedAtMs }]
          : [],
      ),
    });
    return true;
  }

  /**
   * Moves an entry Kafka refuses even alone out of the way, so it cannot block the app's other events. Its user's
   * later events still publish: consumers see a gap in that user's `seq` (README "Dead letters").
   */
  async function deadLetter(pending: PendingEntry, stream: Stream): Promise<boolean> {
    const reason = `Kafka refused the record as too large (${pending.bytes} bytes)`;
    const moved = await scripts.presenceDeadLetter(
      ...(stream === 'high'
        ? [4, leaseKey, outbox, keys.deadLetters, keys.relayState]
        : [5, leaseKey, lowOutbox, keys.deadLetters, keys.relayState, lowPending]),
      lease.token,
      pending.entry.id,
      pending.eventId,
      reason,
      ...pending.fields,
    );
    if (moved === -1) {
      leader = false;
      logger.warn(where, 'relay lease lost before dead-lettering; leaving the entry to the new holder');
      return false;
    }
    if (moved === 1) {
      events.emit('eventDeadLettered', { app });
      logger.error(
        { ...where, eventId: pending.eventId, bytes: pending.bytes },
        "event moved to the dead-letter stream: Kafka refuses it as too large even alone (raise the topic's " +
          'max.message.bytes, then run `presence-poller dead-letters replay`)',
      );
    }
    return true;
  }

  /**
   * Counts the times this relay gave its lease up: a renewal sent before `yieldLease` must not turn `leader` back on
   * when it answers after it (the release, sent later on the same connection, has run by then).
   */
  let yields = 0;

  function reportLease(held: boolean): void {
    events.emit('relayLease', { app, shard, held });
  }

  /** Gives the lease up between batches: this process holds more shards than its share (see `RelayShare`). */
  async function yieldLease(): Promise<void> {
    leader = false;
    yields += 1;
    await lease.release();
    reportLease(false);
    logger.info(where, 'relay lease given up: another relay process takes a share of the shards');
  }

  /** Tries to take the lease (within the process's share); resolves whether it is held now. */
  async function acquire(): Promise<boolean> {
    if (share && !share.claim(shard)) return false;
    try {
      leader = await holdLease();
    } finally {
      share?.settle(shard);
    }
    reportLease(leader);
    return leader;
  }

  /**
   * Sleeps in Redis until an entry arrives (or a second passes, to renew and re-check). From 0-0: an entry appended
   * since the last read wakes it at once (the streams hold only unpublished ones). The low stream too whatever the
   * setting: a process still on `low` may write there.
   */
  async function waitForEntries(): Promise<void> {
    await blockingRedis.xread('COUNT', 1, 'BLOCK', 1_000, 'STREAMS', outbox, lowOutbox, '0-0', '0-0');
  }

  async function loop(): Promise<void> {
    const signal = stopController.signal;
    const renew = setInterval(
      () => {
        if (!leader) return;
        const yieldsBefore = yields;
        checkOutboxGrowth().catch((error: unknown) =>
          logger.warn({ ...where, err: error }, 'reading the outbox length failed'),
        );
        holdLease()
          .then((held) => {
            if (yields !== yieldsBefore) return;
            if (!held) logger.warn(where, 'relay lease taken over by another process');
            leader = held;
            reportLease(held);
          })
          .catch((error: unknown) => logger.warn({ ...where, err: error }, 'relay lease renewal failed'));
      },
      Math.floor(leaseMs / 3),
    );
    try {
      while (!signal.aborted) {
        // Liveness: an iteration that never comes back (a hung call) stops these events.
        events.emit('relayLoop', { app });
        try {
          if (!leader) {
            if (!(await acquire())) {
              await sleep(Math.floor(leaseMs / 3), undefined, { signal }).catch(() => undefined);
              continue;
            }
            logger.info(where, 'relay lease acquired; publishing the outbox');
            // A producer from an earlier term may have been fenced meanwhile; a new one also fences any zombie.
            await kafka.reset();
          }
          if (share?.mustYield(shard)) {
            await yieldLease();
            continue;
          }
          if (lowPriority) {
            if ((await alternate()) === 'idle') await waitForEntries();
            continue;
          }
          // With `normal`, the low stream is read only while a switch from `low` left snapshots there: up to the
          // millisecond of its oldest, `outbox` goes first; they follow before anything newer of `outbox`.
          const upTo = await leftLowBound();
          if (upTo !== '+') {
            // A claimed low batch first (it may be a crashed relay's), else a new one (see claimLow).
            const low = await claimLow();
            if (low === 'leaseLost') {
              leaseLost('before claiming a low-priority batch');
              continue;
            }
            if (low.length > 0) {
              await publishBatch(low, 'low');
              continue;
            }
          }
          const head = await read('-', upTo);
          if (head.length === 0) {
            await waitForEntries();
            continue;
          }
          await drain(head, upTo);
        } catch (error) {
          if (signal.aborted) break;
          logger.error({ ...where, err: error }, 'relay iteration failed; retrying');
          await sleep(1_000, undefined, { signal }).catch(() => undefined);
        }
      }
    } finally {
      clearInterval(renew);
      if (leader) {
        await lease.release().catch(() => undefined);
        leader = false;
        reportLease(false);
      }
    }
  }

  return {
    run() {
      stopped ??= loop();
      return stopped;
    },
    async stop() {
      stopController.abort();
      // Wake a blocked XREAD at once rather than waiting out its timeout.
      blockingRedis.disconnect();
      await stopped;
    },
    get isLeader() {
      return leader;
    },
  };
}
