import { describe, expect, it } from 'vitest';
import { createGiveUpWarnings, failureKindOf } from '../../src/schedule/give-up-warnings.js';
import { createLogger } from '../../src/ops/logger.js';
import { TencentError } from '../../src/tencent/errors.js';
import { captureLogLines } from '../ops/log-lines.js';

function setup() {
  const capture = captureLogLines();
  const clock = { ms: 0 };
  const warnings = createGiveUpWarnings({
    logger: createLogger({ destination: capture.stream }),
    intervalMs: 60_000,
    now: () => clock.ms,
  });
  return { warnings, clock, lines: () => capture.lines() };
}

const rejected = (n: number) =>
  new TencentError(`UserSig still rejected after renewal (70001), call ${n}`, {
    kind: 'credentials',
    errorCode: 70001,
  });

describe('give-up warnings', () => {
  it('warns once per minute per app and kind, counting the chunks given up in between', () => {
    const { warnings, clock, lines } = setup();
    for (let n = 1; n <= 30; n++) {
      warnings.chunkGivenUp({ app: '1400000000', watchlist: n % 2 ? 'vip' : 'all', error: rejected(n) });
      clock.ms += 2_500;
    }
    const logged = lines();
    expect(logged).toHaveLength(2);
    expect(logged[0]).toMatchObject({
      level: 40,
      app: '1400000000',
      failureKind: 'credentials',
      chunksGivenUp: 1,
      watchlists: ['vip'],
      lastError: 'UserSig still rejected after renewal (70001), call 1',
      check: 'still rejected after renewing the UserSig: check the host clock and the secret key',
    });
    // Give-ups 2..25 fall inside the first minute; the 25th (at 60 s) is the next warning.
    expect(logged[1]).toMatchObject({ chunksGivenUp: 24, lastError: expect.stringContaining('call 25') });
    expect(logged[1]!.watchlists).toEqual(expect.arrayContaining(['vip', 'all']));
  });

  it('keeps apps and failure kinds apart', () => {
    const { warnings, lines } = setup();
    warnings.chunkGivenUp({ app: '1', watchlist: 'vip', error: rejected(1) });
    warnings.chunkGivenUp({ app: '2', watchlist: 'vip', error: rejected(2) });
    warnings.chunkGivenUp({
      app: '1',
      watchlist: 'vip',
      error: new TencentError('connect ECONNREFUSED', { kind: 'network' }),
    });
    warnings.chunkGivenUp({ app: '1', watchlist: 'vip', error: new Error('Connection is closed.') });
    warnings.chunkGivenUp({ app: '1', watchlist: 'vip', error: rejected(3) });
    expect(lines().map((line) => `${line.app}/${line.failureKind}`)).toEqual([
      '1/credentials',
      '2/credentials',
      '1/network',
      '1/other',
    ]);
  });

  it('takes the failure kind from a Tencent error and calls anything else other', () => {
    expect(failureKindOf(new TencentError('x', { kind: 'timeout' }))).toBe('timeout');
    expect(failureKindOf({ kind: 'made-up' })).toBe('other');
    expect(failureKindOf(null)).toBe('other');
  });
});
