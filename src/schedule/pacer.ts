import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadLua } from '../state/lua-script.js';

/**
 * The global pacer: every call to Tencent, from any process, first takes a send slot from Redis.
 *
 * Why slots rather than BullMQ's limiter: the limiter is a fixed window that lets up to 2x the cap through across a
 * window edge, while Tencent counts calls in a sliding second. Evenly spaced slots keep any one-second window under
 * the cap as long as calls start close to their slot; a call that would start later than `maxLatenessMs` after its
 * slot takes a fresh slot instead, which bounds the bunching that late starts could cause.
 *
 * With spacing s = 1000 / (cap x (1 - safetyMargin)) ms and lateness L, a one-second window holds at most
 * ceil((1000 + L) / s) starts: 198 for cap 200, margin 0.02, L 10 ms. Jitter after the start (network, the
 * server's own clock) eats into the rest of the margin.
 *
 * Priorities: within a process, callers wait in a local queue by priority and only `lanes` of them hold a Redis
 * reservation at a time. Reservations are therefore never more than a few slots ahead, and a chunk of a small,
 * urgent watchlist overtakes the queued chunks of a big one instead of waiting behind their reservations.
 */
export interface PacerOptions {
  /** The app's call cap, calls per second (Tencent default 200). */
  callsPerSecond: number;
  /** Share of the cap left unused as a guard against clock and network jitter. Default 0.02. */
  safetyMargin?: number;
  /** A slot started later than this is given back and a new one taken. Default 10 ms. */
  maxLatenessMs?: number;
  /** Speed recovery after a penalty, in factor units per second. Default 0.05 (0.8 -> 1.0 in 4 s). */
  recoveryPerSecond?: number;
  /** Reservations held at once by this process. Default 8: enough to keep the cap busy, shallow for priorities. */
  lanes?: number;
}

export interface AcquireOptions {
  /** 1 is served first (BullMQ's convention). Default 5. */
  priority?: number;
  signal?: AbortSignal;
}

export interface Pacer {
  /** Resolves when the caller may start one call. Rejects with the signal's reason when aborted. */
  acquire(options?: AcquireOptions): Promise<void>;
  /** Called after a rate-limit answer: pause everyone for `pauseMs` and slow down. Returns the new speed factor. */
  penalize(pauseMs: number): Promise<number>;
  /** Calls given a fresh slot because they would have started too late (diagnostics). */
  readonly lateReservations: number;
}

const reserveLua = loadLua(new URL('./lua/reserve-call.lua', import.meta.url));
const penalizeLua = loadLua(new URL('./lua/penalize-calls.lua', import.meta.url));

type Reserve = (key: string, spacingUs: number, recovery: number) => Promise<[string, string]>;
type Penalize = (key: string, pauseUs: number, multiplier: number, floor: number) => Promise<string>;

interface Waiter {
  resolve(): void;
  reject(reason: unknown): void;
  signal: AbortSignal | undefined;
}

const PRIORITIES = 10;

export function createPacer(redis: Redis, pacerKey: string, options: PacerOptions): Pacer {
  const {
    callsPerSecond,
    safetyMargin = 0.02,
    maxLatenessMs = 10,
    recoveryPerSecond = 0.05,
    lanes = 8,
  } = options;
  if (!(callsPerSecond > 0)) throw new RangeError(`callsPerSecond must be positive, got ${callsPerSecond}`);
  if (!('presenceReserveCall' in redis)) {
    redis.defineCommand('presenceReserveCall', { lua: reserveLua, numberOfKeys: 1 });
    redis.defineCommand('presencePenalizeCalls', { lua: penalizeLua, numberOfKeys: 1 });
  }
  const reserve = (redis as unknown as { presenceReserveCall: Reserve }).presenceReserveCall.bind(redis);
  const penalizeCalls = (redis as unknown as { presencePenalizeCalls: Penalize }).presencePenalizeCalls.bind(
    redis,
  );
  const spacingUs = 1_000_000 / (callsPerSecond * (1 - safetyMargin));
  const queues: Waiter[][] = Array.from({ length: PRIORITIES }, () => []);
  let activeLanes = 0;
  let lateReservations = 0;

  function nextWaiter(): Waiter | undefined {
    for (const queue of queues) {
      while (queue.length > 0) {
        const waiter = queue.shift()!;
        if (!waiter.signal?.aborted) return waiter;
      }
    }
    return undefined;
  }

  /** Takes a slot from Redis and waits for it; retakes one when the wait overran by more than maxLatenessMs. */
  async function takeSlot(signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const [waitUs] = await reserve(pacerKey, spacingUs, recoveryPerSecond);
      const waitMs = Number(waitUs) / 1000;
      // The slot time is on Redis's clock; measure lateness locally from when the answer arrived.
      const due = performance.now() + waitMs;
      // Rounding up: a start a little late is covered by maxLatenessMs, an early one would not be.
      if (waitMs > 0) await sleep(Math.ceil(waitMs));
      if (performance.now() - due <= maxLatenessMs) return;
      lateReservations++;
    }
  }

  function pump(): void {
    while (activeLanes < lanes) {
      const waiter = nextWaiter();
      if (!waiter) return;
      activeLanes++;
      takeSlot(waiter.signal)
        .then(
          () => waiter.resolve(),
          (error: unknown) => waiter.reject(waiter.signal?.aborted ? waiter.signal.reason : error),
        )
        .finally(() => {
          activeLanes--;
          pump();
        });
    }
  }

  return {
    acquire({ priority = 5, signal } = {}) {
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const waiter: Waiter = { resolve, reject, signal };
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
        const level = Math.min(PRIORITIES, Math.max(1, Math.round(priority))) - 1;
        queues[level]!.push(waiter);
        pump();
      });
    },
    async penalize(pauseMs) {
      return Number(await penalizeCalls(pacerKey, Math.round(pauseMs * 1000), 0.9, 0.5));
    },
    get lateReservations() {
      return lateReservations;
    },
  };
}
