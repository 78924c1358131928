/**
 * Memory of the start-up sync alone: `syncWatchlists` writing one watchlist of N members into a private
 * redis-server, in a child process with the worker's Node flags, RSS and heap sampled every 20 ms.
 *
 *   npx tsx bench/sync-memory.ts [--users 1000000] [--resync] [--node-options="<flags>"]
 *
 * Prints, per phase (building the ID array, the sync, with --resync a new array and a second sync that replaces half
 * of the members, then a full GC), the time taken, RSS at the start, peak and end, and heap in use (peak, end). The
 * child runs through the tsx loader (~28 MB more RSS than the compiled worker), so compare deltas, not totals,
 * with the `sweep` scenario's worker peak RSS. `--node-options` replaces the worker's flags (bench/deployment.ts);
 * add e.g. `--trace-gc` to see each collection.
 */
import { fork } from 'node:child_process';
import { parseArgs } from 'node:util';
import { getHeapSpaceStatistics } from 'node:v8';
import { WORKER_NODE_FLAGS } from './worker-flags.js';
import { memoryOf } from './proc.js';

const MIB = 1024 * 1024;

interface PhaseReport {
  phase: string;
  ms: number;
  rss: { start: number; peak: number; end: number };
  heap: { peak: number; end: number };
}

/** VmRSS and VmHWM of this process, bytes. */
function residentSet(): { rss: number; hwm: number } {
  const memory = memoryOf(process.pid);
  return { rss: memory?.rssBytes ?? 0, hwm: memory?.peakRssBytes ?? 0 };
}

/** Heap in use outside the young generation: what garbage promoted out of it costs until a full GC. */
function heapInUse(): number {
  return getHeapSpaceStatistics()
    .filter((space) => space.space_name !== 'new_space')
    .reduce((sum, space) => sum + space.space_used_size, 0);
}

/** Runs `work` while sampling every 20 ms (samples land only when the event loop is free, as in the worker). */
async function measure(phase: string, work: () => unknown): Promise<PhaseReport> {
  const start = residentSet().rss;
  let peakRss = start;
  let peakHeap = heapInUse();
  const sample = () => {
    peakRss = Math.max(peakRss, residentSet().rss);
    peakHeap = Math.max(peakHeap, heapInUse());
  };
  const timer = setInterval(sample, 20);
  const started = performance.now();
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  const ms = performance.now() - started;
  sample();
  return {
    phase,
    ms,
    rss: { start, peak: peakRss, end: residentSet().rss },
    heap: { peak: peakHeap, end: heapInUse() },
  };
}

async function child(url: string, users: number, resync: boolean): Promise<void> {
  const { Redis } = await import('ioredis');
  const { syncWatchlists } = await import('../src/state/watchlist-sync.js');
  const { appKeys } = await import('../src/redis/keys.js');
  const { createStateStore } = await import('../src/state/state-store.js');
  const { createWatchlistRegistry } = await import('../src/state/watchlist-registry.js');

  const redis = new Redis(url, { maxRetriesPerRequest: null });
  await redis.ping();
  const keys = appKeys('sync-memory', 1400000000);
  const deps = {
    redis,
    keys,
    registry: createWatchlistRegistry(redis, keys),
    stateStore: createStateStore(redis, keys),
  };
  // As the bench's worker builds them (and loadConfig would from a user file): u000000, u000001, ...
  const width = Math.max(6, String((resync ? 1.5 * users : users) - 1).length);
  const memberIds = (from: number) =>
    Array.from({ length: users }, (_, i) => `u${String(from + i).padStart(width, '0')}`);
  const spec = (userIds: string[]) => ({
    name: 'big',
    intervalMs: 11_000,
    detail: false,
    deviceEvents: false,
    firstObservation: 'silent' as const,
    priority: 5,
    userIds,
  });

  const phases: PhaseReport[] = [];
  const reports: object[] = [];
  let ids: string[] = [];
  phases.push(await measure('ids', () => (ids = memberIds(0))));
  phases.push(await measure('sync', async () => reports.push(await syncWatchlists(deps, [spec(ids)]))));
  if (resync) {
    // Half of the members replaced (the new list built as a reload would): the path that reads the old list back
    // and removes users.
    phases.push(
      await measure('resync', async () => {
        ids = memberIds(users / 2);
        reports.push(await syncWatchlists(deps, [spec(ids)]));
      }),
    );
  }
  ids = [];
  const gc = (globalThis as { gc?: () => void }).gc;
  phases.push(await measure('full gc', () => gc?.()));
  await redis.quit();
  process.send?.({ phases, reports, hwm: residentSet().hwm });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '1000000' },
      resync: { type: 'boolean', default: false },
      'node-options': { type: 'string', default: WORKER_NODE_FLAGS },
    },
  });
  const users = Number(values.users);
  const { startRedisServer } = await import('../test/helpers/redis-server.js');
  const server = await startRedisServer({ appendOnly: false });
  try {
    const execArgv = [...values['node-options'].split(' ').filter(Boolean), '--expose-gc', '--import', 'tsx'];
    const args = ['--child', server.url, String(users), values.resync ? '1' : '0'];
    const worker = fork(import.meta.filename, args, { execArgv });
    const result = await new Promise<{ phases: PhaseReport[]; reports: object[]; hwm: number }>(
      (resolve, reject) => {
        worker.once('message', (message) => resolve(message as never));
        worker.once('exit', (code) => reject(new Error(`sync child exited with ${code} before reporting`)));
      },
    );
    await new Promise((resolve) => worker.once('exit', resolve));
    const mib = (bytes: number) => (bytes / MIB).toFixed(0).padStart(5);
    console.log(`sync of ${users.toLocaleString('en-US')} members, child flags: ${execArgv.join(' ')}`);
    console.log(
      'phase        ms  RSS start  peak   end   heap peak  end  (MiB; heap = outside the young generation)',
    );
    for (const { phase, ms, rss, heap } of result.phases) {
      console.log(
        `${phase.padEnd(8)} ${ms.toFixed(0).padStart(6)}  ${mib(rss.start)}    ${mib(rss.peak)} ${mib(rss.end)}      ` +
          `${mib(heap.peak)} ${mib(heap.end)}`,
      );
    }
    console.log(`child peak RSS (VmHWM) ${mib(result.hwm).trim()} MiB`);
    for (const report of result.reports) console.log(JSON.stringify(report));
  } finally {
    await server.destroy();
  }
}

if (process.argv[2] === '--child') {
  await child(process.argv[3] ?? '', Number(process.argv[4]), process.argv[5] === '1');
} else {
  await main();
}
