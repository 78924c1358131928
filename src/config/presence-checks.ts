/**
 * Rules of presence.yaml that relate fields or entries (region xor endpoint, secrets, unique apps, Kafka topics).
 * Each rule reads only the raw values it needs, so every rule runs even when an unrelated field is invalid.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseDurationMs } from './duration.js';
import { secretMessage } from './env-overrides.js';
import type { IssueList } from './issues.js';
import { REGIONS } from './regions.js';
import { appSchema, kafkaSchema, type AppFile, type KafkaTlsFile } from './schema.js';
import { resolveSecret } from './secrets.js';
import type { LoadedKafka, LoadedKafkaTls } from './types.js';
import type { Locator } from './validate.js';
import type { YamlSource } from './yaml-source.js';

const DAY_MS = 86_400_000;
const SECRET_KEY_NAMES = new Set(['secretkey', 'secret_key', 'secret-key']);

export interface CheckContext {
  locate: Locator;
  issues: IssueList;
  env: Readonly<Record<string, string | undefined>>;
  configDir: string;
}

export interface CheckedApp {
  name: string | undefined;
  sdkAppId: number | undefined;
  parsed: AppFile | undefined;
  secret: { value: string; source: string } | undefined;
  callbackToken: string | undefined;
  index: number;
}

/** The rules of one app that relate its fields; each uses only the fields it needs, so all of them run. */
export function checkApp(rawApp: unknown, index: number, context: CheckContext): CheckedApp {
  const { locate, issues } = context;
  const at = (field: string) => ['apps', index, field];
  const field = (name: string) => `apps.${index}.${name}`;
  const none: CheckedApp = {
    name: undefined,
    sdkAppId: undefined,
    parsed: undefined,
    secret: undefined,
    callbackToken: undefined,
    index,
  };
  if (!isRecord(rawApp)) return none;

  const result = appSchema.safeParse(rawApp);
  const parsed = result.success ? result.data : undefined;
  const sdkAppId = appSchema.shape.sdkAppId.safeParse(rawApp.sdkAppId).data;
  const name =
    typeof rawApp.name === 'string' ? rawApp.name : sdkAppId !== undefined ? String(sdkAppId) : undefined;

  const hasRegion = rawApp.region !== undefined;
  const hasEndpoint = rawApp.endpoint !== undefined;
  if (hasRegion && hasEndpoint) {
    issues.add(
      locate(at('endpoint'), 'key'),
      field('endpoint'),
      'region_endpoint',
      'set either region or endpoint, not both',
    );
  } else if (!hasRegion && !hasEndpoint) {
    issues.add(
      locate(['apps', index]),
      `apps.${index}`,
      'region_endpoint',
      `set region (one of ${REGIONS.join(', ')}) or endpoint (a base URL)`,
    );
  }
  const endpoint = appSchema.shape.endpoint.safeParse(rawApp.endpoint).data;
  if (endpoint && new URL(endpoint).protocol === 'http:' && !isLoopback(new URL(endpoint).hostname)) {
    issues.warn(
      locate(at('endpoint')),
      field('endpoint'),
      'insecure_endpoint',
      'plain http:// to a non-local host sends the UserSig unencrypted; use https:// outside a test setup',
    );
  }
  if (rawApp.trustCallbacks === true && rawApp.hintShare === 0) {
    issues.add(
      locate(at('trustCallbacks')),
      field('trustCallbacks'),
      'trust_without_hints',
      'trustCallbacks needs hint calls to confirm or correct each callback: set hintShare above 0',
    );
  }
  const ttl = appSchema.shape.userSigTtl.safeParse(rawApp.userSigTtl).data;
  if (rawApp.userSigTtl !== undefined && ttl !== undefined && parseDurationMs(ttl)! < DAY_MS) {
    issues.warn(
      locate(at('userSigTtl')),
      field('userSigTtl'),
      'short_usersig_ttl',
      'Tencent advises a UserSig lifetime of at least 24h',
    );
  }

  let secret: CheckedApp['secret'];
  const envName = appSchema.shape.secretKeyEnv.safeParse(rawApp.secretKeyEnv);
  const file = appSchema.shape.secretKeyFile.safeParse(rawApp.secretKeyFile);
  // secretKeyFile, when set, wins over secretKeyEnv (which always has a default).
  if (envName.success && file.success) {
    const found = resolveSecret({
      what: `secret key of app "${name ?? index}"`,
      envName: envName.data,
      file: file.data,
      baseDir: context.configDir,
      env: context.env,
      settingHint: 'or set secretKeyFile; the key is never read from YAML',
    });
    if (found.ok) secret = { value: found.value, source: found.source };
    else {
      const where =
        file.data !== undefined ? 'secretKeyFile' : rawApp.secretKeyEnv !== undefined ? 'secretKeyEnv' : '';
      issues.add(
        locate(where ? at(where) : ['apps', index]),
        where ? field(where) : `apps.${index}`,
        'secret_missing',
        found.message,
      );
    }
  }
  return {
    name,
    sdkAppId,
    parsed,
    secret,
    callbackToken: checkCallbackToken(rawApp, index, name, context),
    index,
  };
}

/** The callback token, when the app names one: a variable or file that is missing is an error, like the key. */
function checkCallbackToken(
  rawApp: Record<string, unknown>,
  index: number,
  name: string | undefined,
  context: CheckContext,
): string | undefined {
  const envName = appSchema.shape.callbackTokenEnv.safeParse(rawApp.callbackTokenEnv).data;
  const file = appSchema.shape.callbackTokenFile.safeParse(rawApp.callbackTokenFile).data;
  if (envName === undefined && file === undefined) return undefined;
  const found = resolveSecret({
    what: `callback token of app "${name ?? index}"`,
    envName: envName ?? '',
    file,
    baseDir: context.configDir,
    env: context.env,
    settingHint: 'or set callbackTokenFile; the token is never read from YAML',
  });
  if (found.ok) return found.value;
  const where = file !== undefined ? 'callbackTokenFile' : 'callbackTokenEnv';
  context.issues.add(
    context.locate(['apps', index, where]),
    `apps.${index}.${where}`,
    'secret_missing',
    found.message,
  );
  return undefined;
}

/** Rules across apps: unique names and SDKAppIDs. */
export function checkAppSet(apps: readonly CheckedApp[], locate: Locator, issues: IssueList): void {
  const byName = new Map<string, number>();
  const byId = new Map<number, number>();
  const byEnv = new Map<string, number>();
  for (const app of apps) {
    if (app.name !== undefined) {
      const first = byName.get(app.name);
      if (first !== undefined) {
        issues.add(
          locate(['apps', app.index, 'name']),
          `apps.${app.index}.name`,
          'duplicate_app',
          `app name "${app.name}" is already used by apps.${first}; give each app a distinct name`,
        );
      } else byName.set(app.name, app.index);
    }
    if (app.sdkAppId !== undefined) {
      const first = byId.get(app.sdkAppId);
      if (first !== undefined) {
        issues.add(
          locate(['apps', app.index, 'sdkAppId']),
          `apps.${app.index}.sdkAppId`,
          'duplicate_app',
          `sdkAppId ${app.sdkAppId} is already configured as apps.${first}; one app has one call cap`,
        );
      } else byId.set(app.sdkAppId, app.index);
    }
    if (app.parsed && app.parsed.secretKeyFile === undefined) {
      const first = byEnv.get(app.parsed.secretKeyEnv);
      if (first !== undefined) {
        issues.warn(
          locate(['apps', app.index]),
          `apps.${app.index}.secretKeyEnv`,
          'shared_secret_env',
          `apps.${first} and apps.${app.index} read their secret key from the same variable ` +
            `${app.parsed.secretKeyEnv}; each app has its own key`,
        );
      } else byEnv.set(app.parsed.secretKeyEnv, app.index);
    }
  }
}

/**
 * `redis.url` (one Redis) and `redis.cluster` (a Redis Cluster) exclude each other; `REDIS_URL` counts as a url.
 * The cluster's seed nodes must agree on scheme, user and password: the client reaches every node it discovers with
 * one set of them (redis/client.ts).
 */
export function checkRedis(rawRedis: unknown, context: Pick<CheckContext, 'locate' | 'issues'>): void {
  const { locate, issues } = context;
  if (!isRecord(rawRedis) || rawRedis.cluster === undefined) return;
  if (rawRedis.url !== undefined) {
    issues.add(
      locate(['redis', 'url'], 'key'),
      'redis.url',
      'redis_url_cluster',
      'set either redis.url (a single Redis) or redis.cluster (a Redis Cluster), not both',
    );
  }
  const nodes =
    isRecord(rawRedis.cluster) && Array.isArray(rawRedis.cluster.nodes) ? rawRedis.cluster.nodes : [];
  const access = (text: unknown): string | undefined => {
    if (typeof text !== 'string' || !URL.canParse(text)) return undefined;
    const url = new URL(text);
    return JSON.stringify([url.protocol, url.username, url.password]);
  };
  const first = access(nodes[0]);
  nodes.forEach((node, index) => {
    const own = access(node);
    if (index === 0 || first === undefined || own === undefined || own === first) return;
    issues.add(
      locate(['redis', 'cluster', 'nodes', index]),
      `redis.cluster.nodes.${index}`,
      'redis_cluster_nodes',
      'every seed node needs the scheme, user and password of the first: the client reaches all nodes with one set',
    );
  });
}

/**
 * The Kafka rules beyond single fields: distinct topics, the SASL password, and the TLS files, which are read here so
 * that a missing or malformed file is a configuration error with its line rather than a failure at connect time.
 */
export function checkKafka(rawKafka: unknown, context: CheckContext): LoadedKafka | undefined {
  const { locate, issues } = context;
  const result = kafkaSchema.safeParse(rawKafka ?? {});
  const rawTls = isRecord(rawKafka) ? rawKafka.tls : undefined;
  const tlsResult = kafkaSchema.shape.tls.safeParse(rawTls);
  const tls = tlsResult.success ? checkKafkaTls(tlsResult.data, context) : undefined;
  if (!result.success) return undefined;
  const kafka = result.data;
  let ok = tls !== 'invalid';
  if (kafka.topics.transitions === kafka.topics.state) {
    ok = false;
    issues.add(
      locate(['kafka', 'topics', 'state']),
      'kafka.topics.state',
      'duplicate_topic',
      'the state topic is compacted and must differ from the transitions topic',
    );
  }
  let sasl: LoadedKafka['sasl'];
  if (kafka.sasl) {
    if (!kafka.tls?.enabled) {
      issues.warn(
        locate(['kafka', 'sasl']),
        'kafka.sasl',
        'insecure_sasl',
        'SASL without kafka.tls sends credentials over a plaintext connection',
      );
    }
    const found = resolveSecret({
      what: 'Kafka SASL password',
      envName: kafka.sasl.passwordEnv,
      baseDir: context.configDir,
      env: context.env,
      settingHint: 'the password is never read from YAML',
    });
    if (found.ok)
      sasl = { mechanism: kafka.sasl.mechanism, username: kafka.sasl.username, password: found.value };
    else {
      ok = false;
      issues.add(
        locate(['kafka', 'sasl', 'passwordEnv']),
        'kafka.sasl.passwordEnv',
        'secret_missing',
        found.message,
      );
    }
  }
  const { linger, ...rest } = kafka;
  return ok
    ? { ...rest, lingerMs: parseDurationMs(linger)!, sasl, tls: tls === 'invalid' ? undefined : tls }
    : undefined;
}

type TlsFileField = 'caFile' | 'certFile' | 'keyFile';

/** What each PEM file must contain: a marker line and a description for the error. */
const PEM_KINDS: Record<TlsFileField, { marker: RegExp; what: string }> = {
  caFile: {
    marker: /-----BEGIN CERTIFICATE-----/,
    what: 'a PEM certificate ("-----BEGIN CERTIFICATE-----")',
  },
  certFile: {
    marker: /-----BEGIN CERTIFICATE-----/,
    what: 'a PEM certificate ("-----BEGIN CERTIFICATE-----")',
  },
  keyFile: {
    marker: /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----/,
    what: 'an unencrypted PEM private key ("-----BEGIN PRIVATE KEY-----")',
  },
};

/** Reads the TLS files of `kafka.tls`; `'invalid'` when any of them is missing or malformed (each one reported). */
function checkKafkaTls(
  tls: KafkaTlsFile | undefined,
  context: CheckContext,
): LoadedKafkaTls | undefined | 'invalid' {
  const { locate, issues } = context;
  if (!tls) return undefined;
  const at = (field: string) => ['kafka', 'tls', field];
  const given = (['caFile', 'certFile', 'keyFile'] as const).filter((field) => tls[field] !== undefined);
  if (!tls.enabled) {
    if (given.length > 0) {
      issues.warn(
        locate(at('enabled')),
        'kafka.tls.enabled',
        'tls_disabled',
        `TLS is disabled, so ${given.join(', ')} ${given.length === 1 ? 'is' : 'are'} not used`,
      );
    }
    return undefined;
  }
  let ok = true;
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    ok = false;
    const missing = tls.certFile === undefined ? 'certFile' : 'keyFile';
    const present = missing === 'certFile' ? 'keyFile' : 'certFile';
    issues.add(
      locate(at(present)),
      `kafka.tls.${present}`,
      'tls_pair',
      `mutual TLS needs both certFile and keyFile: set kafka.tls.${missing} too`,
    );
  }
  if (!tls.rejectUnauthorized) {
    issues.warn(
      locate(at('rejectUnauthorized')),
      'kafka.tls.rejectUnauthorized',
      'insecure_tls',
      'brokers are not verified: anyone on the path can read and alter events; use caFile instead outside tests',
    );
  }
  const material: LoadedKafkaTls = {
    ca: undefined,
    cert: undefined,
    key: undefined,
    rejectUnauthorized: tls.rejectUnauthorized,
    files: {},
  };
  const slots = { caFile: 'ca', certFile: 'cert', keyFile: 'key' } as const;
  for (const field of given) {
    const read = readPemFile(tls[field]!, field, context.configDir);
    if (typeof read === 'string') {
      ok = false;
      issues.add(locate(at(field)), `kafka.tls.${field}`, 'tls_file', read);
      continue;
    }
    material[slots[field]] = read.content;
    material.files[slots[field]] = read.path;
  }
  return ok ? material : 'invalid';
}

/** Reads one PEM file relative to the config directory; a string is the problem (never the file's content). */
function readPemFile(
  file: string,
  field: TlsFileField,
  baseDir: string,
): { content: Buffer; path: string } | string {
  const path = isAbsolute(file) ? file : resolve(baseDir, file);
  let content: Buffer;
  try {
    content = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`;
    return `file ${path} ${reason}`;
  }
  const text = content.toString('latin1');
  if (field === 'keyFile' && text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
    return `file ${path} holds an encrypted private key; passphrases are not supported: store it decrypted (e.g. as a mounted secret)`;
  }
  const kind = PEM_KINDS[field];
  if (!kind.marker.test(text)) return `file ${path} is not ${kind.what}`;
  return { content, path };
}

/** `kafka.ssl` became `kafka.tls`: a clear error for the old key (then dropped, so it is not also "unknown"). */
export function removeRenamedKeys(
  data: Record<string, unknown>,
  source: YamlSource,
  issues: IssueList,
): void {
  if (!isRecord(data.kafka) || !('ssl' in data.kafka)) return;
  issues.add(
    source.locate(['kafka', 'ssl'], 'key'),
    'kafka.ssl',
    'renamed_key',
    'kafka.ssl was replaced by kafka.tls: write "tls: {}" for TLS with the system CAs, ' +
      '"tls: { caFile: ca.pem }" for a private CA, or remove the line for plaintext',
  );
  delete data.kafka.ssl;
}

/** A `secretKey` (or SASL `password`) in YAML is an error, reported without its value and then dropped. */
export function removeSecretsFromYaml(
  data: Record<string, unknown>,
  source: YamlSource,
  issues: IssueList,
): void {
  const drop = (container: Record<string, unknown>, path: (string | number)[], names: Set<string>) => {
    for (const key of Object.keys(container)) {
      if (!names.has(key.toLowerCase())) continue;
      issues.add(
        source.locate([...path, key], 'key'),
        [...path, key].join('.'),
        'secret_in_yaml',
        secretMessage(path),
      );
      delete container[key];
    }
  };
  drop(data, [], SECRET_KEY_NAMES);
  if (Array.isArray(data.apps)) {
    data.apps.forEach((app, index) => {
      if (isRecord(app)) drop(app, ['apps', index], SECRET_KEY_NAMES);
    });
  }
  if (isRecord(data.kafka) && isRecord(data.kafka.sasl))
    drop(data.kafka.sasl, ['kafka', 'sasl'], new Set(['password']));
}

function isLoopback(hostname: string): boolean {
  return (
    hostname === 'localhost' || hostname.startsWith('127.') || hostname === '[::1]' || hostname === '::1'
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
