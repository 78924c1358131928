import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { RedisClient } from '../redis/client.js';
import type { AppKeys } from '../redis/keys.js';
import { UserIdList } from '../tencent/user-id-list.js';
import type { WatchlistSettings } from '../vocabulary.js';

/**
 * The watchlists of one app as every process sees them: definitions in one Redis hash, members stored as chunk
 * blobs (at most 500 UserIDs per blob, see `encodeChunk`) under a content-addressed version. Redis is the one
 * source of truth; config files reach it only through `syncWatchlists`.
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
  /**
   * Several chunks of one version in one read (a chunk job's): index -> UserIDs, for the indexes that exist, as
   * stored (one text per chunk, no string per user). The list is read from the lowest to the highest index asked,
   * so the indexes should lie close together.
   */
  readChunks(name: string, version: string, indexes: readonly number[]): Promise<Map<number, UserIdList>>;
  readMembers(definition: WatchlistDefinition): Promise<string[]>;
  /** The same members in order, `chunksPerPiece` chunks at a time: a long list is never read whole. */
  memberPieces(
    definition: Pick<WatchlistDefinition, 'name' | 'version'>,
    chunksPerPiece: number,
  ): AsyncIterable<string[]>;
  namesById(): Promise<Map<number, WatchlistName>>;
}

/** First byte of a deflated chunk blob. A UserID is printable ASCII (config/user-ids.ts), so no plain blob has it. */
const DEFLATED = 0x00;

/**
 * The stored form of one chunk: its UserIDs newline-joined and deflated (raw), behind one `DEFLATED` byte. The
 * chunk lists repeat every member's UserID beside its state record, and at a million users per app they were a
 * sixth of the app's Redis memory; UserIDs given out by a system (numbers, a prefix and a counter) shrink several
 * times, random ones by about 30 % (bench/bytes.ts). Only the worker reads them (a chunk per call), never a script.
 */
export function encodeChunk(userIds: readonly string[]): Buffer {
  const deflated = deflateRawSync(userIds.join('\n'));
  const blob = Buffer.allocUnsafe(deflated.length + 1);
  blob[0] = DEFLATED;
  deflated.copy(blob, 1);
  return blob;
}

/** The UserIDs of a stored chunk: deflated, or plain (newline-joined, as the first format wrote them). */
export function decodeChunk(blob: Buffer): string[] {
  return decodeChunkText(blob).split('\n');
}

/** The same UserIDs, newline-joined as stored. */
export function decodeChunkText(blob: Buffer): string {
  return blob[0] === DEFLATED ? inflateRawSync(blob.subarray(1)).toString() : blob.toString();
}

export function createWatchlistRegistry(redis: RedisClient, keys: AppKeys): WatchlistRegistry {
  const parse = (json: string) => JSON.parse(json) as WatchlistDefinition;
  const readChunks: WatchlistRegistry['readChunks'] = async (name, version, indexes) => {
    const chunks = new Map<number, UserIdList>();
    if (indexes.length === 0) return chunks;
    const first = Math.min(...indexes);
    const blobs = await redis.lrangeBuffer(keys.watchlistChunks(name, version), first, Math.max(...indexes));
    for (const index of indexes) {
      const blob = blobs[index - first];
      if (blob) chunks.set(index, UserIdList.fromText(decodeChunkText(blob)));
    }
    return chunks;
  };

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
      return (await readChunks(name, version, [index])).get(index)?.ids().slice();
    },
    readChunks,
    async readMembers(definition) {
      const blobs = await redis.lrangeBuffer(
        keys.watchlistChunks(definition.name, definition.version),
        0,
        -1,
      );
      return blobs.flatMap(decodeChunk);
    },
    async *memberPieces(definition, chunksPerPiece) {
      const key = keys.watchlistChunks(definition.name, definition.version);
      for (let first = 0; ; first += chunksPerPiece) {
        const blobs = await redis.lrangeBuffer(key, first, first + chunksPerPiece - 1);
        if (blobs.length > 0) yield blobs.flatMap(decodeChunk);
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
