/**
 * `loadConfig`: presence.yaml + environment overrides + secrets + every watchlist, validated together. Every problem
 * is collected before anything is thrown, so one run of `check-config` lists them all. A reload is `loadConfig` again.
 */
import { dirname, resolve } from 'node:path';
import type { CapacityApp } from './capacity.js';
import { parseDurationMs } from './duration.js';
import { applyEnvOverrides, envOriginOf } from './env-overrides.js';
import { ConfigError, displayPath, IssueList, type ConfigIssue } from './issues.js';
import {
  checkApp,
  checkAppSet,
  checkKafka,
  checkRedis,
  removeRenamedKeys,
  removeSecretsFromYaml,
  type CheckedApp,
} from './presence-checks.js';
import { REGION_HOSTS, type Region } from './regions.js';
import { defaultsSchema, presenceFileSchema, type AppFile, type PresenceFile } from './schema.js';
import type { LoadConfigResult, LoadedApp, LoadedConfig, LoadedDefaults, LoadedKafka } from './types.js';
import { validateSection, type Locator } from './validate.js';
import { collectWatchlists } from './watchlists.js';
import { readYamlSource } from './yaml-source.js';

export interface LoadConfigOptions {
  /** Path of presence.yaml, absolute or relative to `cwd`. */
  configPath: string;
  /** Environment for overrides and secrets. Default: `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Base for relative paths, and files in issues are shown relative to it. Default: `process.cwd()`. */
  cwd?: string;
}

/**
 * Loads and validates the whole configuration. Resolves with the config and the warnings, or rejects with a
 * `ConfigError` whose `issues` list every problem (errors and warnings) with file, line and column.
 */
export async function loadConfig(options: LoadConfigOptions): Promise<LoadConfigResult> {
  const { config, issues } = await inspectConfig(options);
  if (!config) throw new ConfigError(issues);
  return { config, warnings: issues };
}

/**
 * Like `loadConfig` but never throws for configuration problems: returns every issue and, when there is no error,
 * the config. This is what `check-config` wants.
 */
export async function inspectConfig(
  options: LoadConfigOptions,
): Promise<{ config: LoadedConfig | undefined; issues: ConfigIssue[] }> {
  const issues = new IssueList();
  const config = await collectConfig(options, issues);
  const sorted = new ConfigError(issues.items).issues;
  return {
    config: issues.hasErrors ? undefined : config,
    issues: issues.hasErrors ? sorted : issues.warnings(),
  };
}

async function collectConfig(
  options: LoadConfigOptions,
  issues: IssueList,
): Promise<LoadedConfig | undefined> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const configPath = resolve(cwd, options.configPath);
  const configDir = dirname(configPath);
  const source = await readYamlSource(configPath, displayPath(configPath, cwd), issues);
  if (!source) return undefined;

  const raw = source.data ?? {};
  if (!isRecord(raw)) {
    issues.add(
      source.locate([]),
      '',
      'invalid_value',
      'presence.yaml must be a mapping (apps, redis, kafka, ...)',
    );
    return undefined;
  }
  const data = structuredClone(raw);
  removeSecretsFromYaml(data, source, issues);
  removeRenamedKeys(data, source, issues);
  const overrides = applyEnvOverrides(data, env, issues);
  const locate: Locator = (path, part) => {
    const origin = envOriginOf(overrides, path);
    return origin ? { file: `env:${origin.variable}` } : source.locate(path, part);
  };

  const parsed = validateSection(presenceFileSchema, data, { locate, issues });

  const rawApps = Array.isArray(data.apps) ? data.apps : [];
  const apps = rawApps.map((rawApp, index) => checkApp(rawApp, index, { locate, issues, env, configDir }));
  checkAppSet(apps, locate, issues);
  const kafka = checkKafka(data.kafka, { locate, issues, env, configDir });
  checkRedis(data.redis, { locate, issues });

  const defaultsResult = defaultsSchema.safeParse(data.defaults ?? {});
  const defaults = toLoadedDefaults(defaultsResult.success ? defaultsResult.data : defaultsSchema.parse({}));
  const rawDir =
    isRecord(data.watchlists) && typeof data.watchlists.dir === 'string' ? data.watchlists.dir : 'watchlists';
  const watchlistsDir = resolve(configDir, rawDir);

  const capacityApps: CapacityApp[] = apps.flatMap((app) =>
    app.name === undefined
      ? []
      : [{ name: app.name, sdkAppId: app.sdkAppId, callsPerSecond: app.parsed?.callsPerSecond }],
  );
  const watchlists = await collectWatchlists(
    {
      dir: watchlistsDir,
      apps: capacityApps,
      appsComplete: parsed !== undefined || apps.every((app) => app.name !== undefined),
      defaults,
      stateTopic: kafka?.topics.state,
      cwd,
      dirOrigin: { location: locate(['watchlists', 'dir']), field: 'watchlists.dir' },
      locateAppCap: (name) => {
        const index = apps.findIndex((app) => app.name === name);
        const set = isRecord(rawApps[index]) && rawApps[index].callsPerSecond !== undefined;
        const path = set ? ['apps', index, 'callsPerSecond'] : ['apps', index];
        return { location: locate(path), field: path.join('.') };
      },
    },
    issues,
  );

  if (!parsed || issues.hasErrors || !kafka) return undefined;
  return buildConfig(parsed, apps, kafka, defaults, configPath, watchlistsDir, watchlists);
}

function buildConfig(
  parsed: PresenceFile,
  apps: readonly CheckedApp[],
  kafka: LoadedKafka,
  defaults: LoadedDefaults,
  configPath: string,
  watchlistsDir: string,
  watchlists: LoadedConfig['watchlists'],
): LoadedConfig {
  return {
    configPath,
    apps: parsed.apps.map((app, index) => toLoadedApp(app, apps[index]!)),
    redis: parsed.redis,
    kafka,
    defaults,
    http: parsed.http,
    webhook: parsed.webhook,
    poller: parsed.poller,
    heartbeat: { intervalMs: parseDurationMs(parsed.heartbeat.interval)! },
    watchlistsDir,
    maxRemovedShare: parsed.watchlists.maxRemovedShare,
    logLevel: parsed.logLevel,
    watchlists,
  };
}

function toLoadedApp(app: AppFile, checked: CheckedApp): LoadedApp {
  const region = app.region as Region | undefined;
  const endpoint = region ? `https://${REGION_HOSTS[region].host}` : trimBaseUrl(app.endpoint!);
  return {
    name: checked.name!,
    sdkAppId: app.sdkAppId,
    region,
    endpoint,
    backupEndpoint: region ? `https://${REGION_HOSTS[region].backupHost}` : undefined,
    identifier: app.identifier,
    secretKey: checked.secret!.value,
    secretKeySource: checked.secret!.source,
    userSigTtlSeconds: Math.floor(parseDurationMs(app.userSigTtl)! / 1_000),
    callsPerSecond: app.callsPerSecond,
    callMargin: app.callMargin,
    requestTimeoutMs: parseDurationMs(app.requestTimeout)!,
    connections: app.connections,
    callbackToken: checked.callbackToken,
    hintShare: app.hintShare,
    trustCallbacks: app.trustCallbacks,
    maxAnswerBytes: app.maxAnswerBytes,
  };
}

function toLoadedDefaults(defaults: PresenceFile['defaults']): LoadedDefaults {
  // Every other default passes through as it is: a new watchlist setting with a default needs no code here.
  const { interval, ...settings } = defaults;
  return { ...settings, intervalMs: parseDurationMs(interval)! };
}

/** A copy of `config` safe to print: secret values replaced by `[redacted]`, member lists by their size. */
export function redactConfig(config: LoadedConfig): unknown {
  return {
    ...config,
    apps: config.apps.map((app) => ({ ...app, secretKey: '[redacted]' })),
    kafka: {
      ...config.kafka,
      sasl: config.kafka.sasl && { ...config.kafka.sasl, password: '[redacted]' },
      // The PEM contents by their files: the key is a secret and the certificates are only noise.
      tls: config.kafka.tls && {
        rejectUnauthorized: config.kafka.tls.rejectUnauthorized,
        ...config.kafka.tls.files,
      },
    },
    watchlists: config.watchlists.map(({ userIds, ...list }) => ({ ...list, users: userIds.length })),
  };
}

function trimBaseUrl(text: string): string {
  const url = new URL(text);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
