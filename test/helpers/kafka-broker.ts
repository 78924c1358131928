import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { findFreePort } from './ports.js';

const run = promisify(execFile);
const brokerScript = resolve(import.meta.dirname, '../../scripts/kafka-broker.sh');

/** The Kafka release line to run: 3 (3.9.x, scripts/kafka/pom.xml) or 4 (4.1.x, scripts/kafka/4.x/pom.xml). */
export type KafkaLine = 3 | 4;

export interface KafkaBrokerOptions {
  /** Default 3, the line every other test and the demo use. */
  line?: KafkaLine;
}

export interface KafkaBroker {
  brokers: string[];
  /** Its temporary directory: `data/` holds the topic logs, `kafka.log` the broker's log. */
  dir: string;
  line: KafkaLine;
  /** Stops the broker process, keeping its data (a later `start` resumes the same log). */
  stop(): Promise<void>;
  /** Starts it again on the same ports and waits until it answers. */
  start(): Promise<void>;
  /** Stops it and deletes its data directory. */
  destroy(): Promise<void>;
}

/**
 * Starts a private single-node Kafka broker on free loopback ports in a temporary directory and waits for a real
 * metadata round trip. Used by the test global setup and by tests that stop and restart Kafka.
 */
export async function startKafkaBroker(options: KafkaBrokerOptions = {}): Promise<KafkaBroker> {
  const line = options.line ?? 3;
  const dir = await mkdtemp(join(tmpdir(), `presence-kafka${line}-`));
  const port = await findFreePort();
  const controllerPort = await findFreePort();
  const brokers = [`127.0.0.1:${port}`];
  const start = async () => {
    await run('bash', [brokerScript, 'start', dir, String(port), String(controllerPort), String(line)]);
    await waitForKafka(brokers, 90_000);
  };
  const stop = async () => {
    await run('bash', [brokerScript, 'stop', dir]);
  };
  await start();
  return {
    brokers,
    dir,
    line,
    start,
    stop,
    async destroy() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves with the milliseconds waited once the brokers answer a metadata request; rejects at the deadline. */
export async function waitForKafka(brokers: string[], timeoutMs: number): Promise<number> {
  const startedAt = Date.now();
  const kafka = new Kafka({
    brokers,
    clientId: 'presence-readiness',
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    retry: { retries: 0 },
  });
  let lastError: unknown;
  while (Date.now() - startedAt < timeoutMs) {
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length > 0 && cluster.controller !== null) return Date.now() - startedAt;
    } catch (error) {
      lastError = error;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `Kafka at ${brokers.join(',')} did not answer within ${timeoutMs} ms: ${String(lastError)}`,
  );
}
