/**
 * Cookies (RFC 6265): parsing the Cookie header, serialising Set-Cookie with every attribute, and
 * signing values with HMAC-SHA256. Signed values look like `s:<value>.<signature>` (the signature
 * base64 without padding), the format of Express's cookie-parser, so cookies signed by either
 * verify in the other.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { E, RapidError } from '../core/errors.js';
import type { CookieOptions } from './types.js';

/** Parse a Cookie header value into a prototype-free object. The first of repeated names wins
 * (RFC 6265 §5.4: the more specific cookie, by path, comes first). Values are percent-decoded when
 * they decode as UTF-8, else left as sent; surrounding double quotes are removed. */
export function parseCookies(header: string | undefined): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  if (header === undefined || header === '') return out;
  const len = header.length;
  let start = 0;
  while (start < len) {
    let end = header.indexOf(';', start);
    if (end === -1) end = len;
    const eq = header.indexOf('=', start);
    if (eq !== -1 && eq < end) {
      const name = header.slice(start, eq).trim();
      if (name !== '' && out[name] === undefined) {
        let value = header.slice(eq + 1, end).trim();
        if (value.length >= 2 && value.charCodeAt(0) === 0x22 && value.endsWith('"')) {
          value = value.slice(1, -1);
        }
        if (value.indexOf('%') !== -1) {
          try {
            value = decodeURIComponent(value);
          } catch {
            // Not percent-encoded UTF-8: keep the octets as sent.
          }
        }
        out[name] = value;
      }
    }
    start = end + 1;
  }
  return out;
}

/** RFC 6265 §4.1.1 cookie-name: a token (RFC 9110 §5.6.2). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** cookie-octet: visible US-ASCII except DQUOTE, comma, semicolon and backslash. */
const COOKIE_VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;
/** Attribute values (path, domain): no control characters and no ";" (RFC 6265 §4.1.1). */
const ATTR_VALUE = /^[\x20-\x3a\x3c-\x7e]*$/;

function bad(what: string): RapidError {
  return new RapidError(E.APP_INVALID_COOKIE, what);
}

/** Serialise one Set-Cookie field value. Throws RAPID_ERR_APP_INVALID_COOKIE for anything that
 * would produce an invalid or injected header. `value` must already be signed if wanted. */
export function serializeCookie(name: string, value: string, opts: CookieOptions = {}): string {
  if (typeof name !== 'string' || !TOKEN.test(name)) {
    throw bad(`name ${JSON.stringify(name)} is not a token`);
  }
  const encoded = (opts.encode ?? encodeURIComponent)(String(value));
  if (!COOKIE_VALUE.test(encoded))
    throw bad(`value of ${name} has characters a cookie cannot hold`);
  let s = `${name}=${encoded}`;
  if (opts.maxAge !== undefined) {
    const n = Math.floor(opts.maxAge);
    if (!Number.isFinite(n)) throw bad(`maxAge of ${name} is not a finite number`);
    s += `; Max-Age=${n}`;
  }
  if (opts.domain !== undefined) {
    if (!ATTR_VALUE.test(opts.domain) || opts.domain === '') throw bad(`domain of ${name}`);
    s += `; Domain=${opts.domain}`;
  }
  if (opts.path !== undefined) {
    if (!ATTR_VALUE.test(opts.path)) throw bad(`path of ${name}`);
    s += `; Path=${opts.path}`;
  }
  if (opts.expires !== undefined) {
    if (!(opts.expires instanceof Date) || Number.isNaN(opts.expires.getTime())) {
      throw bad(`expires of ${name} is not a valid Date`);
    }
    s += `; Expires=${opts.expires.toUTCString()}`;
  }
  if (opts.httpOnly) s += '; HttpOnly';
  if (opts.secure) s += '; Secure';
  if (opts.partitioned) s += '; Partitioned';
  if (opts.priority !== undefined) {
    const p = String(opts.priority).toLowerCase();
    if (p === 'low') s += '; Priority=Low';
    else if (p === 'medium') s += '; Priority=Medium';
    else if (p === 'high') s += '; Priority=High';
    else throw bad(`priority of ${name}`);
  }
  if (opts.sameSite !== undefined && opts.sameSite !== false) {
    const v = opts.sameSite === true ? 'strict' : String(opts.sameSite).toLowerCase();
    if (v === 'strict') s += '; SameSite=Strict';
    else if (v === 'lax') s += '; SameSite=Lax';
    else if (v === 'none') s += '; SameSite=None';
    else throw bad(`sameSite of ${name}`);
  }
  return s;
}

/** HMAC-SHA256 of `value`, base64 without padding. */
function mac(value: string, secret: string): string {
  return createHmac('sha256', secret).update(value).digest('base64').replace(/=+$/, '');
}

/** `s:<value>.<signature>`: what res.cookie(..., { signed: true }) stores. */
export function signCookie(value: string, secret: string): string {
  return `s:${value}.${mac(value, secret)}`;
}

/**
 * The value of a signed cookie when its signature verifies under one of `secrets` (the first
 * signs, the others are accepted for rotation), else false. Constant-time comparison, so the
 * signature cannot be guessed byte by byte from response times.
 */
export function unsignCookie(signed: string, secrets: readonly string[]): string | false {
  if (!signed.startsWith('s:')) return false;
  const dot = signed.lastIndexOf('.');
  if (dot < 2) return false;
  const value = signed.slice(2, dot);
  const given = Buffer.from(signed.slice(dot + 1));
  for (const secret of secrets) {
    const expected = Buffer.from(mac(value, secret));
    if (expected.length === given.length && timingSafeEqual(expected, given)) return value;
  }
  return false;
}
