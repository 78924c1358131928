/**
 * Micro-benchmark of the diff alone: the cost per user state of applying chunk answers to Redis, through the
 * per-user path (an object per user, every record read) and through coded observations with packed chunk states
 * (state/lua/apply-observations.lua), on the same private redis-server in the same run, alternating, so that a busy
 * shared machine weighs on both alike.
 *
 *   npx tsx bench/diff.ts [--users 100000] [--rounds 6] [--changes 0.004]
 *
 * Each round answers every chunk of one watchlist once (500 users per chunk), with `--changes` of the users in a
 * different state than in the previous round (0.004 = 0.1 %/s over a 4 s revisit, as in the cap scenario). Prints
 * redis-server CPU and this process's CPU (building the script calls) per 100,000 states, medians over the
 * rounds, and writes .bench/diff.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { appKeys } from '../src/redis/keys.js';
import { createRng } from '../src/simulator/prng.js';
import { toObservations } from '../src/state/observations.js';
import { createStateStore, type StateStore } from '../src/state/state-store.js';
import type { OnlineStatusResult, PresenceState } from '../src/tencent/types.js';
import { codeOfState } from '../src/vocabulary.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { BENCH_DIR } from './build.js';
import { cpuSecondsOf, machineInfo } from './proc.js';
import { median } from './report.js';
import { UserIdList } from '../src/tencent/user-id-list.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '6' },
    changes: { type: 'string', default: '0.004' },
  },
});
const users = Number(values.users);
const rounds = Number(values.rounds);
const changeShare = Number(values.changes);
const CHUNK = 500;
const STATES: readonly PresenceState[] = ['Online', 'PushOnline', 'Offline'];

const server = await startRedisServer({ appendOnly: false });
const redis = new Redis(server.url);
const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);

/** One app per path, each with the same watchlist (id 1, published as the sync does) and members. */
async function setUp(label: string): Promise<{ store: StateStore; chunks: string[][] }> {
  const keys = appKeys(`diff-${label}`, 1_400_000_000);
  const store = createStateStore(redis, keys);
  const ids = Array.from({ length: users }, (_, i) => `u${String(i).padStart(7, '0')}`);
  await store.updateMembership({ op: 'add', watchlistId: 1, userIds: ids, nowMs: 1 });
  await redis.hset(keys.watchlists, 'w', JSON.stringify({ name: 'w', id: 1, version: 'v1' }));
  const chunks: string[][] = [];
  for (let i = 0; i < ids.length; i += CHUNK) chunks.push(ids.slice(i, i + CHUNK));
  return { store, chunks };
}
const perUser = await setUp('per-user');
const packed = await setUp('packed');

// The truth, shared by both paths: each round changes `changeShare` of the users.
const rng = createRng(18);
const truth: PresenceState[] = Array.from({ length: users }, () => rng.pick(STATES));

async function applyRound(
  path: 'per-user' | 'packed',
  observedAtMs: number,
): Promise<{ redisSeconds: number; workerSeconds: number; events: number }> {
  const { store, chunks } = path === 'per-user' ? perUser : packed;
  const redis0 = cpuSecondsOf(redisPid) ?? 0;
  let workerMicros = 0;
  let events = 0;
  for (const [index, userIds] of chunks.entries()) {
    const offset = index * CHUNK;
    const cpu0 = process.cpuUsage();
    let observations;
    if (path === 'per-user') {
      const result: OnlineStatusResult = {
        results: userIds.map((userId, i) => ({ userId, state: truth[offset + i]! })),
        accountErrors: [],
        quarantined: [],
      };
      observations = toObservations(result, false).observations;
    } else {
      let codes = '';
      for (let i = 0; i < userIds.length; i += 1) codes += codeOfState(truth[offset + i]!);
      observations = { userIds: UserIdList.of(userIds), codes };
    }
    const pending = store.applyObservations({
      source: { watchlist: 'w', version: 'v1', chunk: index },
      observedAtMs,
      firstObservation: 'snapshot',
      deviceEvents: false,
      observations,
    });
    const cpu1 = process.cpuUsage(cpu0);
    workerMicros += cpu1.user + cpu1.system;
    events += (await pending).events;
  }
  return { redisSeconds: (cpuSecondsOf(redisPid) ?? 0) - redis0, workerSeconds: workerMicros / 1e6, events };
}

const per100k = (seconds: number) => seconds / (users / 100_000);
const samples: Record<'per-user' | 'packed', { redis: number[]; worker: number[]; events: number[] }> = {
  'per-user': { redis: [], worker: [], events: [] },
  packed: { redis: [], worker: [], events: [] },
};
// Round 0 writes every record for the first time (snapshots) and is left out, as the bench's first sweep is.
for (let round = 0; round <= rounds; round += 1) {
  if (round > 0) {
    for (let n = Math.round(users * changeShare); n > 0; n -= 1)
      truth[rng.int(0, users - 1)] = rng.pick(STATES);
  }
  const observedAtMs = 1_000 * (round + 1);
  // Alternate which path goes first, so neither always runs in the other's wake.
  const order = round % 2 ? (['packed', 'per-user'] as const) : (['per-user', 'packed'] as const);
  for (const path of order) {
    const { redisSeconds, workerSeconds, events } = await applyRound(path, observedAtMs);
    if (round === 0) continue;
    samples[path].redis.push(per100k(redisSeconds));
    samples[path].worker.push(per100k(workerSeconds));
    samples[path].events.push(events);
  }
}

const summary = Object.fromEntries(
  (['per-user', 'packed'] as const).map((path) => [
    path,
    {
      redisCpuSecondsPer100kStates: median(samples[path].redis),
      workerCpuSecondsPer100kStates: median(samples[path].worker),
      eventsPerRound: samples[path].events,
    },
  ]),
);
const load = loadavg().map((l) => l.toFixed(2));
console.log(
  `${users.toLocaleString('en-US')} users in ${Math.ceil(users / CHUNK)} chunks, ${rounds} rounds, ` +
    `${(changeShare * 100).toFixed(2)} % changed per round; load average ${load.join(' ')}`,
);
for (const [path, s] of Object.entries(summary)) {
  console.log(
    `${path.padEnd(9)} redis ${s.redisCpuSecondsPer100kStates?.toFixed(3)} CPU s / 100k states, ` +
      `building the calls ${s.workerCpuSecondsPer100kStates?.toFixed(3)} CPU s / 100k states, events ${s.eventsPerRound.join(',')}`,
  );
}
mkdirSync(BENCH_DIR, { recursive: true });
writeFileSync(
  join(BENCH_DIR, 'diff.json'),
  `${JSON.stringify({ machine: machineInfo(), loadAverage: load, users, rounds, changeShare, samples, summary }, null, 2)}\n`,
);
await redis.quit();
await server.stop();
