/**
 * Secret scrubbing shared by logs, errors and metrics.
 *
 * The UserSig travels in the query string (`usersig=...`), so any URL, request description or error message that
 * echoes it would leak a credential. Registered secrets (the app secret keys) are also replaced wherever they appear.
 * The same function scrubs finished JSON log lines, so it must never break JSON: the UserSig match stops before a
 * backslash (a JSON escape), and each secret is also looked for in its JSON-escaped spelling.
 */

const REDACTED = '[redacted]';
// UserSigs use a base64 alphabet with `*-_`: no quote, ampersand, whitespace or backslash can be part of one.
const USERSIG_IN_QUERY = /(usersig=)[^&\s"'\\]+/gi;
/** Each secret, mapped to its spelling inside a JSON string when that differs (quotes, backslashes, controls). */
const registeredSecrets = new Map<string, string | undefined>();

/** Registers a secret (e.g. an app's secret key, a generated UserSig) so that `redactSecrets` scrubs it anywhere. */
export function registerSecret(secret: string): void {
  // Short strings would redact innocent text; real keys and UserSigs are far longer.
  if (secret.length < 8) return;
  const escaped = JSON.stringify(secret).slice(1, -1);
  registeredSecrets.set(secret, escaped === secret ? undefined : escaped);
}

/** Forgets a secret that is no longer in use (a renewed UserSig), keeping the set small. */
export function forgetSecret(secret: string): void {
  registeredSecrets.delete(secret);
}

/** Returns `text` with every UserSig query parameter and every registered secret replaced by `[redacted]`. */
export function redactSecrets(text: string): string {
  let out = text.replace(USERSIG_IN_QUERY, `$1${REDACTED}`);
  for (const [secret, escaped] of registeredSecrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    if (escaped !== undefined && out.includes(escaped)) out = out.split(escaped).join(REDACTED);
  }
  return out;
}
