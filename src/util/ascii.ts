/**
 * Byte class tables (RFC 9110 §5.1 token, §5.5 field values) as Uint8Arrays indexed by byte, so a
 * scan costs one load and one compare per byte.
 */

const TCHAR_EXTRA = "!#$%&'*+-.^_`|~";

function table(pred: (b: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) t[b] = pred(b) ? 1 : 0;
  return t;
}

/** tchar = "!" / "#" / ... / DIGIT / ALPHA (RFC 9110 §5.6.2). */
export const TOKEN = table(
  (b) =>
    (b >= 0x30 && b <= 0x39) ||
    (b >= 0x41 && b <= 0x5a) ||
    (b >= 0x61 && b <= 0x7a) ||
    TCHAR_EXTRA.includes(String.fromCharCode(b)),
);

/** field-vchar / SP / HTAB: VCHAR (0x21-0x7E), obs-text (0x80-0xFF), SP, HTAB (RFC 9110 §5.5). */
export const FIELD_VALUE = table((b) => b === 0x09 || (b >= 0x20 && b !== 0x7f));

/**
 * Characters allowed in a request-target (RFC 3986 unreserved / reserved / pct-encoded, plus the
 * few that real clients send unescaped and that RFC 9112 §3.2 lets a server accept): any VCHAR.
 * No controls, no space, no DEL, no bytes >= 0x80.
 */
export const TARGET = table((b) => b > 0x20 && b < 0x7f);

export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TOKEN[c] !== 1) return false;
  }
  return true;
}

/** True when a response header value may be sent as is (no CR, LF, NUL or other controls). */
export function isFieldValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || FIELD_VALUE[c] !== 1) return false;
  }
  return true;
}
