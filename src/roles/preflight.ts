/**
 * The poller's start-up call: one minimal query (the admin's own status, one ID) through the app's paced transport,
 * so it counts against the cap like any call. A refusal of the key, the UserSig, the app or the admin would make every
 * chunk fail for as long as the process runs; it stops the start instead (exit 3, naming the Tencent code and what
 * it means). Anything that may pass by itself (network, timeout, rate limit, a Tencent-side error) is only a warning:
 * the chunk jobs retry, and a deployment must not refuse to start because Tencent is slow for a moment.
 */
import type { LoadedApp } from '../config/index.js';
import type { FlowEvents } from '../ops/flow-events.js';
import type { Logger } from '../ops/logger.js';
import {
  isTencentError,
  rejectsCredentials,
  type OnlineStatusClient,
  type TencentError,
} from '../tencent/index.js';

/** Tencent refused an app's credentials or configuration at start-up. */
export class PreflightError extends Error {
  override readonly name = 'PreflightError';
  readonly code = 'PREFLIGHT_REFUSED';
  readonly errorCode: number | undefined;

  constructor(app: LoadedApp, cause: TencentError) {
    super(
      `app "${app.name}" (SDKAppID ${app.sdkAppId}) was refused by Tencent at start-up: ${cause.message}`,
      {
        cause,
      },
    );
    this.errorCode = cause.errorCode;
  }
}

export async function preflight(input: {
  app: LoadedApp;
  label: string;
  client: OnlineStatusClient;
  events: FlowEvents;
  logger: Logger;
}): Promise<void> {
  const { app, label, client, events, logger } = input;
  try {
    await client.queryOnlineStatus([app.identifier], { detail: false });
  } catch (error) {
    if (!isTencentError(error)) throw error;
    events.emit('call', { app: label, outcome: 'error' });
    events.emit('callFailed', { app: label, kind: error.kind, errorCode: error.errorCode });
    // 70050 is a lock of about a minute after earlier bad signatures: waiting it out is the remedy, not a stop.
    if (rejectsCredentials(error.kind) && error.kind !== 'locked') throw new PreflightError(app, error);
    logger.warn(
      { err: error, kind: error.kind, errorCode: error.errorCode },
      'start-up call to Tencent failed; starting anyway (the chunk jobs retry)',
    );
    return;
  }
  events.emit('call', { app: label, outcome: 'ok' });
  logger.info('start-up call to Tencent accepted');
}
