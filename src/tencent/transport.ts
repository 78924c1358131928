/**
 * How a built `query_online_status` request reaches Tencent: one POST, the whole answer back as text.
 *
 * The client (client.ts) builds requests and interprets answers; a transport only moves bytes. Keeping the two apart
 * lets the poller send from a dedicated thread that also holds the pacer (src/cap/paced-transport.ts), while
 * the CLI and the bench send directly.
 */
import { Agent, type Dispatcher } from 'undici';

export interface TransportRequest {
  /** `http(s)://host[:port]` of the Tencent host (or the simulator). */
  origin: string;
  /** Path and query string. The query carries the UserSig: never log it. */
  path: string;
  /** JSON body. */
  body: string;
  /** Whole-call deadline from the moment the request is sent (not counting any wait for a send slot). */
  timeoutMs: number;
  /** Order among calls waiting for a send slot, 1 first (used by paced transports only). Default 5. */
  priority?: number;
  signal?: AbortSignal;
}

export interface TransportResponse {
  statusCode: number;
  text: string;
}

/** `too_large`: the answer passed `maxAnswerBytes` and was cut off while it arrived. */
export type TransportFailureReason = 'timeout' | 'network' | 'aborted' | 'too_large';

/** A call that got no complete answer. Its message may quote the URL: callers redact before showing it. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    message: string,
    readonly reason: TransportFailureReason,
    /** The socket library's error code (`ECONNRESET`, `UND_ERR_SOCKET`...), when there was one. */
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface Transport {
  send(request: TransportRequest): Promise<TransportResponse>;
  close(): Promise<void>;
}

export interface DirectTransportOptions {
  /** Keep-alive connections per origin; also the most calls in flight at once. */
  connections: number;
  /** Longest a TCP/TLS connect may take; default 5000 ms (each call's own deadline still applies). */
  connectTimeoutMs?: number;
  /** Largest answer body read; a larger one is cut off as it arrives. Default `DEFAULT_MAX_ANSWER_BYTES`. */
  maxAnswerBytes?: number;
}

/** 4 MiB: a 500-user answer with per-device detail is well under 1 MiB. */
export const DEFAULT_MAX_ANSWER_BYTES = 4 * 1024 * 1024;

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Sends on keep-alive undici connections, one request per connection at a time. */
export function createDirectTransport(options: DirectTransportOptions): Transport {
  const agent = new Agent({
    connections: options.connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    connect: { timeout: options.connectTimeoutMs ?? 5_000 },
  });

  const maxAnswerBytes = options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;

  return {
    async send({ origin, path, body, timeoutMs, signal }) {
      if (signal?.aborted) throw new TransportError('aborted before sending', 'aborted');
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(), timeoutMs);
      const onCallerAbort = (): void => deadline.abort();
      signal?.addEventListener('abort', onCallerAbort, { once: true });
      try {
        const response = await agent.request({
          origin,
          path,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: deadline.signal,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        });
        return { statusCode: response.statusCode, text: await readBounded(response, maxAnswerBytes) };
      } catch (error) {
        if (error instanceof TransportError) throw error;
        throw toTransportError(error, Boolean(signal?.aborted), deadline.signal.aborted, timeoutMs);
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onCallerAbort);
      }
    },
    close: () => agent.close(),
  };
}

/**
 * The body as text, read chunk by chunk up to `maxBytes`: an oversized answer is refused by its Content-Length
 * before any of it is read, or cut off (the connection dropped) as soon as it passes the bound, never held whole.
 */
async function readBounded(response: Dispatcher.ResponseData, maxBytes: number): Promise<string> {
  const refuse = (what: string): never => {
    response.body.destroy();
    throw new TransportError(
      `answer of ${what} bytes refused: more than maxAnswerBytes (${maxBytes})`,
      'too_large',
    );
  };
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) refuse(String(declared));
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > maxBytes) refuse(`over ${length}`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, length).toString('utf8');
}

function toTransportError(
  error: unknown,
  callerAborted: boolean,
  deadlineHit: boolean,
  timeoutMs: number,
): TransportError {
  const code = (error as { code?: unknown } | null)?.code;
  const codeText = typeof code === 'string' ? code : undefined;
  if (callerAborted) return new TransportError('aborted by the caller', 'aborted', codeText);
  if (deadlineHit || (codeText !== undefined && TIMEOUT_CODES.has(codeText))) {
    return new TransportError(`timed out after ${timeoutMs} ms`, 'timeout', codeText);
  }
  return new TransportError(error instanceof Error ? error.message : String(error), 'network', codeText);
}
