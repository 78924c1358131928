import { describe, expect, it } from 'vitest';
import { createGapDetector } from '../src/index.js';

const at = (seq: number, epoch = 'mz1abc', userId = 'alice', sdkAppId = 1) => ({
  sdkAppId,
  userId,
  epoch,
  seq,
});

describe('gap detection per (user, epoch)', () => {
  const topics = { completeTopics: ['presence.transitions'], partialTopics: ['presence.vip'] };

  it('reports the missing seqs on a topic that carries every event', () => {
    const gaps = createGapDetector(topics);
    expect(gaps.check('presence.transitions', at(1))).toEqual({ type: 'first' });
    expect(gaps.check('presence.transitions', at(2))).toEqual({ type: 'next' });
    expect(gaps.check('presence.transitions', at(5))).toEqual({
      type: 'gap',
      epoch: 'mz1abc',
      fromSeq: 3,
      toSeq: 4,
    });
    expect(gaps.check('presence.transitions', at(6))).toEqual({ type: 'next' });
  });

  it('never reports a gap on a per-watchlist topic (the user was in another list meanwhile)', () => {
    const gaps = createGapDetector(topics);
    expect(gaps.check('presence.vip', at(1))).toEqual({ type: 'first' });
    expect(gaps.check('presence.vip', at(9))).toEqual({ type: 'next' });
    expect(gaps.check('presence.vip', at(4))).toEqual({ type: 'stale' });
  });

  it('calls a redelivered or replayed event stale, without moving back', () => {
    const gaps = createGapDetector(topics);
    gaps.check('presence.transitions', at(3));
    expect(gaps.check('presence.transitions', at(3))).toEqual({ type: 'stale' });
    expect(gaps.check('presence.transitions', at(2))).toEqual({ type: 'stale' });
    expect(gaps.check('presence.transitions', at(4))).toEqual({ type: 'next' });
  });

  it('expects seq 1 in a new epoch and calls events of an older epoch stale', () => {
    const gaps = createGapDetector(topics);
    gaps.check('presence.transitions', at(7, 'mz1abc'));
    expect(gaps.check('presence.transitions', at(1, 'mz1abd'))).toEqual({ type: 'next' });
    expect(gaps.check('presence.transitions', at(8, 'mz1abc'))).toEqual({ type: 'stale' });
    // A longer base-36 epoch is a later one, whatever its first digits.
    expect(gaps.check('presence.transitions', at(3, '10000000'))).toEqual({
      type: 'gap',
      epoch: '10000000',
      fromSeq: 1,
      toSeq: 2,
    });
  });

  it('keeps users, apps and topics apart', () => {
    const gaps = createGapDetector({ completeTopics: ['a', 'b'] });
    gaps.check('a', at(1, 'e1', 'alice', 1));
    expect(gaps.check('a', at(1, 'e1', 'alice', 2))).toEqual({ type: 'first' });
    expect(gaps.check('a', at(1, 'e1', 'bob', 1))).toEqual({ type: 'first' });
    expect(gaps.check('b', at(1, 'e1', 'alice', 1))).toEqual({ type: 'first' });
    expect(gaps.check('a', at(2, 'e1', 'alice', 1))).toEqual({ type: 'next' });
  });

  it('checks the first event after a seeded position (e.g. from the state topic)', () => {
    const gaps = createGapDetector(topics);
    gaps.seed('presence.transitions', at(10));
    expect(gaps.check('presence.transitions', at(10))).toEqual({ type: 'stale' });
    expect(gaps.check('presence.transitions', at(12))).toEqual({
      type: 'gap',
      epoch: 'mz1abc',
      fromSeq: 11,
      toSeq: 11,
    });
  });

  it('refuses a topic it was not told about, and one listed as both kinds', () => {
    expect(() => createGapDetector(topics).check('presence.other', at(1))).toThrow(
      /neither a complete nor a partial/,
    );
    expect(() => createGapDetector({ completeTopics: ['t'], partialTopics: ['t'] })).toThrow(/both/);
  });
});
