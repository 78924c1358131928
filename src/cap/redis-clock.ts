/**
 * Maps Redis's clock (the `TIME` every pacer script reads) onto this process's `performance.now()`.
 *
 * Each script reply is a sample: Redis read its clock somewhere between sending the request and reading the reply,
 * so offset = redisTime - midpoint is known to within half the round trip. A reply that sat behind a busy event loop
 * or a busy Redis is a poor sample; the one with the shortest round trip among the recent ones is the best, and is
 * kept fresh by the window so that drift between the two clocks does not accumulate.
 */
export interface RedisClock {
  /** Records one round trip: local times around the request, and the Redis time the script saw (all ms). */
  observe(sentAt: number, receivedAt: number, redisNowMs: number): void;
  /** A Redis time (ms) on the local `performance.now()` scale. */
  toLocal(redisMs: number): number;
}

interface Sample {
  offsetMs: number;
  roundTripMs: number;
}

/** @param window how many recent samples to choose the best one from (64: a third of a second at 200 calls/s). */
export function createRedisClock(window = 64): RedisClock {
  const samples: Sample[] = [];
  let next = 0;
  let best: Sample | undefined;

  return {
    observe(sentAt, receivedAt, redisNowMs) {
      const sample = { offsetMs: redisNowMs - (sentAt + receivedAt) / 2, roundTripMs: receivedAt - sentAt };
      const replaced = samples[next];
      samples[next] = sample;
      next = (next + 1) % window;
      if (!best || sample.roundTripMs <= best.roundTripMs) best = sample;
      else if (replaced === best) best = samples.reduce((a, b) => (b.roundTripMs < a.roundTripMs ? b : a));
    },
    toLocal(redisMs) {
      if (!best) throw new Error('no Redis clock sample yet');
      return redisMs - best.offsetMs;
    },
  };
}
