/**
 * Hot reload of the watchlists: on a change to any configuration file (debounced) and on SIGHUP, load the whole
 * configuration again. A valid one has its watchlists applied (`service.applyWatchlists`: Redis diff, snapshot
 * events for added users, untracked events for removed ones, schedulers reconciled). An invalid one is refused
 * with every issue logged, and the running set stays. Other settings (apps, Redis, Kafka, HTTP, log level) are
 * only compared and reported as "restart required": swapping connections under running workers is not worth
 * the risk. Reloads never overlap: a trigger during a reload queues one more reload, and further triggers join it.
 *
 * A reload that would remove more than `watchlists.maxRemovedShare` of a list's members (emptying it included) is
 * refused and the running set stays (removal-guard.ts): a user file read half-written must not untrack everyone.
 * The share is the reloaded configuration's, so setting it to 1 in the same edit allows a large removal.
 */
import type { EventEmitter } from 'node:events';
import {
  ConfigError,
  configWatchPaths,
  formatIssues,
  loadConfig,
  watchConfigFiles,
  type ConfigWatcher,
  type LoadedConfig,
  type ResolvedWatchlist,
} from './index.js';
import { digestMembers, removalsOverShare, type MemberDigests } from './removal-guard.js';
import type { FlowEvents } from '../ops/flow-events.js';
import type { Logger } from '../ops/logger.js';

/** What applying watchlists reports per app (the state module's sync report fits it). */
export interface AppliedWatchlists {
  /** False when Redis already held exactly these watchlists. */
  changed: boolean;
}

export type ReloadOutcomeName = 'applied' | 'unchanged' | 'rejected' | 'refused' | 'failed';

export interface ReloadOutcome {
  outcome: ReloadOutcomeName;
  /** One per app, for `applied` and `unchanged`. */
  reports?: AppliedWatchlists[];
  /** Sections that differ from the running config and need a restart. */
  restartRequired: string[];
}

export interface ConfigReloaderOptions {
  /** Path of presence.yaml as given at start (relative to `cwd`). */
  configPath: string;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  /** The configuration the service started with: the baseline for "restart required". */
  running: LoadedConfig;
  service: { applyWatchlists(watchlists: readonly ResolvedWatchlist[]): Promise<AppliedWatchlists[]> };
  logger: Logger;
  events: FlowEvents;
  /** Watch the files. Default true. */
  watch?: boolean;
  /** Quiet time after the last file change. Default 250 ms. */
  debounceMs?: number;
  /** Signal that triggers a reload; `false` for none. Default SIGHUP. */
  signal?: NodeJS.Signals | false;
  /** Where the signal comes from. Default `process`. */
  emitter?: EventEmitter;
}

export interface ConfigReloader {
  /** Reloads now (serialized with every other trigger). */
  reload(trigger: string): Promise<ReloadOutcome>;
  /** Stops watching and listening; waits for a reload in progress. */
  close(): Promise<void>;
}

/** Sections of the running config that a reload does not apply. */
const RESTART_SECTIONS = ['apps', 'redis', 'kafka', 'http', 'logLevel'] as const;

export function createConfigReloader(options: ConfigReloaderOptions): ConfigReloader {
  const { logger, events, running } = options;
  const emitter = options.emitter ?? process;
  const signal = options.signal ?? 'SIGHUP';
  let watcher: ConfigWatcher | undefined;
  let closed = false;
  let tail: Promise<unknown> = Promise.resolve();
  let queued: Promise<ReloadOutcome> | undefined;
  // The members last applied, taken now: the caller may drop the running lists from memory once synced.
  let applied: MemberDigests = digestMembers(running.watchlists);

  const watch = (config: LoadedConfig) => {
    if (options.watch === false || closed) return;
    watcher?.close();
    watcher = watchConfigFiles(config.configPath, {
      paths: configWatchPaths(config).slice(1),
      ...(options.debounceMs !== undefined ? { debounceMs: options.debounceMs } : {}),
      onChange: ({ paths }) => void reload(`file change: ${paths.join(', ')}`),
      onError: (error) => logger.warn({ err: error }, 'config watcher failed; SIGHUP still reloads'),
    });
  };
  const onSignal = () => void reload(String(signal));
  if (signal) emitter.on(signal, onSignal);
  watch(running);

  function reload(trigger: string): Promise<ReloadOutcome> {
    if (queued) return queued;
    const next = tail.then(() => {
      queued = undefined;
      return reloadOnce(trigger);
    });
    queued = next;
    tail = next.catch(() => undefined);
    return next;
  }

  async function reloadOnce(trigger: string): Promise<ReloadOutcome> {
    let config: LoadedConfig;
    try {
      const result = await loadConfig({ configPath: options.configPath, cwd: options.cwd, env: options.env });
      config = result.config;
      if (result.warnings.length > 0) {
        logger.warn({ trigger }, `config reload warnings:\n${formatIssues(result.warnings)}`);
      }
    } catch (error) {
      if (error instanceof ConfigError) {
        events.emit('configReloaded', { outcome: 'rejected' });
        logger.error(
          { trigger, errors: error.errors.length },
          `config reload rejected, the running watchlists stay:\n${formatIssues(error.issues)}`,
        );
        return { outcome: 'rejected', restartRequired: [] };
      }
      events.emit('configReloaded', { outcome: 'failed' });
      logger.error({ err: error, trigger }, 'config reload failed, the running watchlists stay');
      return { outcome: 'failed', restartRequired: [] };
    }

    const restartRequired = changedSections(running, config);
    if (restartRequired.length > 0) {
      logger.warn(
        { trigger, sections: restartRequired },
        `restart required: changes to ${restartRequired.join(', ')} are not applied by a reload`,
      );
    }
    const nextMembers = digestMembers(config.watchlists);
    const over = removalsOverShare(applied, nextMembers, config.maxRemovedShare);
    if (over.length > 0) {
      events.emit('configReloaded', { outcome: 'refused' });
      logger.error(
        { trigger, lists: over, maxRemovedShare: config.maxRemovedShare },
        `config reload refused, the running watchlists stay: it would remove ${over
          .map((list) => `${list.removed} of ${list.members} members of "${list.watchlist}"`)
          .join(
            ', ',
          )}, more than watchlists.maxRemovedShare (${config.maxRemovedShare}); if that is meant, ` +
          'set watchlists.maxRemovedShare: 1 for this reload',
      );
      return { outcome: 'refused', restartRequired };
    }
    let reports: AppliedWatchlists[];
    try {
      reports = await options.service.applyWatchlists(config.watchlists);
    } catch (error) {
      events.emit('configReloaded', { outcome: 'failed' });
      logger.error(
        { err: error, trigger },
        'applying the reloaded watchlists failed; the next reload retries',
      );
      return { outcome: 'failed', restartRequired };
    }
    applied = nextMembers;
    const outcome: ReloadOutcomeName = reports.some((report) => report.changed) ? 'applied' : 'unchanged';
    events.emit('configReloaded', { outcome });
    logger.info(
      { trigger, outcome, reports, watchlists: config.watchlists.map((list) => list.name) },
      outcome === 'applied' ? 'config reloaded: watchlists applied' : 'config reloaded: watchlists unchanged',
    );
    // The set of user files may have changed: watch what this configuration reads.
    watch(config);
    return { outcome, reports, restartRequired };
  }

  return {
    reload,
    async close() {
      closed = true;
      if (signal) emitter.off(signal, onSignal);
      watcher?.close();
      await tail;
    },
  };
}

/** Names of the sections that differ (secrets compared, never printed). */
export function changedSections(running: LoadedConfig, next: LoadedConfig): string[] {
  return RESTART_SECTIONS.filter(
    (section) => JSON.stringify(running[section]) !== JSON.stringify(next[section]),
  );
}
