/**
 * Turning a raw request path into a file system path that cannot leave the document root.
 *
 * The request path arrives undecoded (RapidRequest.path). It is decoded exactly once here, so
 * double encoding (`%252e%252e`) stays a literal `%2e%2e` segment, and every check runs on the
 * decoded segments: there is no second decoding anywhere that could turn an accepted path into
 * a different one. The result is joined with node:path and checked once more to lie inside the
 * root (see resolveInside), and the handler checks the real path of the opened file as well.
 */
import { resolve, sep } from 'node:path';

/**
 * Why a path was refused; the handler maps these to statuses.
 * - Bad: malformed escape, invalid UTF-8, NUL or other control, backslash, `.`/`..` segment: 400.
 * - EncodedSlash: `%2F` would change the segment boundaries, so nothing can match: 404.
 * - Dotfile: a segment starting with "." that is not allowed: 404 or 403 (dotfiles option).
 */
export const PathError = { Bad: 1, EncodedSlash: 2, Dotfile: 3 } as const;
export type PathError = (typeof PathError)[keyof typeof PathError];

export interface DecodedPath {
  /** Decoded segments, empty segments (from `//`) dropped. */
  readonly segments: string[];
  /** Whether the raw path ended in "/" (a directory request). */
  readonly trailingSlash: boolean;
}

const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i;
for (let i = 0; i < 6; i++) HEX[0x41 + i] = HEX[0x61 + i] = 10 + i;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes one raw segment (no "/" in it). Returns the decoded string or a PathError.
 * Refuses: bad or truncated escapes, invalid UTF-8, C0 controls and DEL (raw or encoded, which
 * covers NUL), backslashes (raw or %5C, a separator on Windows and a classic traversal vector),
 * and an encoded slash.
 */
function decodeSegment(raw: string): string | PathError {
  let pct = -1;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25 || c >= 0x80) {
      pct = i;
      break;
    }
    if (c < 0x20 || c === 0x7f || c === 0x5c) return PathError.Bad;
  }
  // Plain ASCII without escapes (nearly every path) is its own decoding.
  if (pct === -1) return raw;
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25) {
      const h = i + 2 < raw.length ? HEX[raw.charCodeAt(i + 1) & 0x7f]! : -1;
      const l = h !== -1 ? HEX[raw.charCodeAt(i + 2) & 0x7f]! : -1;
      if (l === -1 || raw.charCodeAt(i + 1) > 0x7f || raw.charCodeAt(i + 2) > 0x7f) {
        return PathError.Bad;
      }
      const b = (h << 4) | l;
      if (b === 0x2f) return PathError.EncodedSlash;
      if (b < 0x20 || b === 0x7f || b === 0x5c) return PathError.Bad;
      bytes.push(b);
      i += 2;
    } else if (c < 0x20 || c === 0x7f || c === 0x5c) {
      return PathError.Bad;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      // The engine decodes the request line as latin1, so each char is one raw octet.
      if (c > 0xff) return PathError.Bad;
      bytes.push(c);
    }
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    return PathError.Bad;
  }
}

/**
 * Decodes and checks a raw request path (which must start with "/"). Dot segments are refused
 * rather than resolved: a client that sends `/a/../b` literally (browsers normalise before
 * sending) gets 400, so no lexical resolution can ever step above the root. `allowDot` lists
 * the dot segments allowed; null allows all.
 */
export function decodePath(
  rawPath: string,
  allowDot: ReadonlySet<string> | null,
): DecodedPath | PathError {
  if (rawPath.charCodeAt(0) !== 0x2f) return PathError.Bad;
  const segments: string[] = [];
  let start = 1;
  let dotfile = false;
  const len = rawPath.length;
  while (start <= len) {
    let end = rawPath.indexOf('/', start);
    if (end === -1) end = len;
    if (end > start) {
      const seg = decodeSegment(rawPath.slice(start, end));
      if (typeof seg !== 'string') return seg;
      if (seg === '.' || seg === '..') return PathError.Bad;
      // A segment that decodes to nothing but is not empty cannot happen (escapes decode to one
      // byte at least), but an empty decoded name would collapse the path: refuse it.
      if (seg.length === 0) return PathError.Bad;
      if (seg.charCodeAt(0) === 0x2e && allowDot !== null && !allowDot.has(seg)) dotfile = true;
      segments.push(seg);
    }
    start = end + 1;
  }
  // Dotfiles are reported after the whole path has been checked, so a path that is both bad and
  // a dotfile is a 400, not a 404.
  if (dotfile) return PathError.Dotfile;
  return { segments, trailingSlash: len > 1 && rawPath.charCodeAt(len - 1) === 0x2f };
}

/**
 * Joins decoded segments onto the root and verifies the result is the root or below it. The
 * segments were already checked, so this is a second, independent fence: any bug above that let
 * a separator or dot segment through still cannot produce a path outside `root`.
 * `root` must be absolute and normalised (no trailing separator, except for "/").
 */
export function resolveInside(root: string, segments: readonly string[]): string | undefined {
  const full = resolve(root, ...segments);
  return isInside(root, full) ? full : undefined;
}

/** True when `path` is `root` itself or inside it (a prefix match on whole segments). */
export function isInside(root: string, path: string): boolean {
  if (path === root) return true;
  const prefix = root.endsWith(sep) ? root : root + sep;
  return path.startsWith(prefix);
}
