import { afterAll, describe, expect, it } from 'vitest';
import type { IssueSeverity } from '../../src/config/index.js';
import {
  brief,
  inspectTree,
  removeTrees,
  SECRET,
  SECRET_ENV,
  userLines,
  type TreeFiles,
} from './config-tree.js';

afterAll(removeTrees);

/** Shaped like a PEM certificate; the loader checks the armour, the TLS stack (not used here) the contents. */
const PEM_CERTIFICATE = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ1\n-----END CERTIFICATE-----\n';

interface Mistake {
  name: string;
  files: TreeFiles;
  env?: Record<string, string>;
  expect: {
    file: string;
    line?: number;
    column?: number;
    field?: string;
    message: string;
    severity?: IssueSeverity;
  };
}

/** presence.yaml with the base app followed by `appLines` (indented under it) and then `rootLines`. */
function presence(appLines: string[] = [], rootLines: string[] = []): string {
  return [
    'apps:',
    '  - name: demo',
    '    sdkAppId: 1400000000',
    '    endpoint: http://127.0.0.1:8089',
    '    identifier: administrator',
    ...appLines.map((line) => `    ${line}`),
    ...rootLines,
    '',
  ].join('\n');
}

const mistakes: Mistake[] = [
  {
    name: 'YAML syntax error',
    files: { 'presence.yaml': 'apps:\n  - name: demo\n    sdkAppId: [1400000000\n' },
    expect: {
      file: 'presence.yaml',
      line: 4,
      column: 1,
      message: 'YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
    },
  },
  {
    name: 'duplicate YAML key',
    files: { 'presence.yaml': presence([], ['redis:', '  prefix: a', 'redis:', '  prefix: b']) },
    expect: { file: 'presence.yaml', line: 8, column: 1, message: 'Map keys must be unique' },
  },
  {
    name: 'unknown top-level key with a suggestion',
    files: { 'presence.yaml': presence([], ['kafak:', '  clientId: x']) },
    expect: {
      file: 'presence.yaml',
      line: 6,
      column: 1,
      field: 'kafak',
      message: 'unknown key "kafak" (did you mean "kafka"?); allowed keys: apps, redis, kafka',
    },
  },
  {
    name: 'unknown app key with a suggestion',
    files: { 'presence.yaml': presence(['callsPerSecnd: 100']) },
    expect: {
      file: 'presence.yaml',
      line: 6,
      column: 5,
      field: 'apps.0.callsPerSecnd',
      message: 'unknown key "callsPerSecnd" (did you mean "callsPerSecond"?)',
    },
  },
  {
    name: 'wrong type: string for an integer',
    files: {
      'presence.yaml': presence().replace('sdkAppId: 1400000000', 'sdkAppId: abc'),
    },
    expect: {
      file: 'presence.yaml',
      line: 3,
      column: 15,
      field: 'apps.0.sdkAppId',
      message: 'must be an integer, got "abc"',
    },
  },
  {
    name: 'wrong type: fraction for an integer',
    files: { 'presence.yaml': presence(['connections: 2.5']) },
    expect: { file: 'presence.yaml', line: 6, column: 18, message: 'must be an integer, got 2.5' },
  },
  {
    name: 'malformed duration',
    files: { 'presence.yaml': presence(['requestTimeout: 5 seconds']) },
    expect: { file: 'presence.yaml', line: 6, column: 21, message: '"5 seconds" is not a duration' },
  },
  {
    name: 'duration without a unit',
    files: { 'watchlists/vip.yaml': 'name: vip\ninterval: 60\nusers: [alice]\n' },
    expect: {
      file: 'watchlists/vip.yaml',
      line: 2,
      column: 11,
      field: 'interval',
      message: 'a duration needs a unit',
    },
  },
  {
    name: 'request timeout not longer than 3s',
    files: { 'presence.yaml': presence(['requestTimeout: 3s']) },
    expect: { file: 'presence.yaml', line: 6, column: 21, message: 'must be longer than 3s' },
  },
  {
    name: 'unknown region',
    files: { 'presence.yaml': presence().replace('endpoint: http://127.0.0.1:8089', 'region: mars') },
    expect: { file: 'presence.yaml', line: 4, column: 13, message: 'must be one of china, singapore, seoul' },
  },
  {
    name: 'misspelt region',
    files: { 'presence.yaml': presence().replace('endpoint: http://127.0.0.1:8089', 'region: singapur') },
    expect: {
      file: 'presence.yaml',
      line: 4,
      column: 13,
      message: 'got "singapur" (did you mean "singapore"?)',
    },
  },
  {
    name: 'both region and endpoint',
    files: { 'presence.yaml': presence(['region: tokyo']) },
    expect: { file: 'presence.yaml', line: 4, column: 5, message: 'set either region or endpoint, not both' },
  },
  {
    name: 'trusted callbacks without hint calls to confirm them',
    files: { 'presence.yaml': presence(['hintShare: 0', 'trustCallbacks: true']) },
    expect: {
      file: 'presence.yaml',
      line: 7,
      column: 21,
      field: 'apps.0.trustCallbacks',
      message: 'trustCallbacks needs hint calls to confirm or correct each callback: set hintShare above 0',
    },
  },
  {
    name: 'neither region nor endpoint',
    files: { 'presence.yaml': presence().replace('    endpoint: http://127.0.0.1:8089\n', '') },
    expect: {
      file: 'presence.yaml',
      line: 2,
      column: 5,
      field: 'apps.0',
      message: 'set region (one of china',
    },
  },
  {
    name: 'endpoint with a non-http scheme',
    files: { 'presence.yaml': presence().replace('http://127.0.0.1:8089', 'ftp://127.0.0.1') },
    expect: { file: 'presence.yaml', line: 4, column: 15, message: 'must be an http:// or https:// URL' },
  },
  {
    name: 'secret key in YAML',
    files: { 'presence.yaml': presence([`secretKey: ${SECRET}`]) },
    expect: {
      file: 'presence.yaml',
      line: 6,
      column: 5,
      field: 'apps.0.secretKey',
      message: 'the secret key is never read from configuration',
    },
  },
  {
    name: 'secret key variable unset',
    files: {},
    env: {},
    expect: {
      file: 'presence.yaml',
      line: 2,
      column: 5,
      message: 'environment variable TENCENT_IM_SECRET_KEY is not set',
    },
  },
  {
    name: 'secret key variable empty (custom name)',
    files: { 'presence.yaml': presence(['secretKeyEnv: DEMO_KEY']) },
    env: { DEMO_KEY: '' },
    expect: { file: 'presence.yaml', line: 6, column: 19, message: 'environment variable DEMO_KEY is empty' },
  },
  {
    name: 'secret key file missing',
    files: { 'presence.yaml': presence(['secretKeyFile: secrets/im.key']) },
    expect: { file: 'presence.yaml', line: 6, column: 20, message: 'secrets/im.key does not exist' },
  },
  {
    name: 'http port out of range',
    files: { 'presence.yaml': presence([], ['http:', '  port: 70000']) },
    expect: {
      file: 'presence.yaml',
      line: 7,
      column: 9,
      field: 'http.port',
      message: 'must be at most 65535, got number 70000',
    },
  },
  {
    name: 'a negative number of replicas to wait for',
    files: { 'presence.yaml': presence([], ['redis:', '  waitForReplicas: -1']) },
    expect: {
      file: 'presence.yaml',
      line: 7,
      column: 20,
      field: 'redis.waitForReplicas',
      message: 'must be at least 0, got number -1',
    },
  },
  {
    name: 'call cap of zero',
    files: { 'presence.yaml': presence(['callsPerSecond: 0']) },
    expect: { file: 'presence.yaml', line: 6, column: 21, message: 'must be at least 1, got number 0' },
  },
  {
    name: 'call margin that would leave most of the cap unused',
    files: { 'presence.yaml': presence(['callMargin: 0.7']) },
    expect: { file: 'presence.yaml', line: 6, column: 17, message: 'must be at most 0.5, got number 0.7' },
  },
  {
    name: 'call margin too thin to absorb any jitter',
    files: { 'presence.yaml': presence(['callMargin: 0.005']) },
    expect: {
      file: 'presence.yaml',
      line: 6,
      column: 17,
      message: 'must be at least 0.01, got number 0.005',
    },
  },
  {
    name: 'invalid Kafka topic name in a watchlist',
    files: { 'watchlists/vip.yaml': 'name: vip\ntopic: "vip topic!"\nusers: [alice]\n' },
    expect: {
      file: 'watchlists/vip.yaml',
      line: 2,
      column: 8,
      field: 'topic',
      message: 'is not a valid Kafka topic name',
    },
  },
  {
    name: 'state topic equal to transitions topic',
    files: {
      'presence.yaml': presence(
        [],
        ['kafka:', '  topics:', '    transitions: presence', '    state: presence'],
      ),
    },
    expect: { file: 'presence.yaml', line: 9, column: 12, message: 'must differ from the transitions topic' },
  },
  {
    name: 'broker without a port',
    files: { 'presence.yaml': presence([], ['kafka:', '  brokers: [kafka1]']) },
    expect: {
      file: 'presence.yaml',
      line: 7,
      column: 13,
      field: 'kafka.brokers.0',
      message: 'must be "host:port"',
    },
  },
  {
    name: 'redis URL with another scheme',
    files: { 'presence.yaml': presence([], ['redis:', '  url: http://127.0.0.1:6379']) },
    expect: { file: 'presence.yaml', line: 7, column: 8, message: 'must be a redis:// or rediss:// URL' },
  },
  {
    name: 'unknown log level',
    files: { 'presence.yaml': presence([], ['logLevel: verbose']) },
    expect: {
      file: 'presence.yaml',
      line: 6,
      column: 11,
      message: 'must be one of fatal, error, warn, info',
    },
  },
  {
    name: 'SASL password in YAML',
    files: {
      'presence.yaml': presence(
        [],
        ['kafka:', '  sasl:', '    mechanism: plain', '    username: u', '    password: hunter2'],
      ),
    },
    env: { ...SECRET_ENV, KAFKA_SASL_PASSWORD: 'hunter2' },
    expect: {
      file: 'presence.yaml',
      line: 10,
      column: 5,
      message: 'the SASL password is never read from configuration',
    },
  },
  {
    name: 'SASL password variable unset',
    files: {
      'presence.yaml': presence(
        [],
        ['kafka:', '  tls: {}', '  sasl:', '    mechanism: plain', '    username: u'],
      ),
    },
    expect: {
      file: 'presence.yaml',
      line: 8,
      column: 3,
      message: 'environment variable KAFKA_SASL_PASSWORD is not set',
    },
  },
  {
    name: 'duplicate SDKAppID',
    files: {
      'presence.yaml': presence(
        [],
        ['  - name: other', '    sdkAppId: 1400000000', '    region: china', '    identifier: admin'],
      ),
    },
    expect: {
      file: 'presence.yaml',
      line: 7,
      column: 15,
      message: 'sdkAppId 1400000000 is already configured as apps.0',
    },
  },
  {
    name: 'watchlist name with capitals',
    files: { 'watchlists/vip.yaml': 'name: VIP\nusers: [alice]\n' },
    expect: {
      file: 'watchlists/vip.yaml',
      line: 1,
      column: 7,
      field: 'name',
      message: 'must start with a lower-case letter',
    },
  },
  {
    name: 'watchlist without a name',
    files: { 'watchlists/vip.yaml': 'interval: 5s\nusers: [alice]\n' },
    expect: { file: 'watchlists/vip.yaml', line: 1, column: 1, field: 'name', message: 'is required' },
  },
  {
    name: 'unknown watchlist key',
    files: { 'watchlists/vip.yaml': 'name: vip\nintervall: 5s\nusers: [alice]\n' },
    expect: {
      file: 'watchlists/vip.yaml',
      line: 2,
      column: 1,
      message: 'unknown key "intervall" (did you mean "interval"?)',
    },
  },
  {
    name: 'priority out of range',
    files: { 'watchlists/vip.yaml': 'name: vip\npriority: 11\nusers: [alice]\n' },
    expect: { file: 'watchlists/vip.yaml', line: 2, column: 11, message: 'must be at most 10' },
  },
  {
    name: 'duplicate watchlist names across files',
    files: { 'watchlists/zz-vip.yaml': '# copy\nname: vip\nusers: [carol]\n' },
    expect: {
      file: 'watchlists/zz-vip.yaml',
      line: 2,
      column: 7,
      message: 'watchlist name "vip" is already used by watchlists/vip.yaml',
    },
  },
  {
    name: 'unknown app reference',
    files: { 'watchlists/vip.yaml': 'name: vip\napp: dmo\nusers: [alice]\n' },
    expect: {
      file: 'watchlists/vip.yaml',
      line: 2,
      column: 6,
      message: 'unknown app "dmo" (did you mean "demo"?)',
    },
  },
  {
    name: 'several apps and no app named',
    files: {
      'presence.yaml': presence(
        [],
        ['  - name: other', '    sdkAppId: 1400000001', '    region: china', '    identifier: admin'],
      ),
    },
    env: { TENCENT_IM_SECRET_KEY: SECRET },
    expect: {
      file: 'watchlists/vip.yaml',
      line: 1,
      column: 7,
      field: 'app',
      message: 'several apps are configured (demo, other)',
    },
  },
  {
    name: 'UserID that YAML reads as a number',
    files: { 'watchlists/vip.yaml': 'name: vip\nusers:\n  - alice\n  - 007\n' },
    expect: { file: 'watchlists/vip.yaml', line: 4, column: 5, field: 'users.1', message: 'quote it' },
  },
  {
    name: 'system UserID starting with @',
    files: { 'watchlists/vip.yaml': 'name: vip\nusers: [alice, "@TIM#SYSTEM"]\n' },
    expect: {
      file: 'watchlists/vip.yaml',
      line: 2,
      column: 16,
      field: 'users.1',
      message: 'starts with "@"',
    },
  },
  {
    name: 'empty inline UserID',
    files: { 'watchlists/vip.yaml': 'name: vip\nusers: ["", bob]\n' },
    expect: { file: 'watchlists/vip.yaml', line: 2, column: 9, message: 'empty UserID' },
  },
  {
    name: 'UserID over 32 bytes in a user file',
    files: {
      'watchlists/vip.yaml': 'name: vip\nuserFiles: [vip.txt]\n',
      'watchlists/vip.txt': `# vip\nalice\n${'x'.repeat(40)}\n`,
    },
    expect: {
      file: 'watchlists/vip.txt',
      line: 3,
      column: 33,
      field: 'userFiles.0',
      message: 'is 40 bytes; at most 32',
    },
  },
  {
    name: 'control character inside a UserID',
    files: {
      'watchlists/vip.yaml': 'name: vip\nuserFiles: [vip.txt]\n',
      'watchlists/vip.txt': 'alice\n\nbo\tb\n',
    },
    expect: {
      file: 'watchlists/vip.txt',
      line: 3,
      column: 3,
      message: 'the control character U+0009; only printable ASCII',
    },
  },
  {
    name: 'non-ASCII UserID',
    files: {
      'watchlists/vip.yaml': 'name: vip\nuserFiles: [vip.txt]\n',
      'watchlists/vip.txt': 'alice\nzoë\n',
    },
    expect: {
      file: 'watchlists/vip.txt',
      line: 2,
      column: 3,
      message: '"ë" (U+00EB); only printable ASCII is allowed',
    },
  },
  {
    name: 'a user file line longer than the line-length guard',
    files: {
      'watchlists/vip.yaml': 'name: vip\nuserFiles: [vip.txt]\n',
      'watchlists/vip.txt': `alice\nbob\n${'\u0000'.repeat(5_000)}\n`,
    },
    expect: {
      file: 'watchlists/vip.txt',
      line: 3,
      field: 'userFiles.0',
      message: 'line 3 is longer than 4096 characters',
    },
  },
  {
    name: 'missing user file',
    files: {
      'watchlists/vip.yaml': 'name: vip\nuserFiles:\n  - vip.txt\n  - nope.txt\n',
      'watchlists/vip.txt': 'alice\n',
    },
    expect: {
      file: 'watchlists/vip.yaml',
      line: 4,
      column: 5,
      field: 'userFiles.1',
      message: 'user file watchlists/nope.txt not found',
    },
  },
  {
    name: 'missing watchlist directory',
    files: { 'presence.yaml': presence([], ['watchlists:', '  dir: lists']) },
    expect: {
      file: 'presence.yaml',
      line: 7,
      column: 8,
      field: 'watchlists.dir',
      message: 'watchlist directory lists does not exist',
    },
  },
  {
    name: 'interval shorter than the cap allows for the list',
    files: {
      'presence.yaml': presence(['callsPerSecond: 1']),
      'watchlists/vip.yaml': 'name: vip\ninterval: 2s\nuserFiles: [vip.txt]\n',
      'watchlists/vip.txt': userLines(1_001),
    },
    expect: {
      file: 'watchlists/vip.yaml',
      line: 2,
      column: 11,
      field: 'interval',
      message:
        'interval 2s is too short for 1,001 users: a sweep is 3 calls, which takes at least 3s at 1 calls/s (app "demo"); the minimum interval is 3s',
    },
  },
  {
    name: 'watchlists of one app over the cap together',
    files: {
      'presence.yaml': presence(['callsPerSecond: 1']),
      'watchlists/vip.yaml': 'name: vip\ninterval: 1s\nusers: [alice]\n',
      'watchlists/more.yaml': 'name: more\ninterval: 2s\nusers: [bob]\n',
    },
    expect: {
      file: 'presence.yaml',
      line: 6,
      column: 21,
      field: 'apps.0.callsPerSecond',
      message:
        'the watchlists of app "demo" need 1.50 calls/s together (more 0.50/s, vip 1.00/s) but callsPerSecond is 1',
    },
  },
  {
    name: 'invalid value from an environment variable',
    files: {},
    env: { ...SECRET_ENV, PRESENCE__HTTP__PORT: 'eighty' },
    expect: {
      file: 'env:PRESENCE__HTTP__PORT',
      field: 'http.port',
      message: 'must be an integer, got "eighty"',
    },
  },
  {
    name: 'unknown setting in an environment variable',
    files: {},
    env: { ...SECRET_ENV, PRESENCE__REDIS__URI: 'redis://x:6379' },
    expect: { file: 'env:PRESENCE__REDIS__URI', message: 'no setting "URI" here (did you mean "url"?)' },
  },
  {
    name: 'redis.url and redis.cluster together',
    files: {
      'presence.yaml': presence(
        [],
        ['redis:', '  url: redis://10.0.0.1:6379', '  cluster:', '    nodes: [redis://10.0.0.2:6379]'],
      ),
    },
    expect: {
      file: 'presence.yaml',
      line: 7,
      column: 3,
      field: 'redis.url',
      message: 'set either redis.url (a single Redis) or redis.cluster (a Redis Cluster), not both',
    },
  },
  {
    name: 'REDIS_URL with redis.cluster',
    files: { 'presence.yaml': presence([], ['redis:', '  cluster:', '    nodes: [redis://10.0.0.2:6379]']) },
    env: { ...SECRET_ENV, REDIS_URL: 'redis://10.0.0.1:6379' },
    expect: {
      file: 'env:REDIS_URL',
      field: 'redis.url',
      message: 'set either redis.url (a single Redis) or redis.cluster (a Redis Cluster), not both',
    },
  },
  {
    name: 'redis.cluster seed nodes with different passwords',
    files: {
      'presence.yaml': presence(
        [],
        [
          'redis:',
          '  cluster:',
          '    nodes:',
          '      - redis://:a@10.0.0.1:6379',
          '      - redis://:b@10.0.0.2:6379',
        ],
      ),
    },
    expect: {
      file: 'presence.yaml',
      line: 10,
      column: 9,
      field: 'redis.cluster.nodes.1',
      message: 'every seed node needs the scheme, user and password of the first',
    },
  },
  {
    name: 'redis.cluster seed node that is not a redis URL',
    files: { 'presence.yaml': presence([], ['redis:', '  cluster:', '    nodes: [10.0.0.2:6379]']) },
    expect: {
      file: 'presence.yaml',
      line: 8,
      column: 13,
      field: 'redis.cluster.nodes.0',
      message: 'must be a redis:// or rediss:// URL',
    },
  },
  {
    name: 'warning: UserID outside [A-Za-z0-9_-]',
    files: {
      'watchlists/vip.yaml': 'name: vip\nuserFiles: [vip.txt]\n',
      'watchlists/vip.txt': 'alice\nbob.smith\n',
    },
    expect: {
      file: 'watchlists/vip.txt',
      line: 2,
      column: 4,
      message: 'contains "." (U+002E); some Tencent APIs accept only',
      severity: 'warning',
    },
  },
  {
    name: 'warning: duplicate UserID in a list',
    files: {
      'watchlists/vip.yaml': 'name: vip\nusers: [alice]\nuserFiles: [vip.txt]\n',
      'watchlists/vip.txt': 'bob\nalice\n',
    },
    expect: {
      file: 'watchlists/vip.txt',
      line: 2,
      column: 1,
      message: 'duplicate UserID "alice"; later copies are ignored',
      severity: 'warning',
    },
  },
  {
    name: 'warning: plain http to a remote host',
    files: { 'presence.yaml': presence().replace('127.0.0.1', 'im.example.com') },
    expect: {
      file: 'presence.yaml',
      line: 4,
      column: 15,
      message: 'sends the UserSig unencrypted',
      severity: 'warning',
    },
  },
  {
    name: 'kafka.ssl from before kafka.tls',
    files: { 'presence.yaml': presence([], ['kafka:', '  ssl: true']) },
    expect: {
      file: 'presence.yaml',
      line: 7,
      column: 3,
      field: 'kafka.ssl',
      message: 'kafka.ssl was replaced by kafka.tls: write "tls: {}"',
    },
  },
  {
    name: 'Kafka TLS CA file missing',
    files: { 'presence.yaml': presence([], ['kafka:', '  tls:', '    caFile: kafka-ca.pem']) },
    expect: {
      file: 'presence.yaml',
      line: 8,
      column: 13,
      field: 'kafka.tls.caFile',
      message: 'kafka-ca.pem does not exist',
    },
  },
  {
    name: 'Kafka TLS client certificate without its key',
    files: {
      'presence.yaml': presence([], ['kafka:', '  tls:', '    certFile: client.pem']),
      'client.pem': PEM_CERTIFICATE,
    },
    expect: {
      file: 'presence.yaml',
      line: 8,
      column: 15,
      field: 'kafka.tls.certFile',
      message: 'mutual TLS needs both certFile and keyFile: set kafka.tls.keyFile too',
    },
  },
  {
    name: 'Kafka TLS key file holding a certificate',
    files: {
      'presence.yaml': presence(
        [],
        ['kafka:', '  tls:', '    certFile: client.pem', '    keyFile: client.pem'],
      ),
      'client.pem': PEM_CERTIFICATE,
    },
    expect: {
      file: 'presence.yaml',
      line: 9,
      column: 14,
      field: 'kafka.tls.keyFile',
      message: 'is not an unencrypted PEM private key',
    },
  },
  {
    name: 'Kafka TLS key file encrypted',
    files: {
      'presence.yaml': presence(
        [],
        ['kafka:', '  tls:', '    certFile: client.pem', '    keyFile: client-key.pem'],
      ),
      'client.pem': PEM_CERTIFICATE,
      'client-key.pem':
        '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0w\n-----END ENCRYPTED PRIVATE KEY-----\n',
    },
    expect: {
      file: 'presence.yaml',
      line: 9,
      column: 14,
      field: 'kafka.tls.keyFile',
      message: 'holds an encrypted private key; passphrases are not supported',
    },
  },
  {
    name: 'Kafka TLS CA file that is not PEM',
    files: {
      'presence.yaml': presence([], ['kafka:', '  tls:', '    caFile: ca.der']),
      'ca.der': '0\x82\x03\x0b0\x82\x01\xf3',
    },
    expect: {
      file: 'presence.yaml',
      line: 8,
      column: 13,
      field: 'kafka.tls.caFile',
      message: 'is not a PEM certificate ("-----BEGIN CERTIFICATE-----")',
    },
  },
  {
    name: 'Kafka TLS key with a near-miss name',
    files: { 'presence.yaml': presence([], ['kafka:', '  tls:', '    cafile: ca.pem']) },
    expect: {
      file: 'presence.yaml',
      line: 8,
      column: 5,
      field: 'kafka.tls.cafile',
      message: 'unknown key "cafile" (did you mean "caFile"?)',
    },
  },
  {
    name: 'Kafka broker verification turned off',
    files: { 'presence.yaml': presence([], ['kafka:', '  tls:', '    rejectUnauthorized: false']) },
    expect: {
      file: 'presence.yaml',
      line: 8,
      column: 25,
      field: 'kafka.tls.rejectUnauthorized',
      message: 'brokers are not verified',
      severity: 'warning',
    },
  },
  {
    name: 'Kafka TLS files while TLS is disabled',
    files: {
      'presence.yaml': presence([], ['kafka:', '  tls:', '    enabled: false', '    caFile: ca.pem']),
    },
    expect: {
      file: 'presence.yaml',
      line: 8,
      column: 14,
      field: 'kafka.tls.enabled',
      message: 'TLS is disabled, so caFile is not used',
      severity: 'warning',
    },
  },
  {
    name: 'Kafka replication factor 0',
    files: { 'presence.yaml': presence([], ['kafka:', '  replicationFactor: 0']) },
    expect: {
      file: 'presence.yaml',
      line: 7,
      column: 22,
      field: 'kafka.replicationFactor',
      message: "must be -1 (the broker's default.replication.factor) or 1..16, got 0",
    },
  },
  {
    name: 'Kafka replication factor below -1',
    files: { 'presence.yaml': presence([], ['kafka:', '  replicationFactor: -3']) },
    expect: {
      file: 'presence.yaml',
      line: 7,
      column: 22,
      field: 'kafka.replicationFactor',
      message: 'must be at least -1, got number -3',
    },
  },
  {
    name: 'Kafka compression without a built-in codec',
    files: { 'presence.yaml': presence([], ['kafka:', '  compression: snappy']) },
    expect: {
      file: 'presence.yaml',
      line: 7,
      column: 16,
      field: 'kafka.compression',
      message: 'must be one of none, gzip; got "snappy"',
    },
  },
  {
    name: 'Kafka createTopics as a word',
    files: { 'presence.yaml': presence([], ['kafka:', '  createTopics: never']) },
    expect: {
      file: 'presence.yaml',
      line: 7,
      column: 17,
      field: 'kafka.createTopics',
      message: 'must be true or false, got "never"',
    },
  },
];

describe('config mistakes', () => {
  it('has a corpus of at least 25 distinct mistakes', () => {
    expect(new Set(mistakes.map((mistake) => mistake.name)).size).toBe(mistakes.length);
    expect(
      mistakes.filter((mistake) => (mistake.expect.severity ?? 'error') === 'error').length,
    ).toBeGreaterThanOrEqual(25);
  });

  it.each(mistakes)('reports $name with file, line and column', async (mistake) => {
    const { issues, config } = await inspectTree(mistake.files, mistake.env ?? SECRET_ENV);
    const severity = mistake.expect.severity ?? 'error';
    if (severity === 'error') expect(config).toBeUndefined();
    const match = issues.find(
      (issue) =>
        issue.message.includes(mistake.expect.message) &&
        issue.file === mistake.expect.file &&
        issue.line === mistake.expect.line &&
        issue.column === mistake.expect.column &&
        issue.severity === severity &&
        (mistake.expect.field === undefined || issue.field === mistake.expect.field),
    );
    expect(
      match,
      `expected ${JSON.stringify(mistake.expect)} among\n${brief(issues).join('\n')}`,
    ).toBeDefined();
    for (const issue of issues) expect(issue.message).not.toContain(SECRET);
  });
});
