import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

// No Docker engine runs here, so the compose file is checked against what the code and scripts expect.
const root = resolve(import.meta.dirname, '../..');
interface Service {
  image?: string;
  build?: string;
  command?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, unknown>;
  volumes?: string[];
}
const compose = parse(readFileSync(resolve(root, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, Service>;
};
const services = compose.services;

function service(name: string): Service {
  const found = services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}

describe('docker-compose.yml', () => {
  it('runs the Kafka version that the local scripts resolve from Maven', () => {
    const pom = readFileSync(resolve(root, 'scripts/kafka/pom.xml'), 'utf8');
    const version = /<kafka.version>(.+)<\/kafka.version>/.exec(pom)?.[1];
    expect(service('kafka').image).toBe(`apache/kafka:${version}`);
  });

  it('gives Kafka the complete single-node KRaft settings (the image drops its defaults once any is set)', () => {
    const env = service('kafka').environment ?? {};
    for (const key of [
      'KAFKA_NODE_ID',
      'KAFKA_PROCESS_ROLES',
      'KAFKA_CONTROLLER_QUORUM_VOTERS',
      'KAFKA_LISTENERS',
      'KAFKA_ADVERTISED_LISTENERS',
      'KAFKA_LISTENER_SECURITY_PROTOCOL_MAP',
      'KAFKA_CONTROLLER_LISTENER_NAMES',
      'KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR',
      'KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR',
      'KAFKA_TRANSACTION_STATE_LOG_MIN_ISR',
    ]) {
      expect(env, key).toHaveProperty(key);
    }
    expect(env.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR).toBe('1');
    expect(env.KAFKA_ADVERTISED_LISTENERS).toContain('localhost:9092');
    expect(service('kafka').ports).toContain('9092:9092');
  });

  it('runs Redis with AOF and noeviction, as BullMQ and the no-lost-transition invariant need', () => {
    const command = service('redis').command ?? [];
    expect(command.join(' ')).toContain('--appendonly yes');
    expect(command.join(' ')).toContain('--maxmemory-policy noeviction');
  });

  it('points the poller at the compose services through the documented environment overrides', () => {
    const poller = service('poller');
    const env = poller.environment ?? {};
    const kafkaInternal = /INTERNAL:\/\/kafka:(\d+)/.exec(
      service('kafka').environment?.KAFKA_ADVERTISED_LISTENERS ?? '',
    )?.[1];
    expect(env.KAFKA_BROKERS).toBe(`kafka:${kafkaInternal}`);
    expect(env.REDIS_URL).toBe('redis://redis:6379');
    const simulatorPort = service('simulator').command?.[service('simulator').command!.indexOf('--port') + 1];
    expect(env.PRESENCE__APPS__0__ENDPOINT).toBe(`http://simulator:${simulatorPort}`);
    expect(Object.keys(poller.depends_on ?? {}).sort()).toEqual(['kafka', 'redis', 'simulator']);
    expect(env.TENCENT_IM_SECRET_KEY).toBeDefined();
  });

  it('mounts the demo configuration into the poller: the image carries none of its own', () => {
    expect(service('poller').volumes).toContain('./config:/app/config:ro');
    expect(readFileSync(resolve(root, 'Dockerfile'), 'utf8')).not.toMatch(/^COPY config/m);
  });
});
