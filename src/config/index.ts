/**
 * Configuration: YAML files + environment → a validated `LoadedConfig`.
 *
 * - `loadConfig({ configPath, env, cwd })` loads presence.yaml, applies environment overrides, resolves secrets and
 *   every watchlist; it throws a `ConfigError` listing every problem. A reload is `loadConfig` again.
 * - `inspectConfig` is the non-throwing variant for `check-config`; `formatIssues` prints issues.
 * - `loadWatchlists` re-reads only the watchlists; `watchConfigFiles` signals changes (debounced).
 */
export { loadConfig, inspectConfig, redactConfig, type LoadConfigOptions } from './load-config.js';
export { loadWatchlists, type WatchlistsOptions } from './watchlists.js';
export { watchConfigFiles, configWatchPaths, type WatchConfigOptions, type ConfigWatcher } from './watch.js';
export {
  ConfigError,
  formatIssues,
  type ConfigIssue,
  type ConfigLocation,
  type IssueCode,
  type IssueSeverity,
} from './issues.js';
export { ENV_PREFIX } from './env-overrides.js';
export { parseDurationMs, formatDurationMs } from './duration.js';
export { checkUserId, readUserFile, MAX_USER_ID_BYTES } from './user-ids.js';
export { minimumIntervalMs, type CapacityApp } from './capacity.js';
export { REGIONS, REGION_HOSTS, type Region } from './regions.js';
export {
  presenceFileSchema,
  watchlistFileSchema,
  derivePriority,
  type PresenceFile,
  type PresenceFileInput,
  type WatchlistFile,
  type RedisConfig,
  type HttpConfig,
  type LogLevel,
  type SaslMechanism,
} from './schema.js';
export type {
  LoadedConfig,
  LoadedApp,
  LoadedKafka,
  LoadedKafkaTls,
  LoadedDefaults,
  ResolvedWatchlist,
  LoadConfigResult,
  LoadWatchlistsResult,
} from './types.js';
