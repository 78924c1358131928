import { UnrecoverableError } from 'bullmq';
import { isTencentError, type TencentError } from '../tencent/index.js';

/**
 * The one place where a failed call becomes BullMQ behaviour. Whatever happens, nothing is written to the state
 * store for a failed call, so no event can come out of it (invariant 5).
 */
export type ChunkFailureAction =
  /** Give the job back without spending an attempt after pausing the pacer (rate limits, lockout). */
  | { type: 'rate_limit'; pauseMs: number }
  /** Let BullMQ retry with backoff. */
  | { type: 'retry' }
  /** Never retry: a bug or a configuration a human must fix. */
  | { type: 'give_up'; fatalConfig: boolean };

export function classifyChunkFailure(error: unknown): ChunkFailureAction {
  if (!isTencentError(error)) return { type: 'retry' };
  const tencent: TencentError = error;
  switch (tencent.kind) {
    case 'rate_limit':
    case 'locked':
      return { type: 'rate_limit', pauseMs: tencent.retryAfterMs ?? 1_000 };
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
