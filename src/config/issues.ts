/**
 * Configuration problems: one `ConfigIssue` per problem, collected across every file so that `check-config` can
 * report all of them at once, and one `ConfigError` thrown when any of them is an error.
 *
 * Messages never carry secret values: validators describe what is wrong (a type, a format, a missing variable)
 * and echo only short, non-secret values such as enum choices or UserIDs.
 */
import { isAbsolute, relative } from 'node:path';

export type IssueSeverity = 'error' | 'warning';

/** Stable identifiers of each kind of problem, for tests and tooling. */
export type IssueCode =
  | 'yaml_syntax'
  | 'unknown_key'
  | 'invalid_value'
  | 'missing_value'
  | 'secret_in_yaml'
  | 'secret_missing'
  | 'region_endpoint'
  | 'redis_url_cluster'
  | 'redis_cluster_nodes'
  | 'insecure_endpoint'
  | 'trust_without_hints'
  | 'duplicate_app'
  | 'shared_secret_env'
  | 'unknown_app'
  | 'app_required'
  | 'duplicate_watchlist'
  | 'duplicate_topic'
  | 'interval_too_short'
  | 'cap_exceeded'
  | 'cap_headroom'
  | 'file_not_found'
  | 'invalid_user_id'
  | 'user_id_characters'
  | 'duplicate_user_id'
  | 'too_many_issues'
  | 'empty_watchlist'
  | 'no_watchlists'
  | 'insecure_sasl'
  | 'insecure_tls'
  | 'tls_disabled'
  | 'tls_pair'
  | 'tls_file'
  | 'renamed_key'
  | 'short_usersig_ttl'
  | 'unknown_env';

/** Where a problem is. `line`/`column` are 1-based; both are absent when the value came from an environment variable. */
export interface ConfigLocation {
  /** File path relative to the working directory when inside it, otherwise absolute; or `env:NAME` for a variable. */
  file: string;
  line?: number;
  column?: number;
}

export interface ConfigIssue extends ConfigLocation {
  /** Dotted path of the setting inside its file, e.g. `apps.0.region`; `` for the whole file. */
  field: string;
  message: string;
  severity: IssueSeverity;
  code: IssueCode;
}

/** Formats issues one per line as `file:line:col  field  message`, errors before warnings, in file order. */
export function formatIssues(issues: readonly ConfigIssue[]): string {
  return sortIssues(issues)
    .map((issue) => {
      const where =
        issue.line === undefined ? issue.file : `${issue.file}:${issue.line}:${issue.column ?? 1}`;
      const prefix = issue.severity === 'warning' ? 'warning: ' : '';
      return `${where}  ${issue.field || '(file)'}  ${prefix}${issue.message}`;
    })
    .join('\n');
}

/** Errors first, then by file, line and column; stable otherwise. */
export function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const rank = (issue: ConfigIssue) => (issue.severity === 'error' ? 0 : 1);
  return [...issues].sort(
    (a, b) =>
      rank(a) - rank(b) ||
      a.file.localeCompare(b.file) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0),
  );
}

/** Thrown by `loadConfig` / `loadWatchlists` when the configuration has at least one error. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
  readonly retriable = false;
  /** Every problem found, errors and warnings, sorted (errors first). */
  readonly issues: ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const sorted = sortIssues(issues);
    const errors = sorted.filter((issue) => issue.severity === 'error').length;
    const warnings = sorted.length - errors;
    super(
      `Invalid configuration: ${errors} error${errors === 1 ? '' : 's'}` +
        (warnings ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : '') +
        `\n${formatIssues(sorted)}`,
    );
    this.issues = sorted;
  }

  get errors(): ConfigIssue[] {
    return this.issues.filter((issue) => issue.severity === 'error');
  }
}

/** Accumulates issues while the loader walks the files. */
export class IssueList {
  readonly items: ConfigIssue[] = [];

  add(
    location: ConfigLocation,
    field: string,
    code: IssueCode,
    message: string,
    severity: IssueSeverity = 'error',
  ): void {
    this.items.push({ ...location, field, message, severity, code });
  }

  warn(location: ConfigLocation, field: string, code: IssueCode, message: string): void {
    this.add(location, field, code, message, 'warning');
  }

  get hasErrors(): boolean {
    return this.items.some((issue) => issue.severity === 'error');
  }

  warnings(): ConfigIssue[] {
    return sortIssues(this.items.filter((issue) => issue.severity === 'warning'));
  }

  /** Throws a `ConfigError` carrying every issue when any of them is an error. */
  throwIfErrors(): void {
    if (this.hasErrors) throw new ConfigError(this.items);
  }
}

/** How a file is named in issues: relative to `cwd` when inside it, absolute otherwise. */
export function displayPath(absolutePath: string, cwd: string): string {
  const relativePath = relative(cwd, absolutePath);
  return relativePath && !relativePath.startsWith('..') && !isAbsolute(relativePath)
    ? relativePath
    : absolutePath;
}
