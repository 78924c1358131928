/**
 * Measures what the simulator can serve: 500-ID detail calls, first paced at 200 calls/s (Tencent's cap) to show the
 * CPU it costs, then unpaced to find its ceiling. The simulator runs in a child process so its CPU is measured alone.
 *
 *   npx tsx bench/simulator-capacity.ts [--seconds 5] [--concurrency 16]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { startSimulator, DEFAULT_SIMULATOR_APP } from '../src/simulator/index.js';
import { generateUserSig } from '../src/tencent/usersig.js';

const IDS_PER_CALL = 500;
const POPULATION = 100_000;

interface CpuReport {
  userMs: number;
  systemMs: number;
}

async function serve(): Promise<void> {
  const sim = await startSimulator({
    apps: [{ ...DEFAULT_SIMULATOR_APP, callsPerSecond: 1_000_000 }],
    population: { size: POPULATION },
    churnPerSecond: 1_000,
  });
  process.on('message', (msg) => {
    if (msg === 'cpu') {
      const u = process.cpuUsage();
      process.send?.({ userMs: u.user / 1000, systemMs: u.system / 1000 } satisfies CpuReport);
    } else if (msg === 'stop') {
      void sim.close().then(() => process.exit(0));
    }
  });
  process.send?.({ url: sim.url });
}

function ask<T>(child: ChildProcess, msg: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (reply) => resolve(reply as T));
    child.send(msg);
  });
}

async function run(): Promise<void> {
  const args = process.argv.slice(2);
  const seconds = Number(args[args.indexOf('--seconds') + 1] ?? 5) || 5;
  const concurrency = Number(args[args.indexOf('--concurrency') + 1] ?? 16) || 16;
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], { execArgv: ['--import', 'tsx'] });
  const { url } = await new Promise<{ url: string }>((resolve) =>
    child.once('message', (m) => resolve(m as never)),
  );
  const pool = new Pool(url, { connections: concurrency });
  const userSig = generateUserSig({
    sdkAppId: DEFAULT_SIMULATOR_APP.sdkAppId,
    identifier: 'administrator',
    secretKey: DEFAULT_SIMULATOR_APP.secretKey,
    expireSec: 86_400,
  });
  const bodies = Array.from({ length: POPULATION / IDS_PER_CALL }, (_, chunk) =>
    JSON.stringify({
      To_Account: Array.from(
        { length: IDS_PER_CALL },
        (_, i) => `u${String(chunk * IDS_PER_CALL + i).padStart(6, '0')}`,
      ),
      IsNeedDetail: 1,
    }),
  );
  let n = 0;
  let failures = 0;
  async function call(): Promise<void> {
    const body = bodies[n++ % bodies.length] as string;
    const path =
      `/v4/openim/query_online_status?sdkappid=${DEFAULT_SIMULATOR_APP.sdkAppId}&identifier=administrator` +
      `&usersig=${userSig}&random=${n}&contenttype=json`;
    const res = await pool.request({
      path,
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    });
    const text = await res.body.text();
    if (res.statusCode !== 200 || !text.startsWith('{"ActionStatus":"OK"')) failures++;
  }

  async function phase(label: string, paceCallsPerSecond: number | undefined): Promise<void> {
    const cpu0 = await ask<CpuReport>(child, 'cpu');
    const start = performance.now();
    const end = start + seconds * 1000;
    let done = 0;
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; performance.now() < end; i++) {
        if (paceCallsPerSecond) {
          const due = start + ((i * concurrency + w) * 1000) / paceCallsPerSecond;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          if (performance.now() >= end) break;
        }
        await call();
        done++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
    const wallS = (performance.now() - start) / 1000;
    const cpu1 = await ask<CpuReport>(child, 'cpu');
    const cpuS = (cpu1.userMs + cpu1.systemMs - cpu0.userMs - cpu0.systemMs) / 1000;
    console.log(
      `${label}: ${(done / wallS).toFixed(0)} calls/s x ${IDS_PER_CALL} IDs (detail) over ${wallS.toFixed(1)} s; ` +
        `simulator CPU ${cpuS.toFixed(2)} s (${((cpuS / wallS) * 100).toFixed(0)}% of one core, ` +
        `${((cpuS * 1e6) / Math.max(1, done)).toFixed(0)} us/call); failures ${failures}`,
    );
  }

  await phase('warm-up  ', undefined);
  await phase('paced 200', 200);
  await phase('unpaced  ', undefined);
  await pool.close();
  child.send('stop');
  await new Promise((r) => child.once('exit', r));
}

if (process.argv.includes('--serve')) await serve();
else await run();
