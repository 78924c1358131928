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
