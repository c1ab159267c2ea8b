/**
 * Path patterns of access and header rules, and the canonical request path they are matched on.
 *
 * A pattern matches a request when a run of whole leading segments of the canonical path matches
 * it, so every pattern covers what lies below it too:
 * - no wildcard: a prefix at a segment boundary ("/admin" is /admin, /admin/ and /admin/x, never
 *   /administrator); "/" is everything;
 * - with a leading "/": a glob anchored at the root, `*` within one segment, `**` across
 *   segments, `?` one character; "/admin/*" is everything below /admin/;
 * - without a leading "/": a glob tried at every segment boundary, so "*.php" covers /x.php,
 *   /a/b.php and /x.php/extra (path info, which a FastCGI back end would run as /x.php).
 *
 * The canonical path is the request path decoded once, with empty segments dropped and an encoded
 * slash treated as a separator, because that is the most any handler behind the rules could make
 * of it. Dot segments, backslashes and malformed escapes are refused (400) rather than resolved:
 * browsers never send them, and no resolution could then disagree with a handler's.
 */

import { globSource } from '../static/cache-control.js';
import { decodePath, PathError } from '../static/path.js';

export interface PathPattern {
  /** The pattern as given. */
  readonly source: string;
  /** Test a canonical path (from canonicalPath). */
  test(path: string): boolean;
}

/** Why a pattern is refused, or null. */
export function patternError(pattern: unknown): string | null {
  if (typeof pattern !== 'string' || pattern.length === 0) return 'must be a non-empty string';
  if (/[\s#%\\]/.test(pattern)) {
    return 'must not contain whitespace, "#", "%" or "\\" (write paths decoded)';
  }
  if (/(^|\/)\.\.?(\/|$)/.test(pattern)) return 'must not contain "." or ".." segments';
  return null;
}

/** The compiled `path` of a rule (null when absent); `fail` reports a bad one. */
export function rulePattern(
  path: unknown,
  what: string,
  caseSensitive: boolean,
  fail: (what: string, why: string) => never,
): PathPattern | null {
  if (path === undefined) return null;
  const why = patternError(path);
  if (why !== null) fail(what, why);
  return compilePattern(path as string, caseSensitive);
}

/** Compile a pattern (validate it first with patternError). */
export function compilePattern(pattern: string, caseSensitive: boolean): PathPattern {
  let p = caseSensitive ? pattern : pattern.toLowerCase();
  // "/admin/*" and "/admin/**" are "/admin": the pattern covers what is below it anyway, and
  // "/admin" itself (the directory, whose index a static handler serves) must not slip out.
  for (;;) {
    if (p.endsWith('/')) p = p.slice(0, -1);
    else if (p.endsWith('/**')) p = p.slice(0, -3);
    else if (p.endsWith('/*')) p = p.slice(0, -2);
    else break;
  }
  const anchored = p.startsWith('/') || p === '';
  if (p === '' || p === '**') return { source: pattern, test: () => true };
  if (anchored && !/[*?]/.test(p)) {
    const n = p.length;
    return {
      source: pattern,
      test: (path) =>
        path.length >= n &&
        (path.length === n || path.charCodeAt(n) === 0x2f) &&
        path.startsWith(p),
    };
  }
  const body = globSource(p);
  const re = new RegExp(anchored ? `^${body}(?:/.*)?$` : `(?:^|/)${body}(?:/.*)?$`, 'u');
  return { source: pattern, test: (path) => re.test(path) };
}

/** Characters that make a path need decoding: escapes, backslashes, dots after "/", "//". */
const NEEDS_WORK = /%|\\|\/\/|\/\.|[^\x21-\x7e]/;

/**
 * The canonical form of a raw request path ("/a/b", no trailing slash, "/" for the root), or null
 * when it has a malformed escape, invalid UTF-8, a control character, a backslash or a dot
 * segment (decoded as the static handler decodes, src/features/static/path.ts). Lowercased when
 * `caseSensitive` is false.
 */
export function canonicalPath(raw: string, caseSensitive: boolean): string | null {
  let path: string;
  if (!NEEDS_WORK.test(raw)) {
    path = raw.length > 1 && raw.endsWith('/') ? raw.slice(0, -1) : raw;
    if (path.charCodeAt(0) !== 0x2f) path = `/${path}`;
  } else {
    const rooted = raw.charCodeAt(0) === 0x2f ? raw : `/${raw}`;
    let d = decodePath(rooted, null);
    // An encoded slash: match as the separator a lenient handler behind the rules would see.
    if (d === PathError.EncodedSlash) d = decodePath(rooted.replace(/%2f/gi, '/'), null);
    if (typeof d === 'number') return null;
    path = `/${d.segments.join('/')}`;
  }
  return caseSensitive ? path : path.toLowerCase();
}
