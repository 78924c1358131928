import type { RedisClient } from '../redis/client.js';
import type { AppKeys } from '../redis/keys.js';
import type { WatchlistSettings } from '../vocabulary.js';

/**
 * The watchlists of one app as every process sees them: definitions in one Redis hash, members stored as chunk
 * blobs (newline-joined UserIDs, at most 500 per blob) under a content-addressed version. Redis is the one source
 * of truth; config files reach it only through `syncWatchlists`.
 */
export interface WatchlistDefinition extends WatchlistSettings {
  /** Stable numeric id (never reused): the compact form stored in state records and outbox entries. */
  id: number;
  /** Content hash of the member list: chunk jobs name it, so a job never mixes two versions. */
  version: string;
  chunkCount: number;
  userCount: number;
  /**
   * Chunks (of a watchlist without `detail`) holding a member of a watchlist with `detail`: they ask for detail too,
   * so such a user gets `devices` whichever sweep sees a change first. Absent when none.
   */
  detailChunks?: number[];
}

/** Id -> name and topic, kept for removed watchlists too (their untracked events still need routing). */
export interface WatchlistName {
  name: string;
  topic?: string;
}

export interface WatchlistRegistry {
  list(): Promise<WatchlistDefinition[]>;
  get(name: string): Promise<WatchlistDefinition | undefined>;
  /** The UserIDs of one chunk, or undefined when that version is gone (the watchlist changed meanwhile). */
  readChunk(name: string, version: string, index: number): Promise<string[] | undefined>;
  readMembers(definition: WatchlistDefinition): Promise<string[]>;
  /** The same members in order, `chunksPerPiece` chunks at a time: a long list is never read whole. */
  memberPieces(
    definition: Pick<WatchlistDefinition, 'name' | 'version'>,
    chunksPerPiece: number,
  ): AsyncIterable<string[]>;
  namesById(): Promise<Map<number, WatchlistName>>;
}

export function createWatchlistRegistry(redis: RedisClient, keys: AppKeys): WatchlistRegistry {
  const parse = (json: string) => JSON.parse(json) as WatchlistDefinition;
  return {
    async list() {
      const all = await redis.hvals(keys.watchlists);
      return all.map(parse).sort((a, b) => a.name.localeCompare(b.name));
    },
    async get(name) {
      const json = await redis.hget(keys.watchlists, name);
      return json === null ? undefined : parse(json);
    },
    async readChunk(name, version, index) {
      const blob = await redis.lindex(keys.watchlistChunks(name, version), index);
      return blob === null ? undefined : blob.split('\n');
    },
    async readMembers(definition) {
      const blobs = await redis.lrange(keys.watchlistChunks(definition.name, definition.version), 0, -1);
      return blobs.flatMap((blob) => blob.split('\n'));
    },
    async *memberPieces(definition, chunksPerPiece) {
      const key = keys.watchlistChunks(definition.name, definition.version);
      for (let first = 0; ; first += chunksPerPiece) {
        const blobs = await redis.lrange(key, first, first + chunksPerPiece - 1);
        if (blobs.length > 0) yield blobs.flatMap((blob) => blob.split('\n'));
        if (blobs.length < chunksPerPiece) return;
      }
    },
    async namesById() {
      const all = await redis.hgetall(keys.watchlistIds);
      return new Map(
        Object.entries(all).map(([id, json]) => [Number(id), JSON.parse(json) as WatchlistName]),
      );
    },
  };
}
