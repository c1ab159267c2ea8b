/**
 * HTTP Basic authentication (RFC 7617): reading the Authorization field and writing the challenge.
 */
import { isFieldValue } from '../../util/ascii.js';

export const NO_CREDENTIALS = 0;
export const MALFORMED = 1;

export interface BasicCredentials {
  readonly user: string;
  /** The password bytes as sent (UTF-8 by the challenge's charset, but compared as bytes). */
  readonly password: Buffer;
}

const SCHEME = /^basic(?: +|$)/i;
/** token68 in the base64 alphabet (RFC 9110 §11.2), padding optional. */
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The Basic credentials of an Authorization field value. NO_CREDENTIALS when there is none or
 * another scheme (the client should be challenged), MALFORMED when it is Basic but not
 * base64("user:password") with a UTF-8 user-id and no control characters (400: no retry with the
 * same header can succeed). Repeated fields arrive joined with ", " and are malformed.
 */
export function parseBasic(
  value: string | undefined,
): BasicCredentials | typeof NO_CREDENTIALS | typeof MALFORMED {
  if (value === undefined) return NO_CREDENTIALS;
  const v = value.trim();
  const m = SCHEME.exec(v);
  if (m === null) return NO_CREDENTIALS;
  const token = v.slice(m[0].length);
  if (!BASE64.test(token) || token.length % 4 === 1) return MALFORMED;
  const bytes = Buffer.from(token, 'base64');
  const colon = bytes.indexOf(0x3a);
  if (colon === -1) return MALFORMED;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (b < 0x20 || b === 0x7f) return MALFORMED;
  }
  let user: string;
  try {
    user = utf8.decode(bytes.subarray(0, colon));
  } catch {
    return MALFORMED;
  }
  return { user, password: Buffer.from(bytes.subarray(colon + 1)) };
}

/** Why a realm cannot be used, or null. */
export function realmError(realm: unknown): string | null {
  if (typeof realm !== 'string' || realm.length === 0) return 'must be a non-empty string';
  if (!isFieldValue(realm)) return 'must not contain control characters';
  return null;
}

/** The WWW-Authenticate field value for a realm (a quoted-string, RFC 9110 §5.6.4). */
export function challenge(realm: string): string {
  return `Basic realm="${realm.replace(/["\\]/g, '\\$&')}", charset="UTF-8"`;
}
