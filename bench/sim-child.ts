/**
 * The simulator in its own process (compiled and forked by the orchestrator), so its CPU is measured alone and its
 * event loop does not compete with the orchestrator's Kafka consumer.
 *   argv[2]: JSON SimulatorOptions. Replies: ready {url, populationMs}; stats; reset; flip; and for the detection
 *   bench: callbackTarget, change (each named user to another state) and changeLog (the ground truth).
 */
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { startSimulator, type SimulatorOptions } from '../src/simulator/index.js';
import { serveParent } from './ipc.js';
import { startLoopMonitor } from './loop-monitor.js';

const options = JSON.parse(process.argv[2] ?? '{}') as SimulatorOptions;
raisePriority();
const startedAt = performance.now();
// Calls are stamped in the simulator's front-door thread, as Tencent's edge would (src/simulator/front-door.ts);
// `frontDoorThread: false` in the options measures the old in-loop stamping.
const simulator = await startSimulator({ frontDoorThread: true, ...options });
const populationMs = performance.now() - startedAt;
// A front door that cannot take calls any more ends the run loudly (a restarted thread shows in the stats).
void simulator.failure.then((error) => {
  console.error(error.message);
  process.exit(1);
});
const loop = startLoopMonitor();

serveParent(
  async (request) => {
    if (request.type === 'stats') return { stats: simulator.stats(), loop: loop.report() };
    if (request.type === 'reset') {
      simulator.resetStats();
      loop.reset();
      return {};
    }
    if (request.type === 'flip') return { flipped: flip(request as unknown as FlipRequest) };
    if (request.type === 'callbackTarget') {
      const { sdkAppId, url } = request as unknown as { sdkAppId: number; url: string };
      simulator.setCallbackTarget(sdkAppId, { url });
      return {};
    }
    if (request.type === 'change') return { changed: change((request as unknown as ChangeRequest).userIds) };
    if (request.type === 'changeLog') return { entries: simulator.changeLog() };
    throw new Error(`unknown request ${request.type}`);
  },
  () => simulator.close(),
);
process.send?.({
  type: 'ready',
  url: simulator.url,
  populationMs,
  nice: getPriority(),
  heapUsedBytes: process.memoryUsage().heapUsed,
});

/** Users `u<index>` (padded to `idWidth`) for every `step`-th index of [start, start + count). */
interface FlipRequest {
  start: number;
  count: number;
  step: number;
  idWidth: number;
}

/**
 * A mass change (a crashed client release, an incident): every chosen user goes Offline, or Online when already
 * Offline, so each of them is one transition at its next observation. Returns how many changed.
 */
function flip({ start, count, step, idWidth }: FlipRequest): number {
  let flipped = 0;
  for (let index = start; index < start + count; index += step) {
    const userId = `u${String(index).padStart(idWidth, '0')}`;
    const before = simulator.getUserState(userId)?.state;
    simulator.setUserState(userId, before === 'Offline' ? 'Online' : 'Offline');
    flipped++;
  }
  return flipped;
}

interface ChangeRequest {
  userIds: string[];
}

const STATES = ['Online', 'Offline', 'PushOnline'] as const;

/**
 * Moves each user to one of the two other states, picked at random: the change is stamped here, in the simulator's
 * own clock, as Tencent would see it, however late the request arrived. Returns how many changed.
 */
function change(userIds: readonly string[]): number {
  let changed = 0;
  for (const userId of userIds) {
    const now = simulator.getUserState(userId)?.state;
    if (now === undefined) continue;
    const others = STATES.filter((state) => state !== now);
    simulator.setUserState(userId, others[Math.floor(Math.random() * others.length)]!);
    changed++;
  }
  return changed;
}

/**
 * The simulator stands in for Tencent's servers, which do not share the worker's two cores: when it waits for a core
 * behind Redis, Kafka and the worker, it stamps call arrivals late, in a burst, and its one-second window counts
 * calls over the cap that the worker never sent. So every thread of this process (V8's GC helpers included) gets a
 * higher scheduling priority, where the system allows it (root or CAP_SYS_NICE); otherwise it runs as before.
 * `BENCH_SIMULATOR_NICE` sets another value (0: no change).
 */
function raisePriority(): void {
  try {
    const nice = Number(process.env.BENCH_SIMULATOR_NICE ?? -10);
    for (const thread of readdirSync('/proc/self/task')) setPriority(Number(thread), nice);
  } catch {
    // Not permitted or not Linux: the figures then include the simulator's scheduling delays.
  }
}
