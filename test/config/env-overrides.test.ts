import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { brief, inspectTree, removeTrees, SECRET, SECRET_ENV, writeTree } from './config-tree.js';

afterAll(removeTrees);

const PRESENCE_WITH_VALUES = `apps:
  - name: demo
    sdkAppId: 1400000000
    endpoint: http://127.0.0.1:8089
    identifier: administrator
    callsPerSecond: 150
redis:
  url: redis://file:6379
kafka:
  brokers: [file:9092]
`;

async function load(env: Record<string, string>, presence = PRESENCE_WITH_VALUES) {
  const root = writeTree({ 'presence.yaml': presence });
  return (await loadConfig({ configPath: 'presence.yaml', cwd: root, env: { ...SECRET_ENV, ...env } }))
    .config;
}

describe('environment overrides', () => {
  it('uses the file when no variable is set', async () => {
    const config = await load({});
    expect(config.redis.url).toBe('redis://file:6379');
    expect(config.kafka.brokers).toEqual(['file:9092']);
    expect(config.apps[0]!.callsPerSecond).toBe(150);
  });

  it('lets REDIS_URL and KAFKA_BROKERS override the file', async () => {
    const config = await load({ REDIS_URL: 'redis://conv:6379', KAFKA_BROKERS: 'a:9092, b:9093,' });
    expect(config.redis.url).toBe('redis://conv:6379');
    expect(config.kafka.brokers).toEqual(['a:9092', 'b:9093']);
  });

  it('lets PRESENCE__ variables override the conveniences and the file', async () => {
    const config = await load({
      REDIS_URL: 'redis://conv:6379',
      KAFKA_BROKERS: 'a:9092',
      PRESENCE__REDIS__URL: 'rediss://specific:6380',
      PRESENCE__KAFKA__BROKERS: 'x:1,y:2',
    });
    expect(config.redis.url).toBe('rediss://specific:6380');
    expect(config.kafka.brokers).toEqual(['x:1', 'y:2']);
  });

  it('matches path segments case-insensitively and coerces numbers, booleans and durations', async () => {
    const config = await load({
      PRESENCE__APPS__0__CALLSPERSECOND: '100',
      presence__apps__0__requesttimeout: '8s',
      PRESENCE__Kafka__Tls__Enabled: 'yes',
      PRESENCE__KAFKA__TOPICS__STATE: 'state.v2',
      PRESENCE__DEFAULTS__DETAIL: 'TRUE',
      PRESENCE__DEFAULTS__INTERVAL: '30s',
      PRESENCE__HTTP__PORT: '0',
      PRESENCE__LOGLEVEL: 'debug',
    });
    expect(config.apps[0]).toMatchObject({ callsPerSecond: 100, requestTimeoutMs: 8_000 });
    expect(config.kafka.tls).toMatchObject({ rejectUnauthorized: true, ca: undefined, key: undefined });
    expect(config.kafka.topics).toEqual({
      transitions: 'presence.transitions',
      state: 'state.v2',
      heartbeat: 'presence.heartbeat',
    });
    expect(config.defaults).toMatchObject({ detail: true, intervalMs: 30_000 });
    expect(config.http.port).toBe(0);
    expect(config.logLevel).toBe('debug');
    // The watchlist sets interval: 5s itself, so only the defaults changed.
    expect(config.watchlists[0]).toMatchObject({ intervalMs: 5_000, detail: true });
  });

  it('treats an empty variable as unset', async () => {
    const config = await load({ PRESENCE__REDIS__URL: '', REDIS_URL: '' });
    expect(config.redis.url).toBe('redis://file:6379');
  });

  it('can supply a whole app through variables', async () => {
    const config = await load(
      {
        PRESENCE__APPS__0__SDKAPPID: '1400000009',
        PRESENCE__APPS__0__REGION: 'tokyo',
        PRESENCE__APPS__0__IDENTIFIER: 'admin',
      },
      'redis:\n  prefix: p\n',
    );
    expect(config.apps[0]).toMatchObject({
      name: '1400000009',
      sdkAppId: 1400000009,
      endpoint: 'https://adminapijpn.im.qcloud.com',
    });
  });

  it('validates variable values like file values and names the variable', async () => {
    const { issues } = await inspectTree(
      { 'presence.yaml': PRESENCE_WITH_VALUES },
      {
        ...SECRET_ENV,
        PRESENCE__APPS__0__CALLSPERSECOND: '99999',
        PRESENCE__KAFKA__TLS__ENABLED: 'maybe',
        PRESENCE__DEFAULTS__INTERVAL: '60',
        PRESENCE__APPS__0__REQUESTTIMEOUT: '1s',
        PRESENCE__KAFKA: 'x',
        PRESENCE__APPS__0__SECRETKEY: SECRET,
      },
    );
    expect(brief(issues)).toEqual([
      'env:PRESENCE__APPS__0__CALLSPERSECOND:undefined:undefined apps.0.callsPerSecond [error] must be at most 10000, got number 99999',
      expect.stringContaining(
        'env:PRESENCE__APPS__0__REQUESTTIMEOUT:undefined:undefined apps.0.requestTimeout [error] must be longer than 3s',
      ),
      'env:PRESENCE__APPS__0__SECRETKEY:undefined:undefined apps.0.secretkey [error] the secret key is never read from configuration: put it in the environment variable named by secretKeyEnv (default TENCENT_IM_SECRET_KEY) or in the file named by secretKeyFile',
      expect.stringContaining(
        'env:PRESENCE__DEFAULTS__INTERVAL:undefined:undefined defaults.interval [error] "60" is not a duration',
      ),
      expect.stringContaining(
        'env:PRESENCE__KAFKA:undefined:undefined kafka [error] must name a single setting',
      ),
      'env:PRESENCE__KAFKA__TLS__ENABLED:undefined:undefined kafka.tls.enabled [error] must be true or false, got "maybe"',
    ]);
    expect(JSON.stringify(issues)).not.toContain(SECRET);
  });

  it('refuses a list index past the end, naming the variable, instead of crashing', async () => {
    const { issues } = await inspectTree(
      { 'presence.yaml': PRESENCE_WITH_VALUES },
      { ...SECRET_ENV, PRESENCE__APPS__2__CALLSPERSECOND: '100' },
    );
    expect(brief(issues)).toEqual([
      'env:PRESENCE__APPS__2__CALLSPERSECOND:undefined:undefined apps.2 [error] index 2 is past the end of apps (1 entry): a new entry takes index 1',
    ]);
  });
});
