/**
 * Dedupe by eventId. The order is check, handle, remember: an event is remembered only after its handler
 * succeeded, so a crash or a failing handler never loses an event (its redelivery is handled again); the price is
 * that a crash between handling and remembering lets one redelivery through, which is at-least-once as usual.
 */

/** Where handled eventIds are remembered. */
export interface DedupeStore {
  /** `true` when `eventId` was remembered (and has not been forgotten or expired since). */
  has(eventId: string): Promise<boolean>;
  /** Remembers `eventId`; resolves `false` when it was remembered already. */
  add(eventId: string): Promise<boolean>;
}

/** Handles each eventId once. */
export interface Deduper {
  /**
   * Runs `handle` unless `eventId` was handled before; resolves `true` when it ran. When `handle` throws, the
   * eventId is not remembered and the error propagates (the consumer retries the record).
   */
  handleOnce(eventId: string, handle: () => unknown): Promise<boolean>;
}

/** A deduper over `store` (default: an in-memory LRU of 100,000 eventIds). */
export function createDeduper(store: DedupeStore = createMemoryDedupeStore()): Deduper {
  return {
    async handleOnce(eventId, handle) {
      if (await store.has(eventId)) return false;
      await handle();
      await store.add(eventId);
      return true;
    },
  };
}

export interface MemoryDedupeStoreOptions {
  /** Most eventIds kept; the least recently seen go first. Default 100,000. */
  maxEntries?: number;
}

/**
 * Remembers the most recently seen eventIds in this process. Enough when redeliveries come soon after the
 * original (a relay retry, a rebalance); a restarted consumer forgets, so use a shared store across restarts.
 */
export function createMemoryDedupeStore(
  options: MemoryDedupeStoreOptions = {},
): DedupeStore & { readonly size: number } {
  const { maxEntries = 100_000 } = options;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new RangeError(`maxEntries must be a positive integer, got ${String(maxEntries)}`);
  }
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  const seen = new Map<string, true>();
  return {
    async has(eventId) {
      if (!seen.delete(eventId)) return false;
      seen.set(eventId, true);
      return true;
    },
    async add(eventId) {
      const known = seen.delete(eventId);
      seen.set(eventId, true);
      if (seen.size > maxEntries) seen.delete(seen.keys().next().value!);
      return !known;
    },
    get size() {
      return seen.size;
    },
  };
}

/** The two Redis commands the Redis store needs; an ioredis client fits as is. */
export interface DedupeRedisClient {
  set(key: string, value: string, expiryMode: 'EX', seconds: number, setMode: 'NX'): Promise<string | null>;
  exists(key: string): Promise<number>;
}

export interface RedisDedupeStoreOptions {
  /** Prefix of every key, e.g. `crm-sync:seen:`. Required: several consumers may share one Redis. */
  keyPrefix: string;
  /** How long an eventId is remembered, in seconds; longer than any redelivery can be late. Default 7 days. */
  ttlSeconds?: number;
}

/** Remembers eventIds in Redis (`SET <prefix><eventId> 1 EX <ttl> NX`), shared by every consumer instance. */
export function createRedisDedupeStore(
  client: DedupeRedisClient,
  options: RedisDedupeStoreOptions,
): DedupeStore {
  const { keyPrefix, ttlSeconds = 7 * 24 * 3600 } = options;
  if (typeof keyPrefix !== 'string' || keyPrefix === '')
    throw new TypeError('keyPrefix must be a non-empty string');
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new RangeError(`ttlSeconds must be a positive integer, got ${String(ttlSeconds)}`);
  }
  return {
    async has(eventId) {
      return (await client.exists(keyPrefix + eventId)) === 1;
    },
    async add(eventId) {
      return (await client.set(keyPrefix + eventId, '1', 'EX', ttlSeconds, 'NX')) === 'OK';
    },
  };
}
