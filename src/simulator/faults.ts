/**
 * Latency and injected faults. Faults come from a queue (the next N admitted calls, in order) or, when the queue is
 * empty, by probability per kind. Both draw from the simulator's seeded PRNG, so a seed replays the same faults.
 */
import type { Rng } from './prng.js';

export type FaultKind =
  /** Hold the answer for `delayMs` (then answer normally), or until the simulator closes when no delay is given. */
  | 'timeout'
  /** HTTP 502 with an HTML body, as a gateway would. */
  | 'http502'
  /** ErrorCode from `RETRYABLE_CODES` in turn (or the fault's `errorCode`): 70169, 90992, 90994, 90995, 91000. */
  | 'retryable'
  /** HTTP 200 with a body that is not valid JSON. */
  | 'malformed'
  /** ErrorCode 70001 once, as if the caller's UserSig had just expired. */
  | 'expire-usersig'
  /** ErrorCode 70052 once, as if the UserSig had been invalidated. */
  | 'revoke-usersig'
  /** ErrorCode 60007 (over the cap) although the window had room. */
  | 'rate-limit'
  /** Destroys the socket without an answer. */
  | 'reset'
  /** Any ErrorCode given in `errorCode` (FAIL, no results). */
  | 'error-code';

export const FAULT_KINDS: readonly FaultKind[] = [
  'timeout',
  'http502',
  'retryable',
  'malformed',
  'expire-usersig',
  'revoke-usersig',
  'rate-limit',
  'reset',
  'error-code',
];

export interface Fault {
  kind: FaultKind;
  /** For `retryable` and `error-code`. */
  errorCode?: number;
  /** For `timeout`: answer normally after this many ms instead of never. */
  delayMs?: number;
}

/** Server-side retryable codes of this API. */
export const RETRYABLE_CODES: readonly number[] = [70169, 90992, 90994, 90995, 91000];

export interface LatencyRange {
  /** Minimum added latency, ms; default 0. */
  minMs: number;
  /** Maximum added latency, ms; default 0. Uniform between the two. */
  maxMs: number;
}

/** Probability (0..1) per admitted call, by kind. Applied only when the queue is empty. */
export type FaultRates = Partial<Record<FaultKind, number>>;

export interface FaultPlan {
  /** Queues faults for the next admitted calls, in order. */
  enqueue(faults: readonly (Fault | FaultKind)[]): void;
  setRates(rates: FaultRates): void;
  setLatency(latency: LatencyRange): void;
  /** The fault for the next admitted call, if any. */
  next(): Fault | undefined;
  /** Added latency for the next answer, ms. */
  latencyMs(): number;
  readonly queued: number;
  clear(): void;
}

export function createFaultPlan(rng: Rng, rates: FaultRates = {}, latency?: LatencyRange): FaultPlan {
  const queue: Fault[] = [];
  let queueHead = 0;
  let rateList: [FaultKind, number][] = [];
  let range: LatencyRange = { minMs: 0, maxMs: 0 };
  let retryableTurn = 0;

  const plan: FaultPlan = {
    enqueue(faults) {
      for (const f of faults) queue.push(typeof f === 'string' ? { kind: f } : { ...f });
    },
    setRates(next) {
      for (const [kind, p] of Object.entries(next)) {
        if (!FAULT_KINDS.includes(kind as FaultKind)) throw new RangeError(`unknown fault kind ${kind}`);
        if (!(p >= 0 && p <= 1)) throw new RangeError(`fault rate for ${kind} must be in 0..1`);
      }
      rateList = Object.entries(next).filter(([, p]) => p > 0) as [FaultKind, number][];
    },
    setLatency(next) {
      if (!(next.minMs >= 0 && next.maxMs >= next.minMs))
        throw new RangeError('latency needs 0 <= minMs <= maxMs');
      range = { ...next };
    },
    next() {
      let fault: Fault | undefined;
      if (queueHead < queue.length) {
        fault = queue[queueHead++];
        if (queueHead === queue.length) {
          queue.length = 0;
          queueHead = 0;
        }
      } else {
        for (const [kind, p] of rateList) {
          if (rng.next() < p) {
            fault = { kind };
            break;
          }
        }
      }
      if (fault?.kind === 'retryable' && fault.errorCode === undefined) {
        fault = { ...fault, errorCode: RETRYABLE_CODES[retryableTurn++ % RETRYABLE_CODES.length] as number };
      }
      return fault;
    },
    latencyMs() {
      if (range.maxMs === 0) return 0;
      return range.minMs + rng.next() * (range.maxMs - range.minMs);
    },
    get queued() {
      return queue.length - queueHead;
    },
    clear() {
      queue.length = 0;
      queueHead = 0;
      rateList = [];
    },
  };
  plan.setRates(rates);
  if (latency) plan.setLatency(latency);
  return plan;
}
