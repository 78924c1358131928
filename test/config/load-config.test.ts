import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  formatIssues,
  loadConfig,
  loadWatchlists,
  redactConfig,
} from '../../src/config/index.js';
import {
  BASE_PRESENCE,
  brief,
  inspectTree,
  removeTrees,
  SECRET,
  SECRET_ENV,
  userLines,
  writeTree,
} from './config-tree.js';

afterAll(removeTrees);

const repoRoot = resolve(import.meta.dirname, '../..');

describe('loadConfig', () => {
  it('loads the shipped example configuration without errors or warnings', async () => {
    const { config, warnings } = await loadConfig({
      configPath: 'config/presence.yaml',
      cwd: repoRoot,
      env: { TENCENT_IM_SECRET_KEY: SECRET },
    });
    expect(warnings).toEqual([]);
    expect(config.apps).toEqual([
      expect.objectContaining({
        name: 'demo',
        sdkAppId: 1400000000,
        endpoint: 'http://127.0.0.1:8089',
        identifier: 'administrator',
        secretKey: SECRET,
        userSigTtlSeconds: 7 * 86_400,
        callsPerSecond: 200,
        requestTimeoutMs: 5_000,
      }),
    ]);
    expect(config.redis.url).toBe('redis://127.0.0.1:6379');
    expect(config.kafka.brokers).toEqual(['127.0.0.1:9092']);
    const byName = Object.fromEntries(config.watchlists.map((list) => [list.name, list]));
    expect(Object.keys(byName).sort()).toEqual(['everyone', 'support', 'vip']);
    expect(byName.vip).toMatchObject({
      intervalMs: 5_000,
      detail: true,
      priority: 2,
      app: 'demo',
      sdkAppId: 1400000000,
    });
    expect(byName.vip!.userIds).toEqual(['u000000', 'u000001', 'u000002', 'u000003', 'u000004']);
    expect(byName.everyone!.userIds).toHaveLength(3_000);
    expect(byName.everyone).toMatchObject({
      intervalMs: 60_000,
      detail: false,
      priority: 5,
      topic: undefined,
    });
    expect(byName.support).toMatchObject({
      topic: 'presence.support',
      firstObservation: 'silent',
      intervalMs: 15_000,
    });
  });

  it('applies every documented default to a minimal configuration', async () => {
    const root = writeTree();
    const { config } = await loadConfig({ configPath: join(root, 'presence.yaml'), env: SECRET_ENV });
    expect(config.apps[0]).toMatchObject({
      secretKeySource: 'env TENCENT_IM_SECRET_KEY',
      userSigTtlSeconds: 604_800,
      callsPerSecond: 200,
      callMargin: 0.02,
      requestTimeoutMs: 5_000,
      connections: 64,
      region: undefined,
      backupEndpoint: undefined,
    });
    expect(config.redis).toEqual({
      url: 'redis://127.0.0.1:6379',
      prefix: 'presence',
      skipDurabilityCheck: false,
      outboxWarnEntries: 1_000_000,
      outboxMaxEntries: 2_000_000,
      outboxShards: 1,
      waitForReplicas: 0,
      snapshotPriority: 'normal',
    });
    expect(config.kafka).toEqual({
      brokers: ['127.0.0.1:9092'],
      clientId: 'presence-poller',
      tls: undefined,
      sasl: undefined,
      topics: {
        transitions: 'presence.transitions',
        state: 'presence.state',
        heartbeat: 'presence.heartbeat',
      },
      partitions: 12,
      replicationFactor: -1,
      createTopics: true,
      compression: 'none',
      fencing: true,
      maxBatchBytes: 512 * 1024,
      lingerMs: 50,
    });
    expect(config.poller).toEqual({ sendingThreadNice: -10 });
    expect(config.defaults).toEqual({
      intervalMs: 60_000,
      detail: false,
      deviceEvents: false,
      firstObservation: 'snapshot',
    });
    expect(config.http).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(config.heartbeat).toEqual({ intervalMs: 30_000 });
    expect(config.logLevel).toBe('info');
    expect(config.watchlistsDir).toBe(join(root, 'watchlists'));
    expect(config.configPath).toBe(join(root, 'presence.yaml'));
  });

  it('turns the heartbeat off with 0s and refuses an interval without a unit', async () => {
    const off = writeTree({ 'presence.yaml': `${BASE_PRESENCE}heartbeat:\n  interval: 0s\n` });
    const { config } = await loadConfig({ configPath: join(off, 'presence.yaml'), env: SECRET_ENV });
    expect(config.heartbeat).toEqual({ intervalMs: 0 });

    const bad = writeTree({ 'presence.yaml': `${BASE_PRESENCE}heartbeat:\n  interval: 30\n` });
    await expect(loadConfig({ configPath: join(bad, 'presence.yaml'), env: SECRET_ENV })).rejects.toThrow(
      /presence\.yaml:\d+:\d+ +heartbeat\.interval +a duration needs a unit/,
    );
  });

  it('reads kafka.linger as a duration up to 1s and poller.sendingThreadNice as a nice value', async () => {
    const root = writeTree({
      'presence.yaml': `${BASE_PRESENCE}kafka:\n  linger: 0ms\npoller:\n  sendingThreadNice: 0\n`,
    });
    const { config } = await loadConfig({ configPath: join(root, 'presence.yaml'), env: SECRET_ENV });
    expect(config.kafka.lingerMs).toBe(0);
    expect(config.poller).toEqual({ sendingThreadNice: 0 });

    const bad = writeTree({
      'presence.yaml': `${BASE_PRESENCE}kafka:\n  linger: 2s\npoller:\n  sendingThreadNice: -21\n`,
    });
    const error = loadConfig({ configPath: join(bad, 'presence.yaml'), env: SECRET_ENV });
    await expect(error).rejects.toThrow(/presence\.yaml:\d+:\d+ +kafka\.linger +must be at most 1s/);
    await expect(error).rejects.toThrow(/presence\.yaml:\d+:\d+ +poller\.sendingThreadNice +.*-20/);
  });

  it('takes a call margin other than the default', async () => {
    const root = writeTree({ 'presence.yaml': `${BASE_PRESENCE}    callMargin: 0.05\n` });
    const { config } = await loadConfig({ configPath: join(root, 'presence.yaml'), env: SECRET_ENV });
    expect(config.apps[0]!.callMargin).toBe(0.05);
  });

  it('names the app by its SDKAppID and derives the region hosts', async () => {
    const root = writeTree({
      'presence.yaml': 'apps:\n  - sdkAppId: 1400000001\n    region: singapore\n    identifier: admin\n',
      'watchlists/vip.yaml': 'name: vip\napp: "1400000001"\nusers: [alice]\n',
    });
    const { config } = await loadConfig({ configPath: join(root, 'presence.yaml'), env: SECRET_ENV });
    expect(config.apps[0]).toMatchObject({
      name: '1400000001',
      region: 'singapore',
      endpoint: 'https://adminapisgp.im.qcloud.com',
      backupEndpoint: 'https://adminapisgp.my-imcloud.com',
    });
    expect(config.watchlists[0]).toMatchObject({ app: '1400000001', sdkAppId: 1400000001 });
  });

  it('resolves watchlist members inline first, then user files, deduplicated in order', async () => {
    const root = writeTree({
      'watchlists/vip.yaml': 'name: vip\nusers: [carol, alice]\nuserFiles: [a.txt, ../b.txt]\ndetail: true\n',
      'watchlists/a.txt': '# first\nbob\n\nalice\n  dave  \n',
      'b.txt': 'erin\nbob\n',
    });
    const { config, warnings } = await loadConfig({
      configPath: 'presence.yaml',
      cwd: root,
      env: SECRET_ENV,
    });
    const [list] = config.watchlists;
    expect(list!.userIds).toEqual(['carol', 'alice', 'bob', 'dave', 'erin']);
    expect(list!.sources).toEqual([
      join(root, 'watchlists/vip.yaml'),
      join(root, 'watchlists/a.txt'),
      join(root, 'b.txt'),
    ]);
    expect(list!.detail).toBe(true);
    expect(brief(warnings)).toEqual([
      'b.txt:2:1 userFiles.1 [warning] duplicate UserID "bob"; later copies are ignored',
      'watchlists/a.txt:4:1 userFiles.0 [warning] duplicate UserID "alice"; later copies are ignored',
    ]);
  });

  it('uses the defaults section for watchlists that do not set a value', async () => {
    const root = writeTree({
      'presence.yaml':
        'apps:\n  - name: demo\n    sdkAppId: 1\n    region: china\n    identifier: admin\n' +
        'defaults:\n  interval: 2m\n  detail: true\n  firstObservation: silent\n',
      'watchlists/vip.yaml': 'name: vip\nusers: [alice]\n',
    });
    const { config } = await loadConfig({ configPath: join(root, 'presence.yaml'), env: SECRET_ENV });
    expect(config.watchlists[0]).toMatchObject({
      intervalMs: 120_000,
      detail: true,
      deviceEvents: false,
      firstObservation: 'silent',
      priority: 6,
    });
  });

  it('reports every problem of one file at once', async () => {
    const { issues, config } = await inspectTree({
      'presence.yaml': [
        'apps:',
        '  - name: demo',
        '    sdkAppId: abc',
        '    region: mars',
        '    identifier: administrator',
        '    requestTimeout: 2s',
        'redis:',
        '  url: http://nope',
        'http:',
        '  port: -1',
        'logLevel: loud',
        '',
      ].join('\n'),
    });
    expect(config).toBeUndefined();
    expect(brief(issues.filter((issue) => issue.file === 'presence.yaml'))).toEqual([
      'presence.yaml:3:15 apps.0.sdkAppId [error] must be an integer, got "abc"',
      expect.stringMatching(/^presence.yaml:4:13 apps.0.region \[error\] must be one of china/),
      "presence.yaml:6:21 apps.0.requestTimeout [error] must be longer than 3s: Tencent's backend gives up after about 3s, so the client must wait longer than that",
      'presence.yaml:8:8 redis.url [error] must be a redis:// or rediss:// URL',
      'presence.yaml:10:9 http.port [error] must be at least 0, got number -1',
      expect.stringMatching(/^presence.yaml:11:11 logLevel \[error\] must be one of fatal/),
    ]);
  });

  it('reports problems across presence.yaml, several watchlists and user files in one error', async () => {
    const root = writeTree({
      'presence.yaml':
        'apps:\n  - name: demo\n    sdkAppId: 1\n    region: china\n    identifier: admin\n    colour: red\n',
      'watchlists/vip.yaml': 'name: vip\ninterval: soon\nusers: [alice]\n',
      'watchlists/ops.yaml': 'name: ops\nuserFiles: [ops.txt]\n',
      'watchlists/ops.txt': 'ok\n@system\n',
    });
    const error = await loadConfig({ configPath: 'presence.yaml', cwd: root, env: SECRET_ENV }).catch(
      (caught) => caught,
    );
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.code).toBe('CONFIG_INVALID');
    expect(configError.issues.map((issue) => `${issue.file}:${issue.line}:${issue.column}`)).toEqual([
      'presence.yaml:6:5',
      'watchlists/ops.txt:2:1',
      'watchlists/vip.yaml:2:11',
    ]);
    expect(configError.message.split('\n')).toEqual([
      'Invalid configuration: 3 errors',
      'presence.yaml:6:5  apps.0.colour  unknown key "colour"; allowed keys: name, sdkAppId, region, endpoint, identifier, secretKeyEnv, secretKeyFile, callbackTokenEnv, callbackTokenFile, hintShare, trustCallbacks, userSigTtl, callsPerSecond, callMargin, requestTimeout, connections, maxAnswerBytes',
      'watchlists/ops.txt:2:1  userFiles.0  UserID "@system" starts with "@", which marks Tencent system accounts',
      'watchlists/vip.yaml:2:11  interval  "soon" is not a duration: use a number with a unit, e.g. "500ms", "15s", "2m", "1h", "7d"',
    ]);
  });

  it('summarises a flood of bad UserIDs instead of listing each', async () => {
    const bad = Array.from({ length: 50 }, (_, index) => `@bad${index}`).join('\n');
    const { issues } = await inspectTree({
      'watchlists/vip.yaml': 'name: vip\nuserFiles: [vip.txt]\n',
      'watchlists/vip.txt': `${bad}\n`,
    });
    expect(issues.filter((issue) => issue.code === 'invalid_user_id')).toHaveLength(20);
    expect(issues.find((issue) => issue.code === 'too_many_issues')).toMatchObject({
      severity: 'error',
      message: '30 more invalid UserIDs in watchlist "vip" not shown (50 in total)',
    });
  });

  it('warns about a list that fills more than 90% of the cap', async () => {
    const { issues, config } = await inspectTree({
      'presence.yaml':
        'apps:\n  - name: demo\n    sdkAppId: 1\n    region: china\n    identifier: admin\n    callsPerSecond: 2\n',
      'watchlists/vip.yaml': 'name: vip\ninterval: 1s\nuserFiles: [vip.txt]\n',
      'watchlists/vip.txt': userLines(1_000),
    });
    expect(config).toBeDefined();
    expect(brief(issues)).toEqual([
      'presence.yaml:6:21 apps.0.callsPerSecond [warning] the watchlists of app "demo" need 2.00 of 2 calls/s (vip 2.00/s), leaving little room for retries',
    ]);
  });

  it('loadWatchlists reloads the lists alone', async () => {
    const root = writeTree({ 'watchlists/ops.yaml': 'name: ops\napp: demo\ninterval: 30s\nusers: [x]\n' });
    const { watchlists, warnings } = await loadWatchlists({
      dir: join(root, 'watchlists'),
      apps: [{ name: 'demo', sdkAppId: 1400000000, callsPerSecond: 200 }],
      defaults: { intervalMs: 60_000, detail: false, deviceEvents: false, firstObservation: 'snapshot' },
    });
    expect(warnings).toEqual([]);
    expect(watchlists.map((list) => [list.name, list.intervalMs, list.userIds])).toEqual([
      ['ops', 30_000, ['x']],
      ['vip', 5_000, ['alice', 'bob']],
    ]);

    writeFileSync(join(root, 'watchlists/ops.yaml'), 'name: ops\napp: nope\nusers: [x]\n');
    await expect(
      loadWatchlists({
        dir: join(root, 'watchlists'),
        apps: [{ name: 'demo', sdkAppId: 1400000000, callsPerSecond: 200 }],
        defaults: { intervalMs: 60_000, detail: false, deviceEvents: false, firstObservation: 'snapshot' },
        cwd: root,
      }),
    ).rejects.toThrow('watchlists/ops.yaml:2:6  app  unknown app "nope"; configured apps: demo');
  });
});

describe('secrets', () => {
  it('reads the secret key from secretKeyFile (trimmed, relative to presence.yaml) in preference to the variable', async () => {
    const root = writeTree({
      'presence.yaml':
        'apps:\n  - name: demo\n    sdkAppId: 1\n    region: china\n    identifier: admin\n    secretKeyFile: im.key\n',
      'im.key': `${SECRET}\n`,
    });
    const { config } = await loadConfig({
      configPath: join(root, 'presence.yaml'),
      env: { TENCENT_IM_SECRET_KEY: 'the-variable-loses' },
    });
    expect(config.apps[0]!.secretKey).toBe(SECRET);
    expect(config.apps[0]!.secretKeySource).toBe(`file ${join(root, 'im.key')}`);
  });

  it('refuses a secret key in YAML and never echoes it, even when the same value is also in the environment', async () => {
    const root = writeTree({
      'presence.yaml': `apps:\n  - name: demo\n    sdkAppId: 1\n    region: china\n    identifier: admin\n    secretKey: ${SECRET}\n    sdkAppIdd: 2\n`,
    });
    const error = (await loadConfig({
      configPath: join(root, 'presence.yaml'),
      cwd: root,
      env: SECRET_ENV,
    }).catch((caught) => caught)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.issues.map((issue) => issue.code)).toEqual(['secret_in_yaml', 'unknown_key']);
    expect(error.message).toContain(
      'presence.yaml:6:5  apps.0.secretKey  the secret key is never read from configuration',
    );
    expect(error.message).not.toContain(SECRET);
    expect(JSON.stringify(error.issues)).not.toContain(SECRET);
    expect(formatIssues(error.issues)).not.toContain(SECRET);
  });

  it('never puts a secret pasted in the wrong field into a message', async () => {
    const { issues } = await inspectTree({
      'presence.yaml': `apps:\n  - name: demo\n    sdkAppId: "${SECRET}"\n    endpoint: "${SECRET}"\n    identifier: admin\n    secretKeyEnv: "${SECRET}"\n`,
    });
    expect(issues.length).toBeGreaterThanOrEqual(3);
    expect(JSON.stringify(issues)).not.toContain(SECRET);
    expect(JSON.stringify(issues)).not.toContain(SECRET.slice(0, 24));
  });

  it('redactConfig hides the secret key and the SASL password', async () => {
    const root = writeTree({
      'presence.yaml':
        'apps:\n  - name: demo\n    sdkAppId: 1\n    region: china\n    identifier: admin\n' +
        'kafka:\n  tls: {}\n  sasl:\n    mechanism: scram-sha-512\n    username: svc\n',
    });
    const { config } = await loadConfig({
      configPath: join(root, 'presence.yaml'),
      env: { ...SECRET_ENV, KAFKA_SASL_PASSWORD: 'kafka-password-123' },
    });
    expect(config.kafka.sasl).toEqual({
      mechanism: 'scram-sha-512',
      username: 'svc',
      password: 'kafka-password-123',
    });
    const printed = JSON.stringify(redactConfig(config));
    expect(printed).not.toContain(SECRET);
    expect(printed).not.toContain('kafka-password-123');
    expect(printed).toContain('[redacted]');
  });

  it('reads the Kafka TLS files relative to presence.yaml and keeps the private key out of redactConfig', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const certificate = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUcert\n-----END CERTIFICATE-----\n';
    const ca = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUca\n-----END CERTIFICATE-----\n';
    const root = writeTree({
      'presence.yaml':
        BASE_PRESENCE +
        'kafka:\n  tls:\n    caFile: tls/ca.pem\n    certFile: tls/client.pem\n    keyFile: tls/client-key.pem\n',
      'tls/ca.pem': ca,
      'tls/client.pem': certificate,
      'tls/client-key.pem': keyPem,
    });
    const { config, warnings } = await loadConfig({
      configPath: join(root, 'presence.yaml'),
      env: SECRET_ENV,
    });
    expect(warnings).toEqual([]);
    expect(config.kafka.tls).toEqual({
      ca: readFileSync(join(root, 'tls/ca.pem')),
      cert: readFileSync(join(root, 'tls/client.pem')),
      key: readFileSync(join(root, 'tls/client-key.pem')),
      rejectUnauthorized: true,
      files: {
        ca: join(root, 'tls/ca.pem'),
        cert: join(root, 'tls/client.pem'),
        key: join(root, 'tls/client-key.pem'),
      },
    });
    const printed = JSON.stringify(redactConfig(config));
    const keyBody = keyPem.split('\n')[1]!;
    expect(printed).not.toContain(keyBody);
    expect(printed).not.toContain('PRIVATE KEY');
    expect(JSON.parse(printed).kafka.tls).toEqual({
      rejectUnauthorized: true,
      ca: join(root, 'tls/ca.pem'),
      cert: join(root, 'tls/client.pem'),
      key: join(root, 'tls/client-key.pem'),
    });
  });

  it('turns TLS on with the system CAs from an empty tls section', async () => {
    const { config } = await inspectTree({ 'presence.yaml': BASE_PRESENCE + 'kafka:\n  tls: {}\n' });
    expect(config?.kafka.tls).toEqual({
      ca: undefined,
      cert: undefined,
      key: undefined,
      rejectUnauthorized: true,
      files: {},
    });
  });
});
