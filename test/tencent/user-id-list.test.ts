import { describe, expect, it } from 'vitest';
import { UserIdList } from '../../src/tencent/user-id-list.js';
import { createRng } from '../../src/simulator/prng.js';

/** The reference: the first index whose ID came before, by a Set of strings. */
function firstRepeatOf(ids: readonly string[]): number {
  const seen = new Set<string>();
  for (const [index, id] of ids.entries()) {
    if (seen.has(id)) return index;
    seen.add(id);
  }
  return -1;
}

describe('UserIdList', () => {
  it('reads a stored chunk text as the IDs it joins, each where it begins', () => {
    const ids = ['u000001', 'a', 'longer-user_id-42', 'x'];
    const list = UserIdList.fromText(ids.join('\n'));
    expect(list.count).toBe(4);
    expect(list.ids()).toEqual(ids);
    expect(ids.map((_, i) => list.idAt(i))).toEqual(ids);
    expect(ids.map((_, i) => list.text.slice(list.startOf(i), list.startOf(i) + list.lengthOf(i)))).toEqual(
      ids,
    );
    expect(UserIdList.fromText('only').ids()).toEqual(['only']);
  });

  it('keeps its own copy of the IDs it was built from', () => {
    const ids = ['x', 'y'];
    const list = UserIdList.of(ids);
    ids[0] = 'changed';
    expect(list.idAt(0)).toBe('x');
    expect(list.ids()).toEqual(['x', 'y']);
  });

  it('keeps an ID with a newline one ID when built from an array', () => {
    const list = UserIdList.of(['a\nb', 'c']);
    expect(list.count).toBe(2);
    expect(list.idAt(0)).toBe('a\nb');
    expect(list.lengthOf(0)).toBe(3);
    expect(list.idAt(1)).toBe('c');
    expect(list.text).toBe('a\nb\nc');
  });

  it.each([
    ['plain IDs', ['u1', 'user_2', 'A-3', 'with space', "it's", '~!@#$%^&*()']],
    ['a quote', ['a', 'say"hi"']],
    ['a backslash', ['back\\slash', 'b']],
    ['a tab', ['tab\there']],
    ['non-ASCII', ['用户', '😀', 'sep\u2028']],
    ['an empty ID', ['a', '']],
  ])('writes %s as the JSON array JSON.stringify writes, from either form', (_label, ids) => {
    expect(UserIdList.of(ids).toJsonArray()).toBe(JSON.stringify(ids));
    expect(UserIdList.fromText(ids.join('\n')).toJsonArray()).toBe(JSON.stringify(ids));
  });

  it('finds the first repeated ID as a Set of the strings would, on random lists', () => {
    const rng = createRng(7);
    let repeats = 0;
    for (let n = 0; n < 500; n += 1) {
      const size = rng.int(1, 500);
      // Few distinct values for some lists (repeats), many for others; short IDs make hash collisions likely.
      const alphabet = rng.int(1, 3) === 1 ? 40 : 100_000;
      const ids = Array.from({ length: size }, () => `u${rng.int(0, alphabet)}`);
      const expected = firstRepeatOf(ids);
      if (expected >= 0) repeats += 1;
      expect(UserIdList.of(ids).firstRepeatedIndex()).toBe(expected);
      expect(UserIdList.fromText(ids.join('\n')).firstRepeatedIndex()).toBe(expected);
    }
    expect(repeats).toBeGreaterThan(50);
    expect(repeats).toBeLessThan(500);
  });

  it('tells IDs that share a prefix or a length apart', () => {
    expect(UserIdList.of(['ab', 'abc', 'ba', 'a', 'b']).firstRepeatedIndex()).toBe(-1);
    expect(UserIdList.of(['ab', 'abc', 'ab']).firstRepeatedIndex()).toBe(2);
    expect(UserIdList.of(['', 'a', '']).firstRepeatedIndex()).toBe(2);
  });
});
