import { describe, expect, it } from 'vitest';
import { classifyChunkFailure } from '../../src/schedule/job-errors.js';
import { hashDevices, toObservations } from '../../src/state/observations.js';
import { classifyErrorCode, TencentError } from '../../src/tencent/index.js';

describe('answers become diff input', () => {
  const result = {
    results: [
      {
        userId: 'a',
        state: 'Online' as const,
        devices: [{ platform: 'Web' as const, status: 'Online' as const }],
      },
      { userId: 'b', state: 'PushOnline' as const },
    ],
    accountErrors: [
      { userId: 'c', errorCode: 70107 },
      { userId: 'd', errorCode: 70169 },
    ],
    quarantined: [],
  };

  it('codes states, marks 70107 as not found and leaves users with other account errors untouched', () => {
    const { observations, otherAccountErrors } = toObservations(result, false);
    expect(observations.map((o) => [o.userId, o.code])).toEqual([
      ['a', 'N'],
      ['b', 'P'],
      ['c', 'X'],
    ]);
    expect(otherAccountErrors).toEqual([{ userId: 'd', errorCode: 70169 }]);
    expect(observations.every((o) => o.deviceHash === '' && o.devicesJson === '')).toBe(true);
  });

  it('hashes and serialises devices only for detail watchlists', () => {
    const [a] = toObservations(result, true).observations;
    expect(a!.deviceHash).toMatch(/^[0-9a-f]{8}$/);
    expect(JSON.parse(a!.devicesJson)).toEqual([{ platform: 'Web', status: 'Online' }]);
  });

  it('hashes a device list independently of its order, and differently when a device changes', () => {
    const web = { platform: 'Web' as const, status: 'Online' as const, instId: 1 };
    const phone = { platform: 'iPhone' as const, status: 'PushOnline' as const, instId: 2 };
    expect(hashDevices([web, phone])).toBe(hashDevices([phone, web]));
    expect(hashDevices([web, { ...phone, status: 'Online' }])).not.toBe(hashDevices([web, phone]));
    expect(hashDevices([web, { ...phone, isBackground: true }])).toBe(hashDevices([web, phone]));
  });
});

describe('failed calls map to one BullMQ behaviour each', () => {
  it.each([
    [60007, 'rate_limit'],
    [60011, 'rate_limit'],
    [70050, 'rate_limit'],
    [70169, 'retry'],
    [90994, 'retry'],
    [70001, 'retry'],
    [70016, 'give_up'],
    [90009, 'give_up'],
    [90011, 'give_up'],
  ])('ErrorCode %i -> %s', (code, action) => {
    expect(classifyChunkFailure(classifyErrorCode(code)).type).toBe(action);
  });

  it('pauses for a minute on 70050 and retries network failures and unknown errors', () => {
    expect(classifyChunkFailure(classifyErrorCode(70050))).toEqual({
      type: 'rate_limit',
      pauseMs: 60_000,
      pauseQueue: true,
    });
    expect(classifyChunkFailure(classifyErrorCode(60007))).toEqual({
      type: 'rate_limit',
      pauseMs: 100,
      pauseQueue: false,
    });
    expect(classifyChunkFailure(new TencentError('socket hang up', { kind: 'network' })).type).toBe('retry');
    expect(classifyChunkFailure(new Error('redis went away')).type).toBe('retry');
    expect(classifyChunkFailure(classifyErrorCode(60020))).toEqual({ type: 'give_up', fatalConfig: true });
  });
});
