/**
 * Redis bytes per tracked user, without the rest of the bench: the same figure as the sweep scenario's "B/user"
 * (`used_memory` after the sync and the first sweep, outbox drained, minus before, ÷ users), on a private
 * redis-server, in seconds instead of minutes. The app gets as many state buckets per user as a million users get
 * from DEFAULT_STATE_BUCKETS (~61 a bucket), so the listpack and per-key overheads are those of the 1M case.
 *
 *   npx tsx bench/bytes.ts [--users 100000] [--ids sequential|random]
 *
 * `sequential` IDs are the bench's (`u` + 6 digits); `random` ones are 16 random letters and digits. One sync of
 * one watchlist, then every chunk answered once as the chunk job does (codes, packed chunk states), each user in a
 * random state, observed a minute after tracking began. Prints the split by MEMORY USAGE (state buckets, the
 * member chunk list, the chunk watermarks and packed states) and a few sample records, and writes .bench/bytes.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { appKeys, DEFAULT_STATE_BUCKETS } from '../src/redis/keys.js';
import { createRng } from '../src/simulator/prng.js';
import { createStateStore } from '../src/state/state-store.js';
import { createWatchlistRegistry } from '../src/state/watchlist-registry.js';
import { syncWatchlists } from '../src/state/watchlist-sync.js';
import { MAX_IDS_PER_CALL, STATE_CODES } from '../src/vocabulary.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { BENCH_DIR } from './build.js';
import { machineInfo } from './proc.js';
import { UserIdList } from '../src/tencent/user-id-list.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '100000' },
    ids: { type: 'string', default: 'sequential' },
  },
});
const users = Number(values.users);
const idKind = values.ids === 'random' ? 'random' : 'sequential';
const rng = createRng(40);
const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const userIds = Array.from({ length: users }, (_, i) =>
  idKind === 'sequential'
    ? `u${String(i).padStart(6, '0')}`
    : Array.from({ length: 16 }, () => ALPHANUMERIC[rng.int(0, ALPHANUMERIC.length - 1)]).join(''),
);
const stateBuckets = Math.max(1, Math.round((DEFAULT_STATE_BUCKETS * users) / 1_000_000));

const server = await startRedisServer({ appendOnly: false });
const redis = new Redis(server.url);
const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
const usage = async (key: string) => Number((await redis.memory('USAGE', key, 'SAMPLES', 0)) ?? 0);

const keys = appKeys('bytes', 1_400_000_000, stateBuckets);
const registry = createWatchlistRegistry(redis, keys);
const stateStore = createStateStore(redis, keys);
const before = await usedMemory();

const name = 'everyone';
await syncWatchlists({ redis, keys, registry, stateStore }, [
  {
    name,
    userIds,
    intervalMs: 11_000,
    detail: false,
    deviceEvents: false,
    firstObservation: 'snapshot',
    priority: 5,
  },
]);
const definition = (await registry.get(name))!;
// The first sweep, a minute after tracking began: every chunk answered once, as the chunk job applies it.
const observedAtMs = Date.now() + 60_000;
const CODES = [STATE_CODES.Online, STATE_CODES.PushOnline, STATE_CODES.Offline];
for (let chunk = 0; chunk < definition.chunkCount; chunk += 1) {
  const ids = (await registry.readChunk(name, definition.version, chunk))!;
  let codes = '';
  for (let i = 0; i < ids.length; i += 1) codes += CODES[rng.int(0, CODES.length - 1)];
  await stateStore.applyObservations({
    source: { watchlist: name, version: definition.version, chunk },
    observedAtMs: observedAtMs + chunk * 5,
    firstObservation: 'snapshot',
    deviceEvents: false,
    observations: { userIds: UserIdList.of(ids), codes },
  });
}
// The relay would have published and trimmed these.
await redis.del(keys.outbox);
const after = await usedMemory();

let stateBucketBytes = 0;
let cursor = '0';
do {
  const [next, found] = await redis.scan(cursor, 'MATCH', `${keys.tag}:s:*`, 'COUNT', 2_000);
  cursor = next;
  for (const key of found) stateBucketBytes += await usage(key);
} while (cursor !== '0');
const chunkListBytes = await usage(keys.watchlistChunks(name, definition.version));
const watermarkBytes = await usage(keys.chunkWatermarks(name));
const samples = await Promise.all(
  [0, 1, Math.floor(users / 2), users - 1].map(async (i) => {
    const record = (await redis.hget(keys.stateBucketOf(userIds[i]!), userIds[i]!)) ?? '';
    return { userId: userIds[i]!, record, bytes: Buffer.byteLength(record) };
  }),
);
const encodings = new Set<string>();
for (let i = 0; i < Math.min(stateBuckets, 50); i += 1) {
  encodings.add(String(await redis.object('ENCODING', keys.stateBucket(i))));
}

const perUser = (bytes: number) => Number((bytes / users).toFixed(2));
const result = {
  machine: machineInfo(),
  loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
  redisVersion: /redis_version:(\S+)/.exec(await redis.info('server'))?.[1],
  users,
  ids: idKind,
  chunks: definition.chunkCount,
  chunkSize: MAX_IDS_PER_CALL,
  stateBuckets,
  bucketEncodings: [...encodings],
  bytesPerUser: perUser(after - before),
  split: {
    stateBuckets: perUser(stateBucketBytes),
    chunkList: perUser(chunkListBytes),
    watermarksAndPackedStates: perUser(watermarkBytes),
    rest: perUser(after - before - stateBucketBytes - chunkListBytes - watermarkBytes),
  },
  samples,
};
console.log(
  `${users.toLocaleString('en-US')} users (${idKind} IDs) in ${stateBuckets} buckets ${[...encodings].join('/')}: ` +
    `${result.bytesPerUser} B/user = state buckets ${result.split.stateBuckets} + chunk list ` +
    `${result.split.chunkList} + watermarks and packed states ${result.split.watermarksAndPackedStates} + rest ` +
    `${result.split.rest}; load average ${result.loadAverage.join(' ')}`,
);
for (const sample of samples) console.log(`  ${sample.userId}  ${sample.bytes} B  ${sample.record}`);
mkdirSync(BENCH_DIR, { recursive: true });
writeFileSync(join(BENCH_DIR, `bytes-${idKind}.json`), `${JSON.stringify(result, null, 2)}\n`);
await redis.quit();
await server.stop();
