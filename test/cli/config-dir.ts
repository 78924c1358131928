import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTeardown, testKafkaBrokers, testRedisUrl, uniqueName } from '../helpers/services.js';

export interface ConfigDir {
  dir: string;
  /** Absolute path of presence.yaml. */
  configPath: string;
  prefix: string;
  topics: { transitions: string; state: string };
  /** Writes (or replaces) `watchlists/<name>.yaml`. */
  writeWatchlist(name: string, yaml: string): void;
}

/**
 * A config directory for one test file, shaped like config/ in the repository: presence.yaml pointing at `endpoint`
 * and the test Redis and Kafka, with a unique Redis prefix and unique topics, plus the given watchlists.
 * The secret key is read from TENCENT_IM_SECRET_KEY; the directory is removed after the file.
 */
export function writeConfigDir(endpoint: string, watchlists: Record<string, string>): ConfigDir {
  const dir = mkdtempSync(join(tmpdir(), 'presence-cli-'));
  onTeardown(async () => rmSync(dir, { recursive: true, force: true }));
  const id = uniqueName('cli');
  const topics = { transitions: `${id}.transitions`, state: `${id}.state` };
  const prefix = `presence-${id}`;
  writeFileSync(
    join(dir, 'presence.yaml'),
    `apps:
  - name: demo
    sdkAppId: 1400000000
    endpoint: ${endpoint}
    identifier: administrator
    secretKeyEnv: TENCENT_IM_SECRET_KEY
redis:
  url: ${testRedisUrl()}
  prefix: ${prefix}
kafka:
  brokers: [${testKafkaBrokers()
    .map((broker) => `'${broker}'`)
    .join(', ')}]
  clientId: ${id}
  topics:
    transitions: ${topics.transitions}
    state: ${topics.state}
  partitions: 1
defaults:
  interval: 1s
http:
  host: 127.0.0.1
  port: 0
logLevel: info
`,
  );
  mkdirSync(join(dir, 'watchlists'));
  const writeWatchlist = (name: string, yaml: string) =>
    writeFileSync(join(dir, 'watchlists', `${name}.yaml`), yaml);
  for (const [name, yaml] of Object.entries(watchlists)) writeWatchlist(name, yaml);
  return { dir, configPath: join(dir, 'presence.yaml'), prefix, topics, writeWatchlist };
}
