import { describe, expect, it } from 'vitest';
import type { SimDevice } from '../../src/simulator/population.js';
import {
  actionForReason,
  callbackKindFor,
  causingDevice,
  clientIpFor,
  kickedDevices,
  renderCallbackBody,
  renderCallbackUrl,
  type StateChangeCallback,
} from '../../src/simulator/state-change-callback.js';
import type { Platform, PresenceState } from '../../src/tencent/types.js';

function device(platform: Platform, status: PresenceState): SimDevice {
  return { platform, status, isBackground: false, instId: 1, customIdentifier: 'd' };
}

const CALLBACK: StateChangeCallback = {
  sdkAppId: 1_400_000_000,
  userId: 'alice',
  action: 'Login',
  reason: 'Register',
  eventTimeMs: 1_700_000_000_123,
  clientIp: '10.1.2.3',
  optPlatform: 'IOS',
  kickedPlatforms: [],
};

describe('callbackKindFor', () => {
  it.each([
    ['Offline', 'Online', 'login'],
    ['PushOnline', 'Online', 'login'],
    ['Online', 'Offline', 'offline'],
    ['Online', 'PushOnline', undefined],
    ['PushOnline', 'Offline', undefined],
    ['Offline', 'PushOnline', undefined],
    ['Online', 'Online', undefined],
    ['Offline', 'Offline', undefined],
  ] as const)('%s -> %s gives %s', (from, to, kind) => {
    expect(callbackKindFor(from, to)).toBe(kind);
  });
});

describe('actionForReason', () => {
  it('maps Register to Login, Unregister to Logout, LinkClose and TimeOut to Disconnect', () => {
    expect(actionForReason('Register')).toBe('Login');
    expect(actionForReason('Unregister')).toBe('Logout');
    expect(actionForReason('LinkClose')).toBe('Disconnect');
    expect(actionForReason('TimeOut')).toBe('Disconnect');
  });
});

describe('causingDevice and kickedDevices', () => {
  it('names the device that came online, and the connected devices the login pushed off', () => {
    const before = [device('iPhone', 'PushOnline'), device('Web', 'Offline'), device('PC', 'Offline')];
    const after = [device('iPhone', 'Offline'), device('Web', 'Online'), device('PC', 'Offline')];
    expect(causingDevice('login', before, after)?.platform).toBe('Web');
    expect(kickedDevices(before, after).map((d) => d.platform)).toEqual(['iPhone']);
  });

  it('names the device that stopped being Online for an offline change', () => {
    const before = [device('Android', 'Offline'), device('Mac', 'Online')];
    const after = [device('Android', 'Offline'), device('Mac', 'Offline')];
    expect(causingDevice('offline', before, after)?.platform).toBe('Mac');
  });
});

describe('renderCallbackBody', () => {
  it('writes the documented fields and leaves KickedDevice out when nothing was kicked', () => {
    expect(JSON.parse(renderCallbackBody(CALLBACK))).toEqual({
      CallbackCommand: 'State.StateChange',
      EventTime: 1_700_000_000_123,
      Info: { Action: 'Login', To_Account: 'alice', Reason: 'Register' },
    });
  });

  it('lists kicked platforms', () => {
    const body = JSON.parse(renderCallbackBody({ ...CALLBACK, kickedPlatforms: ['Windows', 'Android'] }));
    expect(body.KickedDevice).toEqual([{ Platform: 'Windows' }, { Platform: 'Android' }]);
  });
});

describe('renderCallbackUrl', () => {
  it("appends Tencent's parameters after the configured query, and Sign + RequestTime with a token", () => {
    const url = new URL(
      renderCallbackUrl(new URL('http://hooks.test/im?route=a'), CALLBACK, 'xxxxyyyy', 1669872112),
    );
    expect([...url.searchParams]).toEqual([
      ['route', 'a'],
      ['SdkAppid', '1400000000'],
      ['CallbackCommand', 'State.StateChange'],
      ['contenttype', 'json'],
      ['ClientIP', '10.1.2.3'],
      ['OptPlatform', 'IOS'],
      ['Sign', '17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061'],
      ['RequestTime', '1669872112'],
    ]);
  });

  it('has no Sign or RequestTime without a token', () => {
    const url = new URL(renderCallbackUrl(new URL('http://hooks.test/im'), CALLBACK, undefined, 1669872112));
    expect(url.searchParams.has('Sign')).toBe(false);
    expect(url.searchParams.has('RequestTime')).toBe(false);
  });
});

describe('clientIpFor', () => {
  it('gives each user a stable private IPv4 address', () => {
    expect(clientIpFor('alice')).toBe(clientIpFor('alice'));
    expect(clientIpFor('alice')).toMatch(/^10\.\d{1,3}\.\d{1,3}\.\d{1,3}$/);
    expect(clientIpFor('alice')).not.toBe(clientIpFor('bob'));
  });
});
