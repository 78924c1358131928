import { UnrecoverableError } from 'bullmq';
import { isTencentError, type TencentError } from '../tencent/index.js';

/**
 * The one place where a failed call becomes BullMQ behaviour. Whatever happens, nothing is written to the state
 * store for a failed call, so no event can come out of it (ARCHITECTURE.md: no false transitions).
 */
export type ChunkFailureAction =
  /**
   * Give the job back without spending an attempt after pausing the pacer (every process) for `pauseMs`; with
   * `pauseQueue` the app's poll queue stops handing out jobs for that long too (the 60 s UserSig lockout).
   */
  | { type: 'rate_limit'; pauseMs: number; pauseQueue: boolean }
  /** Let BullMQ retry with backoff. */
  | { type: 'retry' }
  /** Never retry: a bug or a configuration a human must fix. */
  | { type: 'give_up'; fatalConfig: boolean };

/** Pause of every process's calls after a rate-limit answer, in ms. */
export const RATE_LIMIT_PAUSE_MS = 100;

export function classifyChunkFailure(error: unknown): ChunkFailureAction {
  if (!isTencentError(error)) return { type: 'retry' };
  const tencent: TencentError = error;
  switch (tencent.kind) {
    case 'rate_limit':
      // The window slides: one call over the cap frees up within a slot or two. A short pause and a slower pace
      // (the pacer's penalty) are enough; a second of silence per rejection would cost far more than it saves.
      return { type: 'rate_limit', pauseMs: RATE_LIMIT_PAUSE_MS, pauseQueue: false };
    case 'locked':
      return { type: 'rate_limit', pauseMs: tencent.retryAfterMs ?? 60_000, pauseQueue: true };
    case 'fatal_config':
      return { type: 'give_up', fatalConfig: true };
    case 'request':
    case 'aborted':
      return { type: 'give_up', fatalConfig: false };
    default:
      return tencent.retriable ? { type: 'retry' } : { type: 'give_up', fatalConfig: false };
  }
}

/** Wraps a give-up failure so BullMQ does not retry it (the message keeps the classified cause). */
export function unrecoverable(error: unknown): UnrecoverableError {
  const message = error instanceof Error ? error.message : String(error);
  return new UnrecoverableError(message);
}
