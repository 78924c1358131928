import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { CompressionTypes } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { buildKafkaConfig, compressionCodecOf, MissingTopicsError } from '../../src/relay/kafka.js';
import { createLogger } from '../../src/ops/logger.js';
import { BASE_PRESENCE, removeTrees, SECRET_ENV, writeTree } from '../config/config-tree.js';

afterAll(removeTrees);

const logger = createLogger({ level: 'silent' });
const CA = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUca\n-----END CERTIFICATE-----\n';
const CERT = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUclient\n-----END CERTIFICATE-----\n';

/** Loads a presence.yaml whose kafka section is `kafkaYaml`, with the TLS files beside it. */
async function loadKafkaSection(kafkaYaml: string, env: Record<string, string> = SECRET_ENV) {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const root = writeTree({
    'presence.yaml': `${BASE_PRESENCE}kafka:\n${kafkaYaml}`,
    'certs/ca.pem': CA,
    'certs/client.pem': CERT,
    'certs/client-key.pem': privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  });
  const { config } = await loadConfig({ configPath: join(root, 'presence.yaml'), env });
  return { root, kafka: config.kafka };
}

describe('the kafkajs client configuration built from presence.yaml', () => {
  it('carries the CA, the client certificate and its key, read from the files, into ssl', async () => {
    const { root, kafka } = await loadKafkaSection(
      '  tls:\n    caFile: certs/ca.pem\n    certFile: certs/client.pem\n    keyFile: certs/client-key.pem\n',
    );
    const ssl = buildKafkaConfig(kafka, logger).ssl as ConnectionOptions;
    expect(ssl).toEqual({
      rejectUnauthorized: true,
      ca: [readFileSync(join(root, 'certs/ca.pem'))],
      cert: readFileSync(join(root, 'certs/client.pem')),
      key: readFileSync(join(root, 'certs/client-key.pem')),
    });
  });

  it('uses the system CAs for an empty tls section and passes rejectUnauthorized: false through', async () => {
    const { kafka: systemCas } = await loadKafkaSection('  tls: {}\n');
    expect(buildKafkaConfig(systemCas, logger).ssl).toEqual({ rejectUnauthorized: true });

    const { kafka: unverified } = await loadKafkaSection(
      '  tls:\n    caFile: certs/ca.pem\n    rejectUnauthorized: false\n',
    );
    expect(buildKafkaConfig(unverified, logger).ssl).toMatchObject({ rejectUnauthorized: false });
  });

  it('connects in plaintext without a tls section or with tls.enabled: false', async () => {
    const { kafka: none } = await loadKafkaSection('  clientId: plain\n');
    expect(buildKafkaConfig(none, logger).ssl).toBe(false);
    const { kafka: disabled } = await loadKafkaSection('  tls:\n    enabled: false\n');
    expect(buildKafkaConfig(disabled, logger).ssl).toBe(false);
  });

  it('keeps SASL beside TLS, with the password from the environment', async () => {
    const { kafka } = await loadKafkaSection(
      '  tls: {}\n  sasl:\n    mechanism: scram-sha-512\n    username: svc\n',
      { ...SECRET_ENV, KAFKA_SASL_PASSWORD: 'sasl-password-1' },
    );
    const config = buildKafkaConfig(kafka, logger);
    expect(config.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'svc', password: 'sasl-password-1' });
    expect(config.ssl).toEqual({ rejectUnauthorized: true });
  });
});

describe('compression and topic errors', () => {
  it('maps the configured compression to the kafkajs codec', () => {
    expect(compressionCodecOf('gzip')).toBe(CompressionTypes.GZIP);
    expect(compressionCodecOf('none')).toBe(CompressionTypes.None);
  });

  it('names every missing topic in MissingTopicsError and carries them as data', () => {
    const error = new MissingTopicsError(['presence.transitions', 'presence.state']);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('MissingTopicsError');
    expect(error.code).toBe('PRESENCE_KAFKA_MISSING_TOPICS');
    expect(error.topics).toEqual(['presence.transitions', 'presence.state']);
    expect(error.message).toMatch(/^Kafka topics missing: presence\.transitions, presence\.state\. /);
    expect(error.message).toContain('kafka.createTopics');
  });
});
