/**
 * What the no-loss promise needs from the Redis server, read at start: `maxmemory-policy noeviction` (an evicted
 * state record or outbox entry is an event silently lost or invented) and AOF with `appendfsync always` (with
 * `everysec` a crash can lose up to a second of writes Kafka already has, and the next change would reuse a published
 * eventId; without AOF a crash loses everything since the last snapshot). README "Operations" says the same.
 */
import type { Redis } from 'ioredis';
import { serversOf, type RedisClient } from './client.js';

export const DURABILITY_SETTINGS = ['maxmemory-policy', 'appendonly', 'appendfsync'] as const;
export type DurabilitySettings = Partial<Record<(typeof DURABILITY_SETTINGS)[number], string>>;

export interface DurabilityFinding {
  /** `refuse`: events could be lost silently; `warn`: a crash could lose recent writes. */
  severity: 'refuse' | 'warn';
  setting: string;
  value: string;
  message: string;
}

export interface ServerDurability {
  /** `host:port` of the server. */
  server: string;
  settings: DurabilitySettings;
}

/**
 * The settings of every server behind the client (`CONFIG GET`, which managed services may hide: then it rejects):
 * each node of a cluster, since each holds its apps' data alone and may crash alone, or the one Redis.
 */
export async function readDurabilitySettings(redis: RedisClient): Promise<ServerDurability[]> {
  return Promise.all(
    serversOf(redis).map(async (server) => ({
      server: `${server.options.host}:${server.options.port}`,
      settings: await readServerSettings(server),
    })),
  );
}

async function readServerSettings(redis: Redis): Promise<DurabilitySettings> {
  const flat = (await redis.call('CONFIG', 'GET', ...DURABILITY_SETTINGS)) as string[];
  const settings: DurabilitySettings = {};
  for (let index = 0; index + 1 < flat.length; index += 2) {
    const name = flat[index] as (typeof DURABILITY_SETTINGS)[number];
    if ((DURABILITY_SETTINGS as readonly string[]).includes(name)) settings[name] = flat[index + 1]!;
  }
  return settings;
}

export function judgeDurability(settings: DurabilitySettings): DurabilityFinding[] {
  const findings: DurabilityFinding[] = [];
  const policy = settings['maxmemory-policy'];
  if (policy !== undefined && policy !== 'noeviction') {
    findings.push({
      severity: 'refuse',
      setting: 'maxmemory-policy',
      value: policy,
      message: `Redis may evict keys (maxmemory-policy ${policy}): a state record or an outbox entry could vanish and events be lost silently; set maxmemory-policy noeviction`,
    });
  }
  if (settings.appendonly === 'no') {
    findings.push({
      severity: 'warn',
      setting: 'appendonly',
      value: 'no',
      message:
        'Redis runs without AOF (appendonly no): a Redis crash loses every state and unpublished event since the last snapshot; set appendonly yes and appendfsync always',
    });
  } else if (settings.appendfsync !== undefined && settings.appendfsync !== 'always') {
    findings.push({
      severity: 'warn',
      setting: 'appendfsync',
      value: settings.appendfsync,
      message: `Redis fsyncs its AOF ${settings.appendfsync === 'everysec' ? 'once a second' : 'when the OS decides'} (appendfsync ${settings.appendfsync}): a Redis crash can lose writes Kafka already has, and a later event could reuse a published eventId; set appendfsync always`,
    });
  }
  return findings;
}

/** What `redis.waitForReplicas` needs from a server that is a master: WAIT allowed, and that many replicas in sync. */
export interface ServerReplication {
  /** `host:port` of the server. */
  server: string;
  /** `master` or `slave` (`INFO replication`). */
  role: string;
  /** Its replicas in sync (`state=online`). */
  onlineReplicas: number;
  /** Why a master refused `WAIT 0 0` (a managed Redis may rename or disable it); absent when it answered. */
  waitRefused?: string;
}

/** The replication of every server behind the client: each master of a cluster, or the one Redis. */
export async function readReplication(redis: RedisClient): Promise<ServerReplication[]> {
  return Promise.all(
    serversOf(redis).map(async (server) => {
      const info = await server.info('replication');
      const role = /^role:(\w+)/m.exec(info)?.[1] ?? 'unknown';
      const onlineReplicas = (info.match(/^slave\d+:.*state=online/gm) ?? []).length;
      let waitRefused: string | undefined;
      if (role === 'master') {
        await server.call('WAIT', 0, 0).catch((error: Error) => {
          waitRefused = error.message;
        });
      }
      return {
        server: `${server.options.host}:${server.options.port}`,
        role,
        onlineReplicas,
        ...(waitRefused === undefined ? {} : { waitRefused }),
      };
    }),
  );
}

/**
 * A master on which the relay could never publish with `redis.waitForReplicas` (WAIT refused) is refused; one with
 * fewer replicas in sync than that is a warning (replicas may attach later; until then the relay holds its batches).
 */
export function judgeReplication(
  replication: ServerReplication,
  waitForReplicas: number,
): DurabilityFinding[] {
  if (waitForReplicas === 0 || replication.role !== 'master') return [];
  const value = String(waitForReplicas);
  if (replication.waitRefused !== undefined) {
    return [
      {
        severity: 'refuse',
        setting: 'redis.waitForReplicas',
        value,
        message: `Redis refuses WAIT (${replication.waitRefused}): with redis.waitForReplicas ${value} the relay could never publish; allow WAIT or set redis.waitForReplicas: 0`,
      },
    ];
  }
  if (replication.onlineReplicas < waitForReplicas) {
    return [
      {
        severity: 'warn',
        setting: 'redis.waitForReplicas',
        value,
        message: `Redis has ${replication.onlineReplicas} replica(s) in sync, fewer than redis.waitForReplicas ${value}: the relay holds every batch of the apps it holds until that many are`,
      },
    ];
  }
  return [];
}
