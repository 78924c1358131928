import type { Redis } from 'ioredis';
import type { Message, Producer } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isEventEntry, kafkaRecordsOf, parseOutboxEntry, type OutboxEntry } from '../events/outbox-entry.js';
import type { FlowEvents } from '../ops/flow-events.js';
import type { Logger } from '../ops/logger.js';
import type { AppKeys } from '../redis/keys.js';
import { createLease } from '../redis/lease.js';
import { defineScripts, type ScriptSpec } from '../redis/scripts.js';
import type { WatchlistName, WatchlistRegistry } from '../state/watchlist-registry.js';

export interface RelayOptions {
  sdkAppId: number;
  /** Default topic for events of watchlists without their own. */
  transitionsTopic: string;
  /** Compacted topic with the latest state per user. */
  stateTopic: string;
  /** Entries per Kafka batch. Default 1000. */
  batchSize?: number;
  /** Lease time; renewed every third of it. Default 10 s. */
  leaseMs?: number;
  /** Longest wait between publish retries while Kafka is unavailable. Default 5 s. */
  maxBackoffMs?: number;
}

export interface RelayDeps {
  redis: Redis;
  /** A separate connection: it blocks in XREAD while the outbox is empty. */
  blockingRedis: Redis;
  keys: AppKeys;
  registry: WatchlistRegistry;
  producer: Producer;
  events: FlowEvents;
  logger: Logger;
}

export interface OutboxRelay {
  /** Runs until `stop()`: competes for the lease, then publishes the outbox in order. */
  run(): Promise<void>;
  /** Stops after the batch in flight (its outcome is kept: acked entries are trimmed, others stay). */
  stop(): Promise<void>;
  readonly isLeader: boolean;
}

const SCRIPTS = {
  presenceTrimOutbox: { source: 'relay/trim-outbox', numberOfKeys: 3 },
} satisfies Record<string, ScriptSpec>;

/**
 * The outbox relay of one app. Exactly one process holds the lease and publishes; the outbox is trimmed only
 * after Kafka acknowledged (acks=-1), so a crash anywhere re-publishes rather than loses. A re-published event
 * has the same eventId. One batch in flight keeps every user's events in seq order.
 */
export function createOutboxRelay(deps: RelayDeps, options: RelayOptions): OutboxRelay {
  const { redis, blockingRedis, keys, registry, producer, events, logger } = deps;
  const {
    sdkAppId,
    transitionsTopic,
    stateTopic,
    batchSize = 1_000,
    leaseMs = 10_000,
    maxBackoffMs = 5_000,
  } = options;
  const app = String(sdkAppId);
  const stopController = new AbortController();
  let leader = false;
  let names = new Map<number, WatchlistName>();
  let stopped: Promise<void> | undefined;

  const scripts = defineScripts(redis, SCRIPTS);
  const lease = createLease(redis, keys.relayLease, leaseMs);
  const holdLease = () => lease.hold();

  /** Refreshes the id -> name map once per batch, only when the batch names a watchlist it does not know. */
  async function learnWatchlistNames(entries: readonly OutboxEntry[]): Promise<void> {
    if (entries.some((entry) => entry.watchlistIds.some((id) => !names.has(id)))) {
      names = await registry.namesById();
    }
  }

  async function toMessages(entries: OutboxEntry[]) {
    const byTopic = new Map<string, Message[]>();
    const add = (topic: string, message: Message) => {
      const list = byTopic.get(topic) ?? [];
      list.push(message);
      byTopic.set(topic, list);
    };
    await learnWatchlistNames(entries);
    for (const entry of entries) {
      const watchlists = entry.watchlistIds.map((id) => names.get(id) ?? { name: `#${id}` });
      const topics = { transitions: transitionsTopic, state: stateTopic };
      for (const { topic, record } of kafkaRecordsOf(entry, sdkAppId, watchlists, topics)) add(topic, record);
    }
    return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
  }

  async function publish(entries: OutboxEntry[]): Promise<void> {
    const topicMessages = await toMessages(entries);
    for (let attempt = 0; ; attempt++) {
      // A relay that lost its lease (e.g. while Kafka was down) must stop: the new holder publishes this batch, and
      // a late copy from here could land after the holder's newer events.
      if (attempt > 0 && !(leader && (await holdLease()))) {
        leader = false;
        logger.warn({ app }, 'relay lease lost while retrying; leaving the batch to the new holder');
        return;
      }
      try {
        await producer.sendBatch({ topicMessages, acks: -1 });
        break;
      } catch (error) {
        events.emit('publishFailed', { app });
        if (stopController.signal.aborted) throw error;
        const backoffMs = Math.min(maxBackoffMs, 200 * 2 ** attempt);
        logger.warn(
          { app, err: error, attempt, backoffMs, pending: entries.length },
          'Kafka publish failed; retrying the same batch',
        );
        await sleep(backoffMs, undefined, { signal: stopController.signal }).catch(() => undefined);
        if (stopController.signal.aborted) throw error;
      }
    }
    const ackedAt = Date.now();
    const deleted = await scripts.presenceTrimOutbox(
      keys.relayLease,
      keys.outbox,
      keys.relayState,
      lease.token,
      ...entries.map((e) => e.id),
    );
    if (deleted === -1) {
      leader = false;
      logger.warn(
        { app },
        'relay lease lost before trimming; the new holder will publish the batch again (same eventIds)',
      );
      return;
    }
    // Membership entries are state records, not events, and carry the time of the state they repeat: counting
    // them would add an event kind and a latency of hours.
    const published = entries.filter(isEventEntry);
    events.emit('eventsPublished', {
      app,
      kinds: published.map((entry) => entry.kind),
      latenciesMs: published.map((entry) => ackedAt - entry.observedAtMs),
    });
  }

  async function loop(): Promise<void> {
    const signal = stopController.signal;
    const renew = setInterval(
      () => {
        if (!leader) return;
        holdLease()
          .then((held) => {
            if (!held) logger.warn({ app }, 'relay lease taken over by another process');
            leader = held;
            events.emit('relayLease', { app, held });
          })
          .catch((error: unknown) => logger.warn({ app, err: error }, 'relay lease renewal failed'));
      },
      Math.floor(leaseMs / 3),
    );
    try {
      while (!signal.aborted) {
        try {
          if (!leader) {
            leader = await holdLease();
            events.emit('relayLease', { app, held: leader });
            if (!leader) {
              await sleep(Math.floor(leaseMs / 3), undefined, { signal }).catch(() => undefined);
              continue;
            }
            logger.info({ app }, 'relay lease acquired; publishing the outbox');
          }
          const raw = (await redis.xrange(keys.outbox, '-', '+', 'COUNT', batchSize)) as Array<
            [string, string[]]
          >;
          if (raw.length === 0) {
            // Sleep in Redis until an entry arrives (or a second passes, to renew and re-check).
            // From 0-0: an entry appended since the XRANGE above wakes it at once (the stream holds only unpublished ones).
            await blockingRedis.xread('COUNT', 1, 'BLOCK', 1_000, 'STREAMS', keys.outbox, '0-0');
            continue;
          }
          await publish(raw.map(parseOutboxEntry));
        } catch (error) {
          if (signal.aborted) break;
          logger.error({ app, err: error }, 'relay iteration failed; retrying');
          await sleep(1_000, undefined, { signal }).catch(() => undefined);
        }
      }
    } finally {
      clearInterval(renew);
      if (leader) {
        await lease.release().catch(() => undefined);
        leader = false;
        events.emit('relayLease', { app, held: false });
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
