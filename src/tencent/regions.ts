/**
 * Tencent Cloud Chat REST hosts by data centre. The app's region fixes the host; a wrong one shows up as 70016 / 70020.
 */
import { TencentError } from './errors.js';

export type Region = 'china' | 'singapore' | 'seoul' | 'tokyo' | 'frankfurt' | 'silicon-valley' | 'jakarta';

export interface RegionHosts {
  host: string;
  backupHost: string;
}

export const REGION_HOSTS: Readonly<Record<Region, RegionHosts>> = {
  china: { host: 'console.tim.qq.com', backupHost: 'adminapi.my-imcloud.com' },
  singapore: { host: 'adminapisgp.im.qcloud.com', backupHost: 'adminapisgp.my-imcloud.com' },
  seoul: { host: 'adminapikr.im.qcloud.com', backupHost: 'adminapikr.my-imcloud.com' },
  tokyo: { host: 'adminapijpn.im.qcloud.com', backupHost: 'adminapijpn.my-imcloud.com' },
  frankfurt: { host: 'adminapiger.im.qcloud.com', backupHost: 'adminapiger.my-imcloud.com' },
  'silicon-valley': { host: 'adminapiusa.im.qcloud.com', backupHost: 'adminapiusa.my-imcloud.com' },
  jakarta: { host: 'adminapiidn.im.qcloud.com', backupHost: 'adminapiidn.my-imcloud.com' },
};

export function isRegion(value: string): value is Region {
  return Object.hasOwn(REGION_HOSTS, value);
}

export interface EndpointChoice {
  /** Explicit base URL (`https://host[:port][/prefix]`); `http:` is accepted only here (e.g. the simulator). */
  endpoint?: string;
  /** A key of `REGION_HOSTS`; used when `endpoint` is absent. */
  region?: string;
  /** Use the region's backup host instead of its main host; default false. */
  useBackupHost?: boolean;
}

/**
 * Resolves the base URL (origin plus optional path prefix) that `/v4/openim/...` is appended to.
 * @throws TencentError kind `fatal_config` when neither or both are given, the URL is invalid or the region unknown.
 */
export function resolveEndpoint(choice: EndpointChoice): URL {
  if (choice.endpoint !== undefined && choice.region !== undefined) {
    throw configError('give either endpoint or region, not both');
  }
  if (choice.endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(choice.endpoint);
    } catch (error) {
      throw configError(`endpoint is not a valid URL: ${choice.endpoint}`, error);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw configError('endpoint must be http(s)');
    if (url.search || url.hash || url.username || url.password) {
      throw configError('endpoint must not carry a query, fragment or credentials');
    }
    return url;
  }
  if (choice.region !== undefined) {
    if (!isRegion(choice.region)) {
      throw configError(
        `unknown region "${choice.region}"; use one of ${Object.keys(REGION_HOSTS).join(', ')}`,
      );
    }
    const hosts = REGION_HOSTS[choice.region];
    return new URL(`https://${choice.useBackupHost ? hosts.backupHost : hosts.host}`);
  }
  throw configError('give an endpoint or a region');
}

function configError(message: string, cause?: unknown): TencentError {
  return new TencentError(`Tencent client configuration: ${message}`, {
    kind: 'fatal_config',
    ...(cause === undefined ? {} : { cause }),
  });
}
