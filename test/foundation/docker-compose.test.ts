import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseDurationMs } from '../../src/config/duration.js';
import { httpSchema } from '../../src/config/schema.js';
import { DEFAULT_SHUTDOWN_OPTIONS } from '../../src/ops/shutdown.js';
import { findFreePort } from '../helpers/ports.js';
import { WORKER_NODE_FLAGS } from '../../bench/worker-flags.js';

// No Docker engine runs here, so the compose file is checked against what the code and scripts expect.
const root = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
interface Service {
  image?: string;
  build?: string;
  command?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition?: string }>;
  volumes?: string[];
  restart?: string;
  stop_grace_period?: string;
  healthcheck?: { test?: string[] };
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
  // docker-compose (Debian's package, installed by .ci/run) validates a file without an engine.
  it('passes `docker-compose config`, which refuses a broken copy of it', async () => {
    const file = resolve(root, 'docker-compose.yml');
    await expect(run('docker-compose', ['-f', file, 'config', '-q'], { cwd: root })).resolves.toBeDefined();

    const broken = join(mkdtempSync(join(tmpdir(), 'compose-')), 'docker-compose.yml');
    writeFileSync(broken, readFileSync(file, 'utf8').replace('depends_on:', 'depends_onn:'));
    await expect(run('docker-compose', ['-f', broken, 'config', '-q'])).rejects.toMatchObject({
      stderr: expect.stringContaining('depends_onn'),
    });
  });

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

  it('restarts every service and starts the poller only once its dependencies are healthy', () => {
    for (const [name, definition] of Object.entries(services)) {
      expect(definition.restart, name).toBe('unless-stopped');
      expect(definition.healthcheck?.test, name).toBeDefined();
    }
    for (const [name, dependency] of Object.entries(service('poller').depends_on ?? {})) {
      expect(dependency.condition, name).toBe('service_healthy');
    }
  });

  it("gives the poller a stop grace period longer than the service's drain deadline", () => {
    const grace = parseDurationMs(service('poller').stop_grace_period ?? '10s');
    expect(grace).toBeGreaterThan(DEFAULT_SHUTDOWN_OPTIONS.deadlineMs);
  });
});

/** The `node -e` script of a `['CMD', 'node', '-e', script]` health check. */
function nodeScript(test: readonly string[] | undefined): string {
  expect(test?.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
  return test![3]!;
}

/** Runs a health-check script against a local server answering /healthz with `status`; returns its exit code. */
async function healthCheckExit(script: string, status: number, port: number): Promise<number> {
  const server: Server = createServer((req, res) => {
    res.writeHead(req.url === '/healthz' ? status : 404).end();
  });
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
  try {
    await run(process.execPath, ['-e', script], {
      env: { ...process.env, PRESENCE__HTTP__PORT: String(port) },
    });
    return 0;
  } catch (error) {
    return (error as { code: number }).code;
  } finally {
    await new Promise((done) => server.close(done));
  }
}

describe('Dockerfile', () => {
  const dockerfile = readFileSync(resolve(root, 'Dockerfile'), 'utf8');
  const runtimeStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

  it('exposes the default ops port and carries OCI labels', () => {
    expect(runtimeStage).toMatch(new RegExp(`^EXPOSE ${httpSchema.parse({}).port}$`, 'm'));
    for (const label of ['title', 'description', 'version', 'licenses'])
      expect(runtimeStage).toContain(`org.opencontainers.image.${label}=`);
  });

  it('has a HEALTHCHECK that asks /healthz with node alone, passing only on a 2xx', async () => {
    const line = /^HEALTHCHECK .*\\\n\s+CMD (\[.*\])$/m.exec(runtimeStage)?.[1];
    const script = nodeScript(JSON.parse(`["CMD",${line!.slice(1)}`) as string[]);
    const port = await findFreePort();
    expect(await healthCheckExit(script, 200, port)).toBe(0);
    expect(await healthCheckExit(script, 500, port)).toBe(1);
  });

  it('runs the service with the Node flags the benchmarks measure', () => {
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(runtimeStage)![1]!) as string[];
    for (const flag of WORKER_NODE_FLAGS.split(' ')) expect(entrypoint).toContain(flag);
  });

  it("gives compose's poller the same check as the image", () => {
    const script = nodeScript(service('poller').healthcheck?.test);
    expect(script).toContain("/healthz')");
    expect(script).toContain('r.ok?0:1');
  });
});
