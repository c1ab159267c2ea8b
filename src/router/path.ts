/**
 * Paths as the router sees them: the percent-decoding of request paths and the parsing of route
 * patterns into tokens. Both produce the same "match form" of static text, so a route and a
 * request compare as plain strings.
 *
 * Match form: every percent-escape is decoded (RFC 3986 §2.1; multi-byte escapes as UTF-8,
 * strictly) except `%2F` and `%25`, which stay as the three characters "%2F" / "%25" (upper-case
 * hex). So a "/" in the match form is always a "/" that was on the wire, a decoded slash can never
 * start a new segment, and a "%" is never ambiguous. Parameter values are sliced from the match
 * form and then finished with `finishParam` (only "%2F" and "%25" are left to decode).
 */
import { E, RapidError } from '../core/errors.js';

/** Hex digit values by char code, -1 for everything else. */
const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[0x41 + i] = 10 + i;
  HEX[0x61 + i] = 10 + i;
}

function hexAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c < 128 ? HEX[c]! : -1;
}

/**
 * The match form of a raw path, or null when it holds a malformed escape ("%zz", a truncated
 * "%4") or escaped bytes that are not well-formed UTF-8 (overlong forms, surrogates, stray
 * continuation bytes: RFC 3629 §3). Returns `raw` itself, unallocated, when there is no "%".
 */
export function matchForm(raw: string): string | null {
  let i = raw.indexOf('%');
  if (i === -1) return raw;
  const len = raw.length;
  let out = '';
  let last = 0;
  while (i !== -1) {
    if (i > last) out += raw.slice(last, i);
    if (i + 2 >= len) return null;
    const hi = hexAt(raw, i + 1);
    const lo = hexAt(raw, i + 2);
    if (hi < 0 || lo < 0) return null;
    const b = (hi << 4) | lo;
    if (b < 0x80) {
      out += b === 0x2f ? '%2F' : b === 0x25 ? '%25' : String.fromCharCode(b);
      i += 3;
    } else {
      // A run of escaped non-ASCII bytes: one UTF-8 sequence or several. decodeURIComponent is
      // a strict UTF-8 decoder (it throws on overlongs, surrogates and truncated sequences).
      let k = i + 3;
      while (k + 2 < len && raw.charCodeAt(k) === 0x25) {
        const h = hexAt(raw, k + 1);
        const l = hexAt(raw, k + 2);
        if (h < 0 || l < 0) return null;
        if (h < 8) break;
        k += 3;
      }
      try {
        out += decodeURIComponent(raw.slice(i, k));
      } catch {
        return null;
      }
      i = k;
    }
    last = i;
    i = raw.indexOf('%', i);
  }
  return last < len ? out + raw.slice(last) : out;
}

/** Finish decoding a parameter sliced from a match form: "%2F" -> "/", "%25" -> "%". */
export function finishParam(s: string): string {
  let i = s.indexOf('%');
  if (i === -1) return s;
  let out = '';
  let last = 0;
  while (i !== -1) {
    // The match form holds "%" only as "%2F" or "%25" (see matchForm).
    out +=
      s.slice(last, i) + (s.charCodeAt(i + 1) === 0x32 && s.charCodeAt(i + 2) === 0x35 ? '%' : '/');
    last = i + 3;
    i = s.indexOf('%', last);
  }
  return out + s.slice(last);
}

/** ASCII-only lower-casing (Unicode case folding would change lengths and offsets). */
export function foldAscii(s: string): string {
  let out = '';
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) {
      out += s.slice(last, i) + String.fromCharCode(c | 0x20);
      last = i + 1;
    }
  }
  return last === 0 ? s : out + s.slice(last);
}

export type Token =
  | { readonly type: 'static'; readonly text: string }
  | { readonly type: 'param'; readonly name: string; readonly regex: string | null }
  | { readonly type: 'wildcard' };

function invalid(path: string, why: string): RapidError {
  return new RapidError(E.ROUTER_INVALID_PATH, `${JSON.stringify(path)}: ${why}`);
}

function isNameChar(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f
  );
}

/**
 * Parse a route pattern. Syntax: static text as it appears in a URL (non-ASCII literal or
 * percent-encoded; "%" itself as "%25"), `:name` (letters, digits, "_") up to the next "/" or the
 * next static text, `:name(regex)` with a constraint, `::` for a literal ":", and `*` as the last
 * character for a wildcard. Static text is returned in match form. Throws
 * RAPID_ERR_ROUTER_INVALID_PATH with the reason.
 */
export function parsePattern(path: string, allowWildcard = true): Token[] {
  if (typeof path !== 'string' || path.charCodeAt(0) !== 0x2f) {
    throw invalid(String(path), 'a route path must start with "/"');
  }
  const tokens: Token[] = [];
  const names = new Set<string>();
  let text = '';
  const flush = (): void => {
    if (text === '') return;
    const form = matchForm(text);
    if (form === null) throw invalid(path, 'malformed percent-escape or non-UTF-8 bytes');
    tokens.push({ type: 'static', text: form });
    text = '';
  };
  const len = path.length;
  for (let i = 0; i < len; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x3a /* : */) {
      if (path.charCodeAt(i + 1) === 0x3a) {
        text += ':';
        i++;
        continue;
      }
      flush();
      const prev = tokens[tokens.length - 1];
      if (prev !== undefined && prev.type !== 'static') {
        throw invalid(path, 'two parameters with no static text between them are ambiguous');
      }
      let j = i + 1;
      while (j < len && isNameChar(path.charCodeAt(j))) j++;
      const name = path.slice(i + 1, j);
      if (name === '') throw invalid(path, `parameter without a name at offset ${i}`);
      if (names.has(name)) throw invalid(path, `parameter name "${name}" used twice`);
      names.add(name);
      let regex: string | null = null;
      if (path.charCodeAt(j) === 0x28 /* ( */) {
        const end = regexEnd(path, j);
        if (end === -1) throw invalid(path, `unterminated regular expression for ":${name}"`);
        regex = path.slice(j + 1, end);
        if (regex === '') throw invalid(path, `empty regular expression for ":${name}"`);
        try {
          new RegExp(regex);
        } catch (err) {
          throw new RapidError(
            E.ROUTER_INVALID_PATH,
            `${JSON.stringify(path)}: bad regular expression for ":${name}": ${(err as Error).message}`,
            { cause: err },
          );
        }
        j = end + 1;
      }
      tokens.push({ type: 'param', name, regex });
      i = j - 1;
    } else if (c === 0x2a /* * */) {
      if (!allowWildcard) throw invalid(path, 'a mount prefix cannot hold a wildcard');
      if (i !== len - 1) throw invalid(path, 'a wildcard "*" must be the last character');
      flush();
      const prev = tokens[tokens.length - 1];
      if (prev !== undefined && prev.type !== 'static') {
        throw invalid(path, 'a wildcard cannot directly follow a parameter');
      }
      tokens.push({ type: 'wildcard' });
    } else if (c <= 0x20 || c === 0x7f || c === 0x3f /* ? */ || c === 0x23 /* # */) {
      throw invalid(path, `character ${JSON.stringify(path[i])} is not allowed in a path`);
    } else {
      text += path[i];
    }
  }
  flush();
  return tokens;
}

/** Index of the ")" closing the "(" at `open`, skipping escapes and [...] classes; -1 if none. */
function regexEnd(s: string, open: number): number {
  let depth = 0;
  let inClass = false;
  for (let i = open; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c /* \ */) {
      i++;
    } else if (inClass) {
      if (c === 0x5d /* ] */) inClass = false;
    } else if (c === 0x5b /* [ */) {
      inClass = true;
    } else if (c === 0x28) {
      depth++;
    } else if (c === 0x29 /* ) */) {
      if (--depth === 0) return i;
    }
  }
  return -1;
}
