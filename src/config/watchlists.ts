/**
 * Watchlists: one YAML file per list in the watchlist directory, members inline and/or in user files. Resolving a
 * list means validating the file, attaching it to its app, reading and checking every UserID, and checking that
 * the app's call cap can sweep every list at its interval.
 *
 * `loadWatchlists` is what a reload calls when only the lists changed; `loadConfig` uses `collectWatchlists`.
 */
import { readdir } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { checkCapacity, type CapacityApp } from './capacity.js';
import { parseDurationMs } from './duration.js';
import { displayPath, IssueList, type ConfigLocation } from './issues.js';
import { derivePriority, watchlistFileSchema, type WatchlistFile } from './schema.js';
import { didYouMean } from './suggest.js';
import type { LoadedDefaults, LoadWatchlistsResult, ResolvedWatchlist } from './types.js';
import { checkUserId, readUserFile, UserFileError } from './user-ids.js';
import { validateSection, yamlLocator } from './validate.js';
import { readYamlSource, type YamlSource } from './yaml-source.js';

/** Per list and per kind (errors, warnings, duplicates): the rest is summarised in one issue. */
const MAX_REPORTED_PER_KIND = 20;

export interface WatchlistsOptions {
  /** The watchlist directory (absolute, or relative to `cwd`). */
  dir: string;
  /** The configured apps; `callsPerSecond` may be unknown when that app's own settings were invalid. */
  apps: readonly CapacityApp[];
  /** When false, some apps could not be named (invalid presence.yaml): unknown-app errors are not reported. */
  appsComplete?: boolean;
  defaults: LoadedDefaults;
  /** The compacted state topic, which no watchlist may publish transitions to. */
  stateTopic?: string;
  cwd?: string;
  /** Where the directory is configured, for a "not found" issue. */
  dirOrigin?: { location: ConfigLocation; field: string };
  /** Where an app's `callsPerSecond` is configured, for cap issues. */
  locateAppCap?: (appName: string) => { location: ConfigLocation; field: string };
}

/**
 * Loads and resolves every watchlist in `options.dir`. Throws a `ConfigError` carrying every problem found when any
 * is an error; otherwise returns the lists (sorted by file name) and the warnings.
 */
export async function loadWatchlists(options: WatchlistsOptions): Promise<LoadWatchlistsResult> {
  const issues = new IssueList();
  const watchlists = await collectWatchlists(options, issues);
  issues.throwIfErrors();
  return { watchlists, warnings: issues.warnings() };
}

/** Like `loadWatchlists` but records problems in `issues` instead of throwing. */
export async function collectWatchlists(
  options: WatchlistsOptions,
  issues: IssueList,
): Promise<ResolvedWatchlist[]> {
  const cwd = options.cwd ?? process.cwd();
  const dir = resolve(cwd, options.dir);
  const dirFile = displayPath(dir, cwd);
  let names: string[];
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    names = entries
      .filter((entry) => (entry.isFile() || entry.isSymbolicLink()) && /\.ya?ml$/i.test(entry.name))
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (error as Error).message;
    issues.add(
      options.dirOrigin?.location ?? { file: dirFile },
      options.dirOrigin?.field ?? '',
      'file_not_found',
      `watchlist directory ${dirFile} ${reason}`,
    );
    return [];
  }
  if (names.length === 0) {
    issues.warn(
      { file: dirFile },
      '',
      'no_watchlists',
      `no watchlist files (*.yaml) in ${dirFile}: nothing will be polled`,
    );
  }

  const resolved: ResolvedWatchlist[] = [];
  const files: { list: ResolvedWatchlist; source: YamlSource; intervalSet: boolean }[] = [];
  const seenNames = new Map<string, string>();
  for (const name of names) {
    const path = join(dir, name);
    const source = await readYamlSource(path, displayPath(path, cwd), issues);
    if (!source) continue;
    const list = await resolveWatchlist(source, options, cwd, seenNames, issues);
    if (list) {
      resolved.push(list);
      files.push({ list, source, intervalSet: isRecord(source.data) && source.data.interval !== undefined });
    }
  }

  checkCapacity(
    files.map(({ list, source, intervalSet }) => ({
      list,
      location: source.locate([intervalSet ? 'interval' : 'name']),
      field: intervalSet ? 'interval' : 'name',
    })),
    options.apps,
    issues,
    options.locateAppCap ?? (() => ({ location: { file: dirFile }, field: '' })),
  );
  return resolved;
}

async function resolveWatchlist(
  source: YamlSource,
  options: WatchlistsOptions,
  cwd: string,
  seenNames: Map<string, string>,
  issues: IssueList,
): Promise<ResolvedWatchlist | undefined> {
  const raw = source.data;
  if (!isRecord(raw)) {
    issues.add(
      source.locate([]),
      '',
      'invalid_value',
      'a watchlist file must be a mapping with at least `name`',
    );
    return undefined;
  }
  const locate = yamlLocator(source, source.file);
  const parsed = validateSection(watchlistFileSchema, raw, { locate, issues });

  // The checks below use the raw values where they can, so that one bad field does not hide problems elsewhere.
  const name = typeof raw.name === 'string' ? raw.name : undefined;
  if (name !== undefined) {
    const firstFile = seenNames.get(name);
    if (firstFile !== undefined) {
      issues.add(
        locate(['name']),
        'name',
        'duplicate_watchlist',
        `watchlist name "${name}" is already used by ${firstFile}`,
      );
    } else {
      seenNames.set(name, source.file);
    }
  }
  const app = resolveApp(raw.app, options, locate, issues);
  if (typeof raw.topic === 'string' && raw.topic === options.stateTopic) {
    issues.add(
      locate(['topic']),
      'topic',
      'duplicate_topic',
      `"${raw.topic}" is the compacted state topic (kafka.topics.state); transitions need another topic`,
    );
  }
  const members = await collectMembers(source, raw, cwd, issues);

  if (!parsed || !app || !members) return undefined;
  if (members.userIds.length === 0) {
    issues.warn(locate(['name']), 'name', 'empty_watchlist', `watchlist "${parsed.name}" has no users`);
  }
  return buildWatchlist(parsed, app, options.defaults, members.userIds, [source.path, ...members.files]);
}

function buildWatchlist(
  parsed: WatchlistFile,
  app: CapacityApp & { sdkAppId: number },
  defaults: LoadedDefaults,
  userIds: string[],
  sources: string[],
): ResolvedWatchlist {
  const intervalMs = parsed.interval === undefined ? defaults.intervalMs : parseDurationMs(parsed.interval)!;
  // Settings the file leaves out take the defaults; every other setting passes through as it is, so a new
  // watchlist setting needs no code here.
  const { interval: _interval, app: _app, users: _users, userFiles: _userFiles, ...settings } = parsed;
  const written = Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined));
  return {
    ...defaults,
    ...(written as typeof settings),
    topic: parsed.topic,
    intervalMs,
    priority: parsed.priority ?? derivePriority(intervalMs),
    app: app.name,
    sdkAppId: app.sdkAppId,
    userIds,
    sources,
  };
}

function resolveApp(
  rawApp: unknown,
  options: WatchlistsOptions,
  locate: ReturnType<typeof yamlLocator>,
  issues: IssueList,
): (CapacityApp & { sdkAppId: number }) | undefined {
  const complete = options.appsComplete ?? true;
  const names = options.apps.map((app) => app.name);
  let app: CapacityApp | undefined;
  if (rawApp === undefined) {
    if (options.apps.length === 1) app = options.apps[0];
    else if (options.apps.length > 1) {
      issues.add(
        locate(['name']),
        'app',
        'app_required',
        `several apps are configured (${names.join(', ')}): say which one with "app:"`,
      );
      return undefined;
    }
  } else if (typeof rawApp === 'string') {
    app = options.apps.find((candidate) => candidate.name === rawApp);
    if (!app && complete) {
      issues.add(
        locate(['app']),
        'app',
        'unknown_app',
        `unknown app "${rawApp}"${didYouMean(rawApp, names)}; configured apps: ${names.join(', ') || '(none)'}`,
      );
    }
  }
  return app && app.sdkAppId !== undefined ? { ...app, sdkAppId: app.sdkAppId } : undefined;
}

/** Reads inline users and user files; reports bad IDs, duplicates and missing files. */
async function collectMembers(
  source: YamlSource,
  raw: Record<string, unknown>,
  cwd: string,
  issues: IssueList,
): Promise<{ userIds: string[]; files: string[] } | undefined> {
  const ids = new Set<string>();
  const counts = { error: 0, warning: 0, duplicate: 0 };
  let failed = false;
  const report = (kind: keyof typeof counts, location: ConfigLocation, field: string, message: string) => {
    counts[kind] += 1;
    if (counts[kind] > MAX_REPORTED_PER_KIND) return;
    if (kind === 'error') issues.add(location, field, 'invalid_user_id', message);
    else if (kind === 'warning') issues.warn(location, field, 'user_id_characters', message);
    else issues.warn(location, field, 'duplicate_user_id', message);
  };
  /** `pointAtCharacter`: the location is the start of the bare ID (a user file line), so the column can move on. */
  const add = (id: string, location: ConfigLocation, field: string, pointAtCharacter: boolean) => {
    const verdict = checkUserId(id);
    const at =
      pointAtCharacter && 'column' in verdict && verdict.column !== undefined
        ? { ...location, column: verdict.column }
        : location;
    if (!verdict.ok) {
      failed = true;
      report('error', at, field, verdict.error);
      return;
    }
    if (verdict.warning) report('warning', at, field, verdict.warning);
    if (ids.has(id))
      report(
        'duplicate',
        location,
        field,
        `duplicate UserID ${JSON.stringify(id)}; later copies are ignored`,
      );
    else ids.add(id);
  };

  if (Array.isArray(raw.users)) {
    raw.users.forEach((id, index) => {
      if (typeof id !== 'string') return; // reported by the schema
      add(id, source.locate(['users', index]), `users.${index}`, false);
    });
  }

  const files: string[] = [];
  if (Array.isArray(raw.userFiles)) {
    for (const [index, entry] of raw.userFiles.entries()) {
      if (typeof entry !== 'string' || entry.length === 0) continue;
      const path = isAbsolute(entry) ? entry : resolve(dirname(source.path), entry);
      const file = displayPath(path, cwd);
      const field = `userFiles.${index}`;
      try {
        await readUserFile(path, (id, line) => add(id, { file, line, column: 1 }, field, true));
        files.push(path);
      } catch (error) {
        failed = true;
        if (error instanceof UserFileError) {
          const location =
            error.line === undefined ? source.locate(['userFiles', index]) : { file, line: error.line };
          issues.add(location, field, 'invalid_value', `user file ${file} ${error.message}`);
          continue;
        }
        const code = (error as NodeJS.ErrnoException).code;
        const reason =
          code === 'ENOENT' ? 'not found' : code === 'EISDIR' ? 'is a directory' : (error as Error).message;
        issues.add(
          source.locate(['userFiles', index]),
          field,
          'file_not_found',
          `user file ${file} ${reason}`,
        );
      }
    }
  }

  const listName = typeof raw.name === 'string' ? `watchlist "${raw.name}"` : source.file;
  for (const kind of ['error', 'warning', 'duplicate'] as const) {
    const hidden = counts[kind] - MAX_REPORTED_PER_KIND;
    if (hidden <= 0) continue;
    const what = {
      error: 'invalid UserIDs',
      warning: 'UserIDs with unusual characters',
      duplicate: 'duplicate UserIDs',
    }[kind];
    issues.add(
      source.locate(['name']),
      'users',
      'too_many_issues',
      `${hidden} more ${what} in ${listName} not shown (${counts[kind]} in total)`,
      kind === 'error' ? 'error' : 'warning',
    );
  }
  return failed ? undefined : { userIds: [...ids], files };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
