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
 * ceil((1000 + L) / s) starts: 198 for cap 200, margin 0.02, L 10 ms.
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
}

export interface Pacer {
  /** Resolves when the caller may start one call. Rejects with the signal's reason when aborted. */
  acquire(signal?: AbortSignal): Promise<void>;
  /** Called after a rate-limit answer: pause everyone for `pauseMs` and slow down. Returns the new speed factor. */
  penalize(pauseMs: number): Promise<number>;
  /** Calls given a fresh slot because they started too late (diagnostics). */
  readonly lateReservations: number;
}

const reserveLua = loadLua(new URL('./lua/reserve-call.lua', import.meta.url));
const penalizeLua = loadLua(new URL('./lua/penalize-calls.lua', import.meta.url));

type Reserve = (key: string, spacingUs: number, recovery: number) => Promise<[string, string]>;
type Penalize = (key: string, pauseUs: number, multiplier: number, floor: number) => Promise<string>;

export function createPacer(redis: Redis, pacerKey: string, options: PacerOptions): Pacer {
  const { callsPerSecond, safetyMargin = 0.02, maxLatenessMs = 10, recoveryPerSecond = 0.05 } = options;
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
  let lateReservations = 0;

  return {
    async acquire(signal) {
      for (;;) {
        signal?.throwIfAborted();
        const [waitUs] = await reserve(pacerKey, spacingUs, recoveryPerSecond);
        const waitMs = Number(waitUs) / 1000;
        // The slot time is on Redis's clock; measure lateness locally from when the answer arrived.
        const due = performance.now() + waitMs;
        // Rounding up: a start a little late is covered by maxLatenessMs, an early one would not be.
        if (waitMs > 0) {
          await sleep(Math.ceil(waitMs), undefined, { signal }).catch((error: unknown) => {
            throw signal?.aborted ? signal.reason : error;
          });
        }
        if (performance.now() - due <= maxLatenessMs) return;
        lateReservations++;
      }
    },
    async penalize(pauseMs) {
      return Number(await penalizeCalls(pacerKey, Math.round(pauseMs * 1000), 0.9, 0.5));
    },
    get lateReservations() {
      return lateReservations;
    },
  };
}
