import { describe, expect, it } from 'vitest';
import { REGION_HOSTS, resolveEndpoint } from '../../src/tencent/regions.js';

describe('resolveEndpoint', () => {
  it.each([
    ['china', 'https://console.tim.qq.com'],
    ['singapore', 'https://adminapisgp.im.qcloud.com'],
    ['seoul', 'https://adminapikr.im.qcloud.com'],
    ['tokyo', 'https://adminapijpn.im.qcloud.com'],
    ['frankfurt', 'https://adminapiger.im.qcloud.com'],
    ['silicon-valley', 'https://adminapiusa.im.qcloud.com'],
    ['jakarta', 'https://adminapiidn.im.qcloud.com'],
  ])('maps region %s to %s over https', (region, origin) => {
    expect(resolveEndpoint({ region }).origin).toBe(origin);
  });

  it('uses the backup host on request', () => {
    expect(resolveEndpoint({ region: 'tokyo', useBackupHost: true }).origin).toBe(
      'https://adminapijpn.my-imcloud.com',
    );
    for (const hosts of Object.values(REGION_HOSTS)) expect(hosts.backupHost).toMatch(/my-imcloud\.com$/);
  });

  it('accepts an explicit http endpoint (the simulator) and keeps a path prefix', () => {
    expect(resolveEndpoint({ endpoint: 'http://127.0.0.1:8080' }).origin).toBe('http://127.0.0.1:8080');
    expect(resolveEndpoint({ endpoint: 'https://proxy.example/tencent/' }).pathname).toBe('/tencent/');
  });

  it.each([
    [{}, /endpoint or a region/],
    [{ region: 'mars' }, /unknown region "mars"/],
    [{ region: 'china', endpoint: 'https://x.example' }, /not both/],
    [{ endpoint: 'not a url' }, /not a valid URL/],
    [{ endpoint: 'ftp://x.example' }, /http\(s\)/],
    [{ endpoint: 'https://x.example/?usersig=abc' }, /query/],
  ])('refuses %j as fatal configuration', (choice, message) => {
    expect(() => resolveEndpoint(choice)).toThrow(message);
    try {
      resolveEndpoint(choice);
    } catch (error) {
      expect(error).toMatchObject({ kind: 'fatal_config', retriable: false });
    }
  });
});
