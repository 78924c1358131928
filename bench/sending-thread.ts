/**
 * The sending thread against a blocked main thread: 40 calls at 50 calls/s while the main thread is blocked for
 * 500 ms in the middle of them. Reports how many slots were given back for lateness and how late calls started
 * after their slot. On the main thread's own event loop about 25 of the 40 slots would be given back; the thread's
 * point is that a main-thread stall costs (almost) none. A timing figure, so it lives here and not in the tests.
 *
 *   npx tsx bench/sending-thread.ts [--repeat 5]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createPacedTransport, type CallTiming } from '../src/cap/paced-transport.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { BENCH_DIR } from './build.js';

const { values } = parseArgs({ options: { repeat: { type: 'string', default: '5' } } });
const repeat = Number(values.repeat);
const CALLS = 40;
const BLOCK_MS = 500;

const redis = await startRedisServer({ appendOnly: false });
const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => response.end('ok'));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const runs: Array<{ lateSlots: number; startedWithin5Ms: number; maxLatenessMs: number }> = [];
try {
  for (let run = 0; run < repeat; run++) {
    const timings: CallTiming[] = [];
    let lateSlots = 0;
    const transport = createPacedTransport({
      redis: { url: redis.url },
      pacerKey: `bench-sending-thread-${run}`,
      pacer: { callsPerSecond: 50 },
      connections: 8,
      onCall: (timing) => timings.push(timing),
      onLateSlot: () => lateSlots++,
    });
    await transport.send({ origin, path: '/q', body: 'warm-up', timeoutMs: 5_000 });
    timings.length = 0;
    const calls = Array.from({ length: CALLS }, (_, i) =>
      transport.send({ origin, path: '/q', body: String(i), timeoutMs: 5_000 }),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const blockedUntil = performance.now() + BLOCK_MS;
    while (performance.now() < blockedUntil);
    await Promise.all(calls);
    await transport.close();
    runs.push({
      lateSlots,
      startedWithin5Ms: timings.filter((t) => t.latenessMs <= 5).length,
      maxLatenessMs: Math.max(...timings.map((t) => t.latenessMs)),
    });
    console.log(
      `run ${run + 1}: ${lateSlots} slots given back, ${runs.at(-1)!.startedWithin5Ms}/${CALLS} started within 5 ms ` +
        `of their slot, latest start ${runs.at(-1)!.maxLatenessMs.toFixed(1)} ms after it`,
    );
  }
} finally {
  server.close();
  await redis.destroy();
}
mkdirSync(BENCH_DIR, { recursive: true });
const file = join(BENCH_DIR, `sending-thread-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify({ calls: CALLS, blockMs: BLOCK_MS, runs }, null, 2)}\n`);
console.log(`wrote ${file}`);
