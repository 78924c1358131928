import type { RedisClient } from '../../src/redis/client.js';
import type { AppKeys } from '../../src/redis/keys.js';

/**
 * The fields of an outbox transition as the diff script writes them (events/outbox-entry.ts reads them): `user`
 * between Offline and Online by the parity of `seq`, observed a second after the one before.
 */
export function transitionFields(user: string, seq: number, watchlistId = 1): string[] {
  const observedAt = 1_764_000_000_000 + seq * 1_000;
  return [
    ...['u', user, 'k', 'transition', 'f', seq % 2 ? 'F' : 'N', 't', seq % 2 ? 'N' : 'F'],
    ...['s', String(seq), 'o', String(observedAt), 'p', String(observedAt - 1_000)],
    ...['w', String(watchlistId), 'd', '', 'e', 'epoch1'],
  ];
}

/** Appends one such transition to the app's outbox. */
export async function appendTransition(
  redis: RedisClient,
  keys: AppKeys,
  user: string,
  seq: number,
): Promise<void> {
  await redis.xadd(keys.outbox, '*', ...transitionFields(user, seq));
}
