/**
 * Builds answer bodies, fresh for every call. (A per-user cache of the JSON fragments kept ~100 MB of strings alive
 * in a 1M-user simulator, written into old objects on every answer: its scavenges and major GCs grew, and each of
 * its pauses stamps arrivals late, which is what the cap's margin has to absorb.)
 */
import type { SimUser } from './population.js';

/** Top-level state field name: `Status` (field table, Chinese docs) or `State` (the English page's samples). */
export type StateFieldName = 'Status' | 'State';

/** Per-account code for an ID that does not exist or was never imported. */
export const ACCOUNT_NOT_FOUND = 70107;

export function renderUser(user: SimUser, detail: boolean, field: StateFieldName): string {
  let json = `{"To_Account":${JSON.stringify(user.id)},"${field}":"${user.state}"`;
  if (detail) {
    const online = user.devices.filter((d) => d.status !== 'Offline');
    if (online.length > 0) {
      json += `,"Detail":[${online
        .map(
          (d) =>
            `{"Platform":"${d.platform}","Status":"${d.status}","IsBackground":${d.isBackground ? 1 : 0},` +
            `"Instid":${d.instId},"CustomIdentifier":${JSON.stringify(d.customIdentifier)}}`,
        )
        .join(',')}]`;
    }
  }
  return `${json}}`;
}

/**
 * The whole answer. When no account could be answered, Tencent's rule "ErrorCode is not 0 if the query failed for
 * all accounts" applies: ActionStatus FAIL, ErrorCode 70107, with the ErrorList.
 */
export function renderAnswer(
  ids: readonly string[],
  lookup: (id: string) => SimUser | undefined,
  detail: boolean,
  field: StateFieldName,
): string {
  const results: string[] = [];
  const errors: string[] = [];
  for (const id of ids) {
    const user = lookup(id);
    if (user?.imported) results.push(renderUser(user, detail, field));
    else errors.push(`{"To_Account":${JSON.stringify(id)},"ErrorCode":${ACCOUNT_NOT_FOUND}}`);
  }
  const allFailed = results.length === 0;
  return (
    `{"ActionStatus":"${allFailed ? 'FAIL' : 'OK'}","ErrorInfo":"${allFailed ? 'all accounts not found' : ''}",` +
    `"ErrorCode":${allFailed ? ACCOUNT_NOT_FOUND : 0},"QueryResult":[${results.join(',')}],"ErrorList":[${errors.join(',')}]}`
  );
}

export function renderError(errorCode: number, errorInfo: string): string {
  return JSON.stringify({ ActionStatus: 'FAIL', ErrorInfo: errorInfo, ErrorCode: errorCode });
}
