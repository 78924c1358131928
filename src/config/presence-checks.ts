/**
 * Rules of presence.yaml that relate fields or entries (region xor endpoint, secrets, unique apps, Kafka topics).
 * Each rule reads only the raw values it needs, so every rule runs even when an unrelated field is invalid.
 */
import { parseDurationMs } from './duration.js';
import { secretMessage } from './env-overrides.js';
import type { IssueList } from './issues.js';
import { REGIONS } from './regions.js';
import { appSchema, kafkaSchema, type AppFile } from './schema.js';
import { resolveSecret } from './secrets.js';
import type { LoadedKafka } from './types.js';
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
  return { name, sdkAppId, parsed, secret, index };
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

export function checkKafka(rawKafka: unknown, context: CheckContext): LoadedKafka | undefined {
  const { locate, issues } = context;
  const result = kafkaSchema.safeParse(rawKafka ?? {});
  if (!result.success) return undefined;
  const kafka = result.data;
  let ok = true;
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
    if (!kafka.ssl) {
      issues.warn(
        locate(['kafka', 'sasl']),
        'kafka.sasl',
        'insecure_sasl',
        'SASL without ssl: true sends credentials over a plaintext connection',
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
  return ok ? { ...kafka, sasl } : undefined;
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
