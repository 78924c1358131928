/**
 * The configuration as the rest of the service sees it: validated, defaults applied, durations in milliseconds (or
 * seconds where the consumer wants seconds), secrets resolved, watchlists resolved to their members.
 * Each module should receive only its slice (`config.redis`, `config.apps[i]`, ...).
 */
import type { ConfigIssue } from './issues.js';
import type { Region } from './regions.js';
import type { WatchlistSettings } from '../vocabulary.js';
import type {
  DefaultsFile,
  HttpConfig,
  KafkaFile,
  LogLevel,
  PresenceFile,
  RedisConfig,
  SaslMechanism,
  WebhookConfig,
} from './schema.js';

export interface LoadedApp {
  /** `apps[].name`, default the SDKAppID as a string. */
  name: string;
  sdkAppId: number;
  /** The region when one was configured; `undefined` with an explicit endpoint. */
  region: Region | undefined;
  /** Base URL of the REST API without a trailing slash, e.g. `https://console.tim.qq.com`. */
  endpoint: string;
  /** The region's backup host as a base URL; `undefined` with an explicit endpoint. */
  backupEndpoint: string | undefined;
  /** Admin UserID the UserSig is made for. */
  identifier: string;
  /** The app secret key. Never log it; see `redactConfig`. */
  secretKey: string;
  /** Where the key came from, e.g. `env TENCENT_IM_SECRET_KEY` or `file /run/secrets/im` (safe to log). */
  secretKeySource: string;
  userSigTtlSeconds: number;
  /** Cap on calls per second for this app across all processes. */
  callsPerSecond: number;
  /** Share of the cap left unused against jitter after a call starts (the pacer's safety margin). */
  callMargin: number;
  requestTimeoutMs: number;
  /** Keep-alive connections per process. */
  connections: number;
  /** The callback-authentication token (a secret: never log it); `undefined`: callbacks are not signed. */
  callbackToken: string | undefined;
  /** Share of the cap that hint calls (users named by callbacks) may take; 0 turns hints off. */
  hintShare: number;
  /** Publish Login / Logout callbacks as states at once, before the hint call confirms them. */
  trustCallbacks: boolean;
  /** Largest answer body accepted; a larger one is refused as malformed while it arrives. */
  maxAnswerBytes: number;
}

/** TLS to the brokers with the PEM files already read (at load time, so a missing file is a config error). */
export interface LoadedKafkaTls {
  /** CA certificates that verify the brokers; `undefined` for the system CAs. */
  ca: Buffer | undefined;
  /** Client certificate for mutual TLS (always together with `key`). */
  cert: Buffer | undefined;
  /** Private key of `cert`. A secret: never log it; see `redactConfig`. */
  key: Buffer | undefined;
  rejectUnauthorized: boolean;
  /** Absolute paths the material was read from (safe to log). */
  files: { ca?: string; cert?: string; key?: string };
}

export interface LoadedKafka extends Omit<KafkaFile, 'sasl' | 'tls' | 'linger'> {
  /** `kafka.linger` in ms. */
  lingerMs: number;
  sasl: { mechanism: SaslMechanism; username: string; password: string } | undefined;
  /** `undefined`: plaintext. */
  tls: LoadedKafkaTls | undefined;
}

/** The watchlist settings a `defaults` section provides, its interval in ms (the schema decides which). */
export type LoadedDefaults = Omit<DefaultsFile, 'interval'> & Pick<WatchlistSettings, 'intervalMs'>;

/** A watchlist file resolved: its settings (defaults applied), its app and its members. */
export interface ResolvedWatchlist extends WatchlistSettings {
  /** Name of the app (`LoadedApp.name`). */
  app: string;
  sdkAppId: number;
  /** Members, deduplicated, in order of appearance (inline `users` first, then each user file). */
  userIds: string[];
  /** Absolute paths this list was read from: the watchlist file, then its user files. */
  sources: string[];
}

export interface LoadedConfig {
  /** Absolute path of presence.yaml. */
  configPath: string;
  apps: LoadedApp[];
  redis: RedisConfig;
  kafka: LoadedKafka;
  defaults: LoadedDefaults;
  http: HttpConfig;
  /** The webhook role's server and bounds. */
  webhook: WebhookConfig;
  /** `poller`: the settings of this process's poller role. */
  poller: PresenceFile['poller'];
  /** How often the relay publishes each app's heartbeat, in ms (0: never). */
  heartbeat: { intervalMs: number };
  /** Absolute path of the watchlist directory. */
  watchlistsDir: string;
  /** `watchlists.maxRemovedShare`: the largest share of a list's members one reload may remove. */
  maxRemovedShare: number;
  logLevel: LogLevel;
  watchlists: ResolvedWatchlist[];
}

export interface LoadConfigResult {
  config: LoadedConfig;
  /** Problems that do not stop the service (sorted). */
  warnings: ConfigIssue[];
}

export interface LoadWatchlistsResult {
  watchlists: ResolvedWatchlist[];
  /** Problems that do not stop the service (sorted). */
  warnings: ConfigIssue[];
}
