/**
 * Environment overrides for `presence.yaml` (12-factor). Precedence, lowest first:
 *
 *   1. schema defaults
 *   2. presence.yaml
 *   3. the conveniences `REDIS_URL` (→ redis.url) and `KAFKA_BROKERS` (→ kafka.brokers, comma-separated)
 *   4. `PRESENCE__<PATH>` with `__` between path segments, segments matched case-insensitively, list indexes as
 *      numbers: `PRESENCE__REDIS__URL`, `PRESENCE__KAFKA__BROKERS=a:9092,b:9092`,
 *      `PRESENCE__APPS__0__CALLSPERSECOND=100`, `PRESENCE__DEFAULTS__DETAIL=true`.
 *
 * Values are coerced to the field's type (numbers, booleans as true/false/1/0/yes/no/on/off, string lists split on
 * commas) and then validated exactly like file values; problems name the variable. An empty variable counts as unset.
 * Watchlist files are data, not deployment settings, and are not overridden.
 */
import type { IssueList } from './issues.js';
import { presenceFileSchema } from './schema.js';
import { childSchema, leafKind, objectKeys, unwrapSchema } from './schema-walk.js';
import { didYouMean } from './suggest.js';
import type { ConfigPath } from './yaml-source.js';

export const ENV_PREFIX = 'PRESENCE__';

/** An environment variable that set the value at `path`. */
export interface EnvOverride {
  variable: string;
  path: (string | number)[];
}

const CONVENIENCES: readonly EnvOverride[] = [
  { variable: 'REDIS_URL', path: ['redis', 'url'] },
  { variable: 'KAFKA_BROKERS', path: ['kafka', 'brokers'] },
];

const MAX_LIST_INDEX = 999;

/**
 * Applies every override in `env` to `data` (a copy of the parsed presence.yaml, modified in place) and returns the
 * overrides applied, in application order.
 */
export function applyEnvOverrides(
  data: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
  issues: IssueList,
): EnvOverride[] {
  const applied: EnvOverride[] = [];
  const apply = (override: EnvOverride, text: string) => {
    const field = childSchemaAt(override.path);
    const value = field ? coerce(text, field) : text;
    setPath(data, override.path, value);
    applied.push(override);
  };

  for (const convenience of CONVENIENCES) {
    const text = env[convenience.variable];
    if (text) apply(convenience, text);
  }

  const resolved = Object.keys(env)
    .filter((name) => name.toUpperCase().startsWith(ENV_PREFIX) && env[name])
    .sort()
    .flatMap((variable) => {
      const path = resolveEnvPath(variable, issues);
      return path ? [{ variable, path }] : [];
    })
    // Index order, numbers as numbers: APPS__2 extends a list only after APPS__1 did (10 sorts after 9).
    .sort((a, b) => comparePaths(a.path, b.path));
  for (const override of resolved) {
    if (withinLists(data, override, issues)) apply(override, env[override.variable]!);
  }
  return applied;
}

/**
 * A list index may name an existing entry or the next new one, never leave a hole: `PRESENCE__APPS__2__…` with one
 * app configured would make an app of nothing at index 1.
 */
function withinLists(data: Record<string, unknown>, override: EnvOverride, issues: IssueList): boolean {
  let container: unknown = data;
  for (const [index, segment] of override.path.entries()) {
    if (typeof segment === 'number') {
      const length = Array.isArray(container) ? container.length : 0;
      if (segment > length) {
        const list = override.path.slice(0, index).join('.');
        issues.add(
          { file: `env:${override.variable}` },
          override.path.slice(0, index + 1).join('.'),
          'unknown_env',
          `index ${segment} is past the end of ${list} (${length} entr${length === 1 ? 'y' : 'ies'}): ` +
            `a new entry takes index ${length}`,
        );
        return false;
      }
    }
    container =
      typeof container === 'object' && container !== null
        ? (container as Record<string | number, unknown>)[segment]
        : undefined;
  }
  return true;
}

function comparePaths(a: readonly (string | number)[], b: readonly (string | number)[]): number {
  for (let index = 0; index < Math.min(a.length, b.length); index += 1) {
    const [x, y] = [a[index]!, b[index]!];
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return a.length - b.length;
}

/** The override that set the value at `path` or one of its ancestors, if any (the last applied wins). */
export function envOriginOf(overrides: readonly EnvOverride[], path: ConfigPath): EnvOverride | undefined {
  for (let index = overrides.length - 1; index >= 0; index -= 1) {
    const override = overrides[index]!;
    if (override.path.length <= path.length && override.path.every((segment, at) => segment === path[at])) {
      return override;
    }
  }
  return undefined;
}

function resolveEnvPath(variable: string, issues: IssueList): (string | number)[] | undefined {
  const location = { file: `env:${variable}` };
  const segments = variable.slice(ENV_PREFIX.length).split('__');
  const path: (string | number)[] = [];
  let schema: Parameters<typeof childSchema>[0] | undefined = presenceFileSchema;
  for (const segment of segments) {
    const keys = objectKeys(schema!);
    if (keys) {
      const key = keys.find((candidate) => candidate.toLowerCase() === segment.toLowerCase());
      if (!key) {
        const secret = isSecretSegment(path, segment);
        issues.add(
          location,
          [...path, segment.toLowerCase()].join('.'),
          secret ? 'secret_in_yaml' : 'unknown_env',
          secret
            ? secretMessage(path)
            : `no setting "${segment}" here${didYouMean(segment, keys)}; allowed: ${keys.join(', ')}`,
        );
        return undefined;
      }
      path.push(key);
    } else if (/^\d+$/.test(segment) && Number(segment) <= MAX_LIST_INDEX && leafKind(schema!) === 'other') {
      path.push(Number(segment));
    } else {
      issues.add(
        location,
        path.join('.'),
        'unknown_env',
        `"${segment}" does not name a setting inside ${path.join('.')}`,
      );
      return undefined;
    }
    schema = childSchema(schema!, path[path.length - 1]!);
  }
  if (schema && leafKind(schema) === 'other') {
    issues.add(
      location,
      path.join('.'),
      'unknown_env',
      `must name a single setting, e.g. ${ENV_PREFIX}APPS__0__CALLSPERSECOND or ${ENV_PREFIX}KAFKA__BROKERS`,
    );
    return undefined;
  }
  return path;
}

function isSecretSegment(path: readonly (string | number)[], segment: string): boolean {
  const lower = segment.toLowerCase();
  if (path[0] === 'apps') return lower === 'secretkey';
  return path[0] === 'kafka' && path[1] === 'sasl' && lower === 'password';
}

/** The message for a secret found where settings live (a YAML key or a PRESENCE__ variable). */
export function secretMessage(path: readonly (string | number)[]): string {
  if (path[0] === 'kafka') {
    return 'the SASL password is never read from configuration: put it in the environment variable named by passwordEnv (default KAFKA_SASL_PASSWORD)';
  }
  return 'the secret key is never read from configuration: put it in the environment variable named by secretKeyEnv (default TENCENT_IM_SECRET_KEY) or in the file named by secretKeyFile';
}

function childSchemaAt(path: readonly (string | number)[]) {
  let schema: Parameters<typeof childSchema>[0] | undefined = presenceFileSchema;
  for (const segment of path) schema = schema ? childSchema(schema, segment) : undefined;
  return schema ? unwrapSchema(schema) : undefined;
}

function coerce(text: string, schema: Parameters<typeof leafKind>[0]): unknown {
  const trimmed = text.trim();
  switch (leafKind(schema)) {
    case 'number':
      return /^[+-]?\d+(?:\.\d+)?$/.test(trimmed) ? Number(trimmed) : trimmed;
    case 'boolean': {
      const lower = trimmed.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(lower)) return true;
      if (['false', '0', 'no', 'off'].includes(lower)) return false;
      return trimmed;
    }
    case 'string-list':
      return trimmed
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part.length > 0);
    default:
      return trimmed;
  }
}

function setPath(data: Record<string, unknown>, path: readonly (string | number)[], value: unknown): void {
  let container: Record<string | number, unknown> = data;
  for (const [index, segment] of path.entries()) {
    if (index === path.length - 1) {
      container[segment] = value;
      return;
    }
    const next = container[segment];
    const wantArray = typeof path[index + 1] === 'number';
    if (typeof next !== 'object' || next === null || Array.isArray(next) !== wantArray) {
      container[segment] = wantArray ? [] : {};
    }
    container = container[segment] as Record<string | number, unknown>;
  }
}
