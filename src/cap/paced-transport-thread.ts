/**
 * The sending thread of paced-transport.ts: for each call, wait for a send slot (pacer.ts), send it, post the
 * answer back. Nothing else runs here, so a slot's timer fires on time.
 */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { createDirectTransport, TransportError } from '../tencent/transport.js';
import type { CallTiming, FromThread, ThreadSettings, ToThread } from './paced-transport.js';
import { createPacer } from './pacer.js';
import { createRedisClient } from '../redis/client.js';

const port = parentPort!;
const settings = workerData as ThreadSettings;
const post = (message: FromThread): void => port.postMessage(message);

// Before anything else runs here. On Linux a nice value belongs to a thread, and pid 0 names the calling one: only
// this thread's priority changes, not the main thread's. Elsewhere it would change the whole process: left alone.
if (settings.nice) {
  if (process.platform !== 'linux') {
    post({ type: 'nice-refused', message: `a per-thread nice value needs Linux, not ${process.platform}` });
  } else {
    try {
      setPriority(0, settings.nice);
    } catch (error) {
      post({ type: 'nice-refused', message: (error as Error).message });
    }
  }
}

const redis = createRedisClient(settings.redis, {
  maxRetriesPerRequest: null,
  ...(settings.connectionName ? { connectionName: settings.connectionName } : {}),
});
// Without a listener ioredis prints the error itself; the main thread's logger should have it instead. Commands
// wait for the reconnection (maxRetriesPerRequest: null), as on the main thread's connections.
redis.on('error', (error: Error) => post({ type: 'error', message: `pacer Redis: ${error.message}` }));
const pacer = createPacer(redis, settings.pacerKey, {
  ...settings.pacer,
  onLateSlot: () => post({ type: 'late-slot' }),
});
const transport = createDirectTransport({
  connections: settings.connections,
  ...(settings.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: settings.connectTimeoutMs }),
  ...(settings.maxAnswerBytes === undefined ? {} : { maxAnswerBytes: settings.maxAnswerBytes }),
});
const inFlight = new Map<number, AbortController>();
let closing = false;

async function send(id: number, request: Extract<ToThread, { type: 'send' }>['request']): Promise<void> {
  const controller = new AbortController();
  inFlight.set(id, controller);
  const handedAt = performance.now();
  let startedAt: number | undefined;
  let latenessMs = 0;
  /** Undefined until the call got its slot: a call that was never sent is no call for the metrics. */
  const timing = (): CallTiming | undefined =>
    startedAt === undefined
      ? undefined
      : { waitMs: startedAt - handedAt, latenessMs, durationMs: performance.now() - startedAt };
  try {
    latenessMs = await pacer.acquire({
      ...(request.priority === undefined ? {} : { priority: request.priority }),
      signal: controller.signal,
    });
    startedAt = performance.now();
    const response = await transport.send({ ...request, signal: controller.signal });
    post({ type: 'answer', id, response, timing: timing()! });
  } catch (error) {
    const failure = failureOf(error, controller.signal.aborted);
    post({
      type: 'failure',
      id,
      reason: failure.reason,
      message: failure.message,
      code: failure.code,
      timing: timing(),
    });
  } finally {
    inFlight.delete(id);
  }
}

function failureOf(error: unknown, aborted: boolean): TransportError {
  // A call cut short by close() is not the caller's abort: it must be retried, not given up.
  if (closing) return new TransportError('transport closed', 'network');
  if (error instanceof TransportError) return error;
  if (aborted) return new TransportError('aborted by the caller', 'aborted');
  return new TransportError(error instanceof Error ? error.message : String(error), 'network');
}

async function penalize(id: number, pauseMs: number): Promise<void> {
  try {
    post({ type: 'penalized', id, factor: await pacer.penalize(pauseMs) });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    post({ type: 'failure', id, reason: 'network', message, code: undefined, timing: undefined });
  }
}

async function close(): Promise<void> {
  closing = true;
  for (const controller of inFlight.values()) controller.abort(new Error('transport closed'));
  await Promise.allSettled([transport.close(), redis.quit()]);
  process.exit(0);
}

port.on('message', (message: ToThread) => {
  switch (message.type) {
    case 'send':
      void send(message.id, message.request);
      break;
    case 'abort':
      inFlight.get(message.id)?.abort(new Error('aborted by the caller'));
      break;
    case 'penalize':
      void penalize(message.id, message.pauseMs);
      break;
    case 'close':
      void close();
      break;
  }
});
