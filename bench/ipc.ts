/**
 * Request/response over a forked child's IPC channel: every request carries an id, the child answers with the same
 * id. Children started this way exit when the channel closes, so a crashed orchestrator leaves no worker behind.
 */
import { fork, type ChildProcess } from 'node:child_process';

export interface IpcRequest {
  id: number;
  type: string;
  [key: string]: unknown;
}

export interface IpcReply {
  id?: number;
  type: string;
  [key: string]: unknown;
}

export interface IpcChild {
  child: ChildProcess;
  pid: number;
  /** Sends a request and resolves with the child's reply (rejects after `timeoutMs` or when the child exits). */
  request<T extends object>(type: string, body?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  /** Resolves with the first unsolicited message of this type (e.g. `ready`). */
  waitFor<T extends object>(type: string, timeoutMs: number): Promise<T>;
  /** Asks the child to stop, then SIGKILLs it after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  readonly exited: boolean;
  /** Everything the child wrote to stderr (last 20 kB), for error messages. */
  stderr(): string;
}

/** Forks a compiled JavaScript entry with an IPC channel. */
export function forkChild(entry: string, args: string[], execArgv: string[] = []): IpcChild {
  const child = fork(entry, args, { execArgv, stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  let nextId = 1;
  let stderr = '';
  let exited = false;
  const waiters = new Map<number, (reply: IpcReply) => void>();
  const typeWaiters: Array<{ type: string; resolve: (reply: IpcReply) => void }> = [];
  const exitListeners = new Set<(error: Error) => void>();
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  child.on('message', (raw) => {
    const reply = raw as IpcReply;
    if (reply.id !== undefined) {
      waiters.get(reply.id)?.(reply);
      waiters.delete(reply.id);
      return;
    }
    const index = typeWaiters.findIndex((w) => w.type === reply.type);
    if (index >= 0) typeWaiters.splice(index, 1)[0]?.resolve(reply);
  });
  child.once('exit', (code, signal) => {
    exited = true;
    const error = new Error(`child ${entry} exited (${signal ?? code}); stderr: ${stderr.slice(-2_000)}`);
    for (const listener of exitListeners) listener(error);
  });

  function withTimeout<T>(what: string, timeoutMs: number, register: (resolve: (v: T) => void) => void) {
    return new Promise<T>((resolve, reject) => {
      if (exited) return reject(new Error(`child ${entry} already exited; stderr: ${stderr.slice(-2_000)}`));
      const timer = setTimeout(
        () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
        timeoutMs,
      );
      const onExit = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      exitListeners.add(onExit);
      register((value) => {
        clearTimeout(timer);
        exitListeners.delete(onExit);
        resolve(value);
      });
    });
  }

  return {
    child,
    pid: child.pid ?? -1,
    request<T extends object>(type: string, body: Record<string, unknown> = {}, timeoutMs = 30_000) {
      const id = nextId++;
      return withTimeout<T>(`reply to ${type}`, timeoutMs, (resolve) => {
        waiters.set(id, resolve as (reply: IpcReply) => void);
        child.send({ id, type, ...body } satisfies IpcRequest);
      });
    },
    waitFor<T extends object>(type: string, timeoutMs: number) {
      return withTimeout<T>(type, timeoutMs, (resolve) =>
        typeWaiters.push({ type, resolve: resolve as (reply: IpcReply) => void }),
      );
    },
    async stop(graceMs = 15_000) {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      if (child.connected) child.send({ id: 0, type: 'stop' } satisfies IpcRequest);
      else child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await gone;
      clearTimeout(timer);
    },
    get exited() {
      return exited;
    },
    stderr: () => stderr,
  };
}

/** Child side: answers requests with `handle` and stops on `stop` or when the parent goes away. */
export function serveParent(
  handle: (request: IpcRequest) => Promise<Record<string, unknown>>,
  stop: () => Promise<void>,
): void {
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    void stop()
      .catch((error: unknown) => console.error('stop failed', error))
      .finally(() => process.exit(0));
  };
  process.on('message', (raw) => {
    const request = raw as IpcRequest;
    if (request.type === 'stop') return shutdown();
    handle(request)
      .then((body) => process.send?.({ id: request.id, type: request.type, ...body }))
      .catch((error: unknown) => process.send?.({ id: request.id, type: 'error', message: String(error) }));
  });
  process.on('disconnect', shutdown);
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', () => undefined); // the orchestrator handles Ctrl-C and stops us in order
}
