/**
 * The HTTP side of the simulator: validates a call the way Tencent does (path, method, query parameters, UserSig,
 * admin, body), enforces the per-app call cap, applies faults and latency, and answers from the world.
 *
 * Codes for invalid calls (Tencent documents the codes, not always which check yields which; these are our choices):
 * wrong path 60009; not POST 60002; sdkappid missing 60012, not a number 60006, unknown 70020; identifier missing
 * 60004; usersig missing 70002; random not a uint32 or contenttype not `json` 60002; over the cap 60007 (this API's
 * rate code); UserSig malformed 70003, expired 70001, wrong key 70005 (70009 when another simulated app's key matches),
 * identifier mismatch 70013, app mismatch 70014; identifier not an admin 90009; body not JSON, not an object,
 * To_Account absent/empty/not an array, or IsNeedDetail not 0/1: 90001; a non-string To_Account element 90003;
 * more than 500 IDs 90011.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readCallBody } from './call-body.js';
import { userSigSignedWith, verifyUserSig, type UserSigFailure } from '../tencent/usersig.js';
import { MAX_IDS_PER_CALL } from '../tencent/types.js';
import type { Fault, FaultPlan } from './faults.js';
import type { RateWindow } from './rate-window.js';
import { renderAnswer, renderError, type StateFieldName } from './render.js';
import type { World } from './world.js';

export const API_PATHS: ReadonlySet<string> = new Set([
  '/v4/openim/query_online_status',
  '/v4/openim/querystate',
]);
const RATE_LIMIT_CODE = 60007;

export interface SimApp {
  sdkAppId: number;
  secretKey: string;
  admins: ReadonlySet<string>;
  window: RateWindow;
}

export interface CallCounters {
  calls: number;
  admitted: number;
  rejectedOverCap: number;
  faultsInjected: number;
  /** Answers by outcome: ErrorCode as a string (`'0'` for success) or `http502` / `reset` / `hang`. */
  byCode: Record<string, number>;
}

export interface ServerContext {
  apps: ReadonlyMap<number, SimApp>;
  world: World;
  faults: FaultPlan;
  counters: CallCounters;
  stateField: () => StateFieldName;
  /** Wall clock (UserSig expiry), Unix ms. */
  now: () => number;
  /** Monotonic clock for the rate window, ms: when a call arrived, unless the call says so itself. */
  monotonicNow: () => number;
  /** Timers and held (hung) calls, released on close. */
  pending: Set<NodeJS.Timeout>;
  held: Set<Reply>;
}

/** One call as read from the connection. */
export interface IncomingCall {
  method: string | undefined;
  url: string | undefined;
  /** The body; `undefined` when it was over MAX_BODY_BYTES. */
  body: string | undefined;
  /** When it arrived, on the rate window's clock, if stamped where it was read (front-door.ts). */
  arrivedAtMs?: number;
}

/** How a call is answered: on its own socket (in process) or through the front-door thread. */
export interface Reply {
  send(status: number, contentType: string, body: string): void;
  /** Closes the connection without an answer. */
  reset(): void;
  /** Leaves the call unanswered until the simulator closes. */
  hold(): void;
}

const SIG_FAILURE_CODES: Record<UserSigFailure, [number, string]> = {
  malformed: [70003, 'UserSig malformed'],
  app_mismatch: [70014, 'SDKAppID in the URL differs from the UserSig'],
  identifier_mismatch: [70013, 'identifier in the URL differs from the UserSig'],
  bad_signature: [70005, 'UserSig check failed'],
  expired: [70001, 'UserSig expired'],
};

/** Reads the body (bounded) and answers the call on its own socket. */
export function handleRequest(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): void {
  readCallBody(req, (body) =>
    answerCall(ctx, { method: req.method, url: req.url, body }, socketReply(ctx, res)),
  );
  req.on('error', () => res.destroy());
}

function socketReply(ctx: ServerContext, res: ServerResponse): Reply {
  const reply: Reply = {
    send(status, contentType, body) {
      if (res.destroyed || res.writableEnded) return;
      res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    },
    reset: () => res.socket?.destroy(),
    hold() {
      ctx.held.add(reply);
      res.on('close', () => ctx.held.delete(reply));
    },
  };
  return reply;
}

/** Answers one call the way Tencent does. */
export function answerCall(ctx: ServerContext, call: IncomingCall, reply: Reply): void {
  const { counters } = ctx;
  const { body } = call;
  counters.calls++;
  const fail = (code: number, info: string, delayMs = 0): void =>
    send(ctx, reply, 200, renderError(code, info), code, delayMs);

  const url = new URL(call.url ?? '/', 'http://simulator');
  if (!API_PATHS.has(url.pathname)) return fail(60009, 'bad resource path');
  if (call.method !== 'POST') return fail(60002, 'only POST is supported');
  const q = url.searchParams;
  const sdkAppIdText = q.get('sdkappid');
  if (!sdkAppIdText) return fail(60012, 'sdkappid missing');
  if (!/^\d{1,12}$/.test(sdkAppIdText)) return fail(60006, 'sdkappid invalid');
  const app = ctx.apps.get(Number(sdkAppIdText));
  if (!app) return fail(70020, 'sdkappid not found');
  const identifier = q.get('identifier');
  if (!identifier) return fail(60004, 'identifier missing');
  const userSig = q.get('usersig');
  if (!userSig) return fail(70002, 'usersig empty');
  const random = q.get('random');
  if (!random || !/^\d{1,10}$/.test(random) || Number(random) > 4_294_967_295) {
    return fail(60002, 'random must be an unsigned 32-bit integer');
  }
  if (q.get('contenttype') !== 'json') return fail(60002, 'contenttype must be json');

  if (!app.window.tryAdmit(call.arrivedAtMs ?? ctx.monotonicNow())) {
    counters.rejectedOverCap++;
    return fail(RATE_LIMIT_CODE, 'API call frequency exceeded the limit');
  }
  counters.admitted++;

  const latencyMs = ctx.faults.latencyMs();
  const fault = ctx.faults.next();
  let delayMs = latencyMs;
  if (fault) {
    counters.faultsInjected++;
    if (fault.kind === 'timeout' && fault.delayMs === undefined) {
      counters.byCode.hang = (counters.byCode.hang ?? 0) + 1;
      reply.hold();
      return;
    }
    if (fault.kind === 'timeout') delayMs += fault.delayMs ?? 0;
    else if (applyFault(ctx, reply, fault, latencyMs)) return;
  }

  const verdict = verifyUserSig(userSig, {
    sdkAppId: app.sdkAppId,
    identifier,
    secretKey: app.secretKey,
    nowMs: ctx.now(),
  });
  if (!verdict.ok) {
    const [code, info] = SIG_FAILURE_CODES[verdict.reason];
    if (verdict.reason === 'bad_signature' && signedByAnotherApp(ctx, app, userSig)) {
      return fail(70009, "UserSig was made with another app's key", delayMs);
    }
    return fail(code, info, delayMs);
  }
  if (!app.admins.has(identifier)) return fail(90009, 'the request requires app admin permissions', delayMs);

  if (body === undefined) return fail(60002, 'request body too large', delayMs);
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return fail(90001, 'Fail to Parse json data of body, Please check it', delayMs);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    return fail(90001, 'body is not an object', delayMs);
  const { To_Account: ids, IsNeedDetail: isNeedDetail = 0 } = doc as Record<string, unknown>;
  if (!Array.isArray(ids) || ids.length === 0) return fail(90001, 'To_Account is absent or empty', delayMs);
  if (!ids.every((id) => typeof id === 'string'))
    return fail(90003, 'To_Account elements must be strings', delayMs);
  if (ids.length > MAX_IDS_PER_CALL) return fail(90011, 'To_Account has more than 500 accounts', delayMs);
  if (isNeedDetail !== 0 && isNeedDetail !== 1) return fail(90001, 'IsNeedDetail must be 0 or 1', delayMs);

  const answer = renderAnswer(
    ids as string[],
    (id) => ctx.world.get(id),
    isNeedDetail === 1,
    ctx.stateField(),
  );
  send(ctx, reply, 200, answer, answer.startsWith('{"ActionStatus":"OK"') ? 0 : 70107, delayMs);
}

/** Applies a fault that replaces the answer; returns false when normal processing should continue. */
function applyFault(ctx: ServerContext, reply: Reply, fault: Fault, delayMs: number): boolean {
  switch (fault.kind) {
    case 'http502':
      send(
        ctx,
        reply,
        502,
        '<html><body><h1>502 Bad Gateway</h1></body></html>',
        'http502',
        delayMs,
        'text/html',
      );
      return true;
    case 'retryable':
    case 'error-code': {
      const code = fault.errorCode ?? 70169;
      send(ctx, reply, 200, renderError(code, 'injected error'), code, delayMs);
      return true;
    }
    case 'malformed':
      send(
        ctx,
        reply,
        200,
        '{"ActionStatus":"OK","ErrorCode":0,"QueryResult":[{"To_Account":',
        'malformed',
        delayMs,
      );
      return true;
    case 'expire-usersig':
      send(ctx, reply, 200, renderError(70001, 'UserSig expired'), 70001, delayMs);
      return true;
    case 'revoke-usersig':
      send(ctx, reply, 200, renderError(70052, 'UserSig invalidated'), 70052, delayMs);
      return true;
    case 'rate-limit':
      send(
        ctx,
        reply,
        200,
        renderError(RATE_LIMIT_CODE, 'API call frequency exceeded the limit'),
        60007,
        delayMs,
      );
      return true;
    case 'reset':
      ctx.counters.byCode.reset = (ctx.counters.byCode.reset ?? 0) + 1;
      reply.reset();
      return true;
    case 'timeout':
      return false;
  }
}

function signedByAnotherApp(ctx: ServerContext, app: SimApp, userSig: string): boolean {
  for (const other of ctx.apps.values()) {
    if (other !== app && userSigSignedWith(userSig, other.secretKey)) return true;
  }
  return false;
}

function send(
  ctx: ServerContext,
  reply: Reply,
  status: number,
  body: string,
  outcome: number | string,
  delayMs: number,
  contentType = 'application/json; charset=utf-8',
): void {
  const key = String(outcome);
  ctx.counters.byCode[key] = (ctx.counters.byCode[key] ?? 0) + 1;
  if (delayMs <= 0) return reply.send(status, contentType, body);
  const timer = setTimeout(() => {
    ctx.pending.delete(timer);
    reply.send(status, contentType, body);
  }, delayMs);
  ctx.pending.add(timer);
}
