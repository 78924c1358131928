import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { LoadedConfig } from '../../src/config/index.js';
import type { Role } from '../../src/main.js';
import { onTeardown } from './services.js';
import { waitFor } from './wait-for.js';

const root = resolve(import.meta.dirname, '../..');

export interface WorkerProcess {
  child: ChildProcess;
  /** SIGKILL: no shutdown code runs, in-flight work is cut wherever it is. */
  kill(): Promise<void>;
  /** SIGTERM: graceful stop. */
  stop(): Promise<void>;
  output(): string;
}

/** Starts the service in a separate Node process and resolves once it printed `ready`. */
export async function spawnWorker(
  config: LoadedConfig,
  roles: Role[],
  env: Record<string, string> = {},
): Promise<WorkerProcess> {
  // Through a file: a config with thousands of members is too large for the environment.
  const dir = mkdtempSync(join(tmpdir(), 'presence-worker-'));
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(config));
  onTeardown(async () => rmSync(dir, { recursive: true, force: true }));
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/worker-process.ts'], {
    cwd: root,
    env: {
      ...process.env,
      PRESENCE_TEST_CONFIG_FILE: configFile,
      PRESENCE_TEST_ROLES: roles.join(','),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const signal = (name: NodeJS.Signals) =>
    new Promise<void>((done) => {
      if (exited()) return done();
      child.once('exit', () => done());
      child.kill(name);
    });
  onTeardown(() => signal('SIGKILL'));
  await waitFor(
    () => {
      if (exited()) throw new Error(`worker exited: ${output}`);
      return output.includes('ready');
    },
    { timeoutMs: 30_000, description: 'the worker process to start' },
  );
  return { child, kill: () => signal('SIGKILL'), stop: () => signal('SIGTERM'), output: () => output };
}
