import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { findFreePort } from './ports.js';
import { waitFor } from './wait-for.js';

export interface RedisServer {
  url: string;
  port: number;
  dir: string;
  /** SIGTERM and wait for exit (Redis fsyncs its AOF on a clean shutdown). */
  stop(): Promise<void>;
  /** SIGKILL: a crash, no shutdown hooks. */
  kill(): Promise<void>;
  /** SIGSTOP: the server keeps its connections open and answers nothing (a hung dependency). */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
  /** Starts again with the same port and directory (so the AOF is replayed) and waits for PING. */
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export interface RedisServerOptions {
  /** Append-only persistence, fsync every write: needed by tests that restart Redis. Default true. */
  appendOnly?: boolean;
  /** More redis-server arguments, e.g. `['--appendfsync', 'everysec']` (later ones win). */
  extraArgs?: readonly string[];
}

/**
 * Starts a private redis-server on a free loopback port in a temporary directory: tests never touch the machine's
 * shared Redis on 6379. `maxmemory-policy noeviction` as BullMQ requires.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'presence-redis-'));
  const port = await findFreePort();
  const url = `redis://127.0.0.1:${port}`;
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    options.appendOnly === false ? 'no' : 'yes',
    '--appendfsync',
    'always',
    '--maxmemory-policy',
    'noeviction',
    '--daemonize',
    'no',
    '--logfile',
    join(dir, 'redis.log'),
    ...(options.extraArgs ?? []),
  ];
  let child: ChildProcess | undefined;

  const start = async () => {
    child = spawn('redis-server', args, { stdio: 'ignore' });
    const exited = new Promise<never>((_, reject) =>
      child?.once('exit', (code) =>
        reject(new Error(`redis-server exited early with code ${code}; see ${dir}/redis.log`)),
      ),
    );
    exited.catch(() => undefined);
    await Promise.race([
      waitFor(() => ping(url), { timeoutMs: 15_000, description: `redis on ${port}` }),
      exited,
    ]);
  };
  const waitExit = (signal: NodeJS.Signals) =>
    new Promise<void>((resolveExit) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return resolveExit();
      child.once('exit', () => resolveExit());
      child.kill(signal);
    });

  await start();
  return {
    url,
    port,
    dir,
    start,
    stop: () => waitExit('SIGTERM'),
    kill: () => waitExit('SIGKILL'),
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    async destroy() {
      child?.kill('SIGCONT'); // a paused server would never see the SIGTERM
      await waitExit('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function ping(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined); // refused connections are expected while the server boots
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
