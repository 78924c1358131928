/**
 * Secret scrubbing shared by logs, errors and metrics.
 *
 * The UserSig travels in the query string (`usersig=...`), so any URL, request description or error message that
 * echoes it would leak a credential. Registered secrets (the app secret keys) are also replaced wherever they appear.
 */

const REDACTED = '[redacted]';
const USERSIG_IN_QUERY = /(usersig=)[^&\s"']+/gi;
const registeredSecrets = new Set<string>();

/** Registers a secret (e.g. an app's secret key, a generated UserSig) so that `redactSecrets` scrubs it anywhere. */
export function registerSecret(secret: string): void {
  // Short strings would redact innocent text; real keys and UserSigs are far longer.
  if (secret.length >= 8) registeredSecrets.add(secret);
}

/** Forgets a secret that is no longer in use (a renewed UserSig), keeping the set small. */
export function forgetSecret(secret: string): void {
  registeredSecrets.delete(secret);
}

/** Returns `text` with every UserSig query parameter and every registered secret replaced by `[redacted]`. */
export function redactSecrets(text: string): string {
  let out = text.replace(USERSIG_IN_QUERY, `$1${REDACTED}`);
  for (const secret of registeredSecrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out;
}
