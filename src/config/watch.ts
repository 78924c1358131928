/**
 * The building block of hot reload: tell the caller, debounced, that a configuration file changed. The caller
 * reloads with `loadConfig` (or `loadWatchlists`) and applies the difference; a failed reload keeps the running
 * configuration.
 *
 * Files are watched through their directory, not their inode: editors and Kubernetes ConfigMaps replace files by
 * rename, which ends an inode watch silently.
 */
import { watch, statSync, type FSWatcher } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { LoadedConfig } from './types.js';

export interface WatchConfigOptions {
  /** Called once per burst of changes, with the paths that changed (absolute). */
  onChange: (change: { paths: string[] }) => void;
  /** Quiet time after the last change before `onChange` runs. Default: 250 ms. */
  debounceMs?: number;
  /**
   * Files or directories to watch besides the config file, e.g. `configWatchPaths(config)`.
   * Default: the `watchlists` directory beside the config file.
   */
  paths?: readonly string[];
  /** A watcher failed (e.g. its directory was deleted). Default: ignored. */
  onError?: (error: Error) => void;
}

export interface ConfigWatcher {
  close(): void;
}

/** Every path a loaded configuration was read from: presence.yaml, the watchlist directory, every user file. */
export function configWatchPaths(config: LoadedConfig): string[] {
  return [
    config.configPath,
    config.watchlistsDir,
    ...new Set(config.watchlists.flatMap((list) => list.sources.slice(1))),
  ];
}

/** Watches `configPath` and `options.paths`, calling `onChange` debounced. Call `close()` to stop. */
export function watchConfigFiles(configPath: string, options: WatchConfigOptions): ConfigWatcher {
  const debounceMs = options.debounceMs ?? 250;
  const absoluteConfig = resolve(configPath);
  const targets = [absoluteConfig, ...(options.paths ?? [join(dirname(absoluteConfig), 'watchlists')])];

  // Directory → the names to react to inside it (`undefined` = everything).
  const plan = new Map<string, Set<string> | undefined>();
  for (const target of targets.map((path) => resolve(path))) {
    if (isDirectory(target)) {
      plan.set(target, undefined);
    } else {
      const dir = dirname(target);
      if (plan.has(dir) && plan.get(dir) === undefined) continue;
      const names = plan.get(dir) ?? new Set<string>();
      names.add(basename(target));
      plan.set(dir, names);
    }
  }

  const changed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const flush = () => {
    timer = undefined;
    if (closed) return;
    const paths = [...changed];
    changed.clear();
    options.onChange({ paths });
  };

  const watchers: FSWatcher[] = [];
  for (const [dir, names] of plan) {
    if (!isDirectory(dir)) continue;
    const watcher = watch(dir, { persistent: false }, (_event, filename) => {
      const name = filename?.toString();
      // Kubernetes swaps a ConfigMap's files through a `..data` symlink in the same directory.
      if (names && name !== undefined && !names.has(name) && !name.startsWith('..')) return;
      changed.add(name === undefined ? dir : join(dir, name));
      if (timer) clearTimeout(timer);
      timer = setTimeout(flush, debounceMs);
    });
    watcher.on('error', (error) => options.onError?.(error));
    watchers.push(watcher);
  }

  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
