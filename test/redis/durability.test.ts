import { describe, expect, it } from 'vitest';
import { judgeDurability } from '../../src/redis/durability.js';

describe('Redis durability settings', () => {
  it('accepts noeviction with AOF fsynced on every write', () => {
    expect(
      judgeDurability({ 'maxmemory-policy': 'noeviction', appendonly: 'yes', appendfsync: 'always' }),
    ).toEqual([]);
  });

  it('refuses any eviction policy', () => {
    for (const policy of ['allkeys-lru', 'volatile-lru', 'allkeys-random', 'volatile-ttl', 'allkeys-lfu']) {
      const findings = judgeDurability({
        'maxmemory-policy': policy,
        appendonly: 'yes',
        appendfsync: 'always',
      });
      expect(findings).toEqual([expect.objectContaining({ severity: 'refuse', value: policy })]);
    }
  });

  it('warns for everysec or no fsync, and for no AOF at all (once)', () => {
    const base = { 'maxmemory-policy': 'noeviction' };
    expect(judgeDurability({ ...base, appendonly: 'yes', appendfsync: 'everysec' })).toEqual([
      expect.objectContaining({ severity: 'warn', setting: 'appendfsync', value: 'everysec' }),
    ]);
    expect(judgeDurability({ ...base, appendonly: 'yes', appendfsync: 'no' })).toEqual([
      expect.objectContaining({ severity: 'warn', setting: 'appendfsync', value: 'no' }),
    ]);
    expect(judgeDurability({ ...base, appendonly: 'no', appendfsync: 'everysec' })).toEqual([
      expect.objectContaining({ severity: 'warn', setting: 'appendonly', value: 'no' }),
    ]);
  });
});
