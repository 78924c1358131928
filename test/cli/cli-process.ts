import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { onTeardown } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

const root = resolve(import.meta.dirname, '../..');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Settles when the process exited. */
  exited: Promise<CliResult>;
  signal(name: NodeJS.Signals): void;
  /** Resolves with the first stdout/stderr match of `pattern`; rejects at the deadline or when the process exits. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

/**
 * Starts `presence-poller <args>` as a real child process (`node --import tsx src/cli.ts`), as an operator would.
 * The environment is the test's minus anything that would redirect the config, plus `env`. Killed after the file.
 */
export function startCli(args: readonly string[], env: Record<string, string> = {}): CliProcess {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) =>
        !/^(PRESENCE_|PRESENCE__|REDIS_URL$|KAFKA_BROKERS$|TENCENT_IM_SECRET_KEY$|LOG_LEVEL$)/.test(name),
    ),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: root,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<CliResult>((done) =>
    child.once('close', (code, signal) => done({ code, signal, stdout, stderr })),
  );
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;
  onTeardown(async () => {
    if (!hasExited()) child.kill('SIGKILL');
    await exited;
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    signal: (name) => void child.kill(name),
    waitForOutput: (pattern, timeoutMs = 60_000) =>
      waitFor(
        () => {
          const match = stdout.match(pattern) ?? stderr.match(pattern);
          if (match) return match;
          if (hasExited())
            throw new Error(`exited (${child.exitCode}) before printing ${pattern}:\n${stdout}\n${stderr}`);
          return undefined;
        },
        { timeoutMs, description: `output matching ${pattern}` },
      ),
  };
}

/** Runs a command to completion (killed at the deadline) and returns its exit code and output. */
export async function runCliProcess(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<CliResult> {
  const cli = startCli(args, env);
  const timer = setTimeout(() => cli.signal('SIGKILL'), timeoutMs);
  try {
    return await cli.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** The JSON log lines (pino) a process printed to stdout. */
export function logLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}
