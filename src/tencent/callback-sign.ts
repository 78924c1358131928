/**
 * Tencent Chat's callback authentication ("webhook authentication"): when the app configures a token in the console,
 * Tencent appends `Sign` and `RequestTime` to every callback URL, with `Sign = sha256(token + RequestTime)` as
 * lowercase hex over the UTF-8 concatenation (a plain SHA-256, not an HMAC) and `RequestTime` in Unix seconds.
 *
 * Tencent Cloud Chat docs: Webhook Overview (Security Considerations), https://trtc.io/document/34354 and
 * https://www.tencentcloud.com/document/product/1047/34354. The page's sample (token `xxxxyyyy`, RequestTime
 * `1669872112`) gives `17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061`; an older copy of the page
 * prints the token as `xxxyyy` beside the same digest, which does not match it.
 *
 * The docs give no freshness window for `RequestTime`; a receiver chooses its own (a minute is common).
 *
 * Both sides use it: the webhook role verifies with it, the simulator signs with it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const SIGN_PATTERN = /^[0-9a-f]{64}$/;
const REQUEST_TIME_PATTERN = /^\d{1,12}$/;

/**
 * The `Sign` Tencent sends for `token` at `requestTimeSec` (Unix seconds, as it appears in the URL).
 * @throws RangeError when the token is empty or the time is not a non-negative integer
 */
export function signCallback(token: string, requestTimeSec: number | string): string {
  if (token.length === 0) throw new RangeError('callback token must not be empty');
  const time = String(requestTimeSec);
  if (!REQUEST_TIME_PATTERN.test(time)) {
    throw new RangeError('callback RequestTime must be a non-negative integer of Unix seconds');
  }
  return createHash('sha256')
    .update(token + time, 'utf8')
    .digest('hex');
}

/**
 * True when `sign` is the signature of `requestTime` under `token` (constant-time comparison; upper-case hex is
 * accepted). Checks the signature only: the caller decides how old a `RequestTime` may be.
 */
export function verifyCallbackSign(
  token: string,
  requestTime: string | null | undefined,
  sign: string | null | undefined,
): boolean {
  if (!token || !requestTime || !sign) return false;
  if (!REQUEST_TIME_PATTERN.test(requestTime)) return false;
  const given = sign.toLowerCase();
  if (!SIGN_PATTERN.test(given)) return false;
  const expected = signCallback(token, requestTime);
  return timingSafeEqual(Buffer.from(given, 'latin1'), Buffer.from(expected, 'latin1'));
}
