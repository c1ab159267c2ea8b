/**
 * application/x-www-form-urlencoded bodies (WHATWG URL Standard §5 "application/x-www-form-
 * urlencoded"), into a prototype-free object: `a=1&a=2&b=` gives `{ a: ['1', '2'], b: '' }`.
 *
 * - `+` is a space; percent escapes are decoded as UTF-8 (U+FFFD for invalid sequences, as a
 *   browser decodes them), or as bytes for charset=iso-8859-1/latin1.
 * - A malformed escape (`%`, `%4`, `%zz`) is a 400: the WHATWG parser would keep it literally,
 *   but a server silently accepting a corrupt form hides client bugs (and the router treats bad
 *   escapes in paths the same way).
 * - At most `parameterLimit` pairs (default 1000, body-parser's): more is a 413, checked before
 *   anything is decoded.
 * - Keys are flat: `a[b]=1` is the key "a[b]" (no qs-style nesting, so no prototype tricks).
 */
import { E, RapidError } from '../../core/errors.js';
import type { RapidRequest } from '../../core/types.js';
import type { BodyParseContext, BodyParser } from '../types.js';
import { checkLimit } from './media.js';
import { readBody } from './read.js';

export interface UrlencodedOptions {
  /** Largest body in bytes (default: the app's bodyLimit, 1 MiB on its own). */
  limit?: number;
  /** Most name=value pairs (default 1000). */
  parameterLimit?: number;
  /** Media types handled (default application/x-www-form-urlencoded). */
  types?: readonly string[];
  /** Decode gzip/deflate/br bodies (default true). */
  inflate?: boolean;
}

export type FormFields = Record<string, string | string[]>;

export const URLENCODED_TYPES: readonly string[] = Object.freeze([
  'application/x-www-form-urlencoded',
]);

export function urlencoded(options: UrlencodedOptions = {}): BodyParser {
  const limit = checkLimit('urlencoded limit', options.limit);
  const parameterLimit = checkLimit('parameterLimit', options.parameterLimit) ?? 1000;
  const inflate = options.inflate ?? true;
  const types = Object.freeze([...(options.types ?? URLENCODED_TYPES)]);
  return {
    types,
    limit,
    async parse(req: RapidRequest, ctx: BodyParseContext): Promise<FormFields> {
      const latin1 = isLatin1(ctx.charset);
      if (!latin1 && ctx.charset !== '' && ctx.charset !== 'utf-8' && ctx.charset !== 'utf8') {
        throw new RapidError(E.BODY_UNSUPPORTED_CHARSET, ctx.charset);
      }
      const buf = await readBody(req, limit ?? ctx.limit, inflate);
      return parseUrlencoded(buf.toString(latin1 ? 'latin1' : 'utf8'), parameterLimit, latin1);
    },
  };
}

function isLatin1(charset: string): boolean {
  return charset === 'iso-8859-1' || charset === 'latin1' || charset === 'us-ascii';
}

/** Parse urlencoded text; throws 400/413 catalog errors. Exported for query strings too. */
export function parseUrlencoded(text: string, parameterLimit = 1000, latin1 = false): FormFields {
  const out: FormFields = Object.create(null) as FormFields;
  if (text.length === 0) return out;
  let pairs = 1;
  for (let i = text.indexOf('&'); i !== -1; i = text.indexOf('&', i + 1)) pairs++;
  if (pairs > parameterLimit) {
    throw new RapidError(E.BODY_TOO_MANY_PARAMETERS, `more than ${parameterLimit}`);
  }
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('&', start);
    if (end === -1) end = text.length;
    if (end > start) {
      const eq = text.indexOf('=', start);
      let name: string;
      let value: string;
      if (eq === -1 || eq > end) {
        name = decode(text.slice(start, end), latin1);
        value = '';
      } else {
        name = decode(text.slice(start, eq), latin1);
        value = decode(text.slice(eq + 1, end), latin1);
      }
      const prev = out[name];
      if (prev === undefined) out[name] = value;
      else if (typeof prev === 'string') out[name] = [prev, value];
      else prev.push(value);
    }
    start = end + 1;
  }
  return out;
}

function decode(s: string, latin1: boolean): string {
  const plus = s.indexOf('+') !== -1;
  const pct = s.indexOf('%') !== -1;
  if (!pct) return plus ? s.replace(/\+/g, ' ') : s;
  const spaced = plus ? s.replace(/\+/g, ' ') : s;
  if (!latin1) {
    try {
      return decodeURIComponent(spaced);
    } catch {
      // a malformed escape or an invalid UTF-8 sequence: sort them out below
    }
  }
  return decodeBytes(spaced, latin1);
}

/** Percent-decode to bytes and decode those (U+FFFD for invalid UTF-8); bad escapes are a 400. */
function decodeBytes(s: string, latin1: boolean): string {
  const src = Buffer.from(s, latin1 ? 'latin1' : 'utf8');
  const out = Buffer.allocUnsafe(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const b = src[i] as number;
    if (b !== 0x25) {
      out[n++] = b;
      continue;
    }
    const hi = i + 2 < src.length ? hex(src[i + 1] as number) : -1;
    const lo = hi === -1 ? -1 : hex(src[i + 2] as number);
    if (lo === -1) {
      throw new RapidError(
        E.BODY_INVALID_URLENCODED,
        `malformed percent-escape near "${escapeFor(s)}"`,
      );
    }
    out[n++] = (hi << 4) | lo;
    i += 2;
  }
  return out.toString(latin1 ? 'latin1' : 'utf8', 0, n);
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x57;
  return -1;
}

/** A short, safe excerpt for the error message (exposed to the client). */
function escapeFor(s: string): string {
  const cut = s.length > 40 ? `${s.slice(0, 40)}…` : s;
  return cut.replace(/[^\x20-\x7e]/g, '?').replace(/"/g, "'");
}
