import { describe, expect, it } from 'vitest';
import { digestMembers, removalsOverShare } from '../../src/config/removal-guard.js';
import type { ResolvedWatchlist } from '../../src/config/types.js';

const userIds = (count: number, from = 0): string[] =>
  Array.from({ length: count }, (_, i) => `u${String(from + i).padStart(6, '0')}`);
const list = (name: string, members: string[]) => ({ name, userIds: members }) as ResolvedWatchlist;

describe('removal guard', () => {
  const before = digestMembers([list('vip', userIds(1_000)), list('ops', userIds(10))]);

  it('counts removed members, not the change in size: replacing 60 % of a list is over 0.5', () => {
    const next = digestMembers([list('vip', userIds(1_000, 600)), list('ops', userIds(10))]);
    expect(removalsOverShare(before, next, 0.5)).toEqual([
      { watchlist: 'vip', members: 1_000, removed: 600 },
    ]);
  });

  it('allows removing up to the share, adding any number, and any removal at 1', () => {
    const half = digestMembers([list('vip', [...userIds(500), ...userIds(5_000, 2_000)]), list('ops', [])]);
    expect(removalsOverShare(before, half, 0.5)).toEqual([{ watchlist: 'ops', members: 10, removed: 10 }]);
    expect(removalsOverShare(before, half, 1)).toEqual([]);
  });

  it('leaves new lists and lists deleted as a whole alone', () => {
    const next = digestMembers([list('new', userIds(3))]);
    expect(removalsOverShare(before, next, 0)).toEqual([]);
  });
});
