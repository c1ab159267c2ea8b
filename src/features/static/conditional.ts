/**
 * Validators and conditional requests (RFC 9110 §8.8, §13).
 *
 * ETag format (strong, §8.8.3): `"<mtime>-<size>"` where <mtime> is the modification time in
 * whole microseconds and <size> the length in bytes, both lowercase hex; a compressed
 * representation appends `-br`, `-gz` or `-df`, because a strong validator must differ between
 * representations that differ in content (§8.8.3.3). Two files with the same size and mtime
 * share an ETag; in exchange the tag is the same on every machine serving a copy of the site.
 */

/** Strong ETag of a file from its size and mtime (milliseconds, possibly fractional). */
export function makeEtag(size: number, mtimeMs: number, suffix = ''): string {
  return `"${Math.floor(mtimeMs * 1000).toString(16)}-${size.toString(16)}${suffix}"`;
}

const MONTHS: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

// §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms recipients must accept.
const IMF = /^[A-Z][a-z]{2}, (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const RFC850 = /^[A-Z][a-z]{5,8}, (\d{2})-([A-Z][a-z]{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME = /^[A-Z][a-z]{2} ([A-Z][a-z]{2}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

function build(y: number, mon: string, d: number, h: number, mi: number, s: number): number {
  const m = MONTHS[mon];
  if (m === undefined || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return NaN;
  return Date.UTC(y, m, d, h, mi, s);
}

/** Parses an HTTP-date to epoch milliseconds; NaN when it is not one (then it is ignored). */
export function parseHttpDate(value: string): number {
  const v = value.trim();
  let m = IMF.exec(v);
  if (m !== null) return build(+m[3]!, m[2]!, +m[1]!, +m[4]!, +m[5]!, +m[6]!);
  m = RFC850.exec(v);
  if (m !== null) {
    // Two-digit years more than 50 years in the future are in the past century (§5.6.7).
    let y = 2000 + +m[3]!;
    if (y > new Date().getUTCFullYear() + 50) y -= 100;
    return build(y, m[2]!, +m[1]!, +m[4]!, +m[5]!, +m[6]!);
  }
  m = ASCTIME.exec(v);
  if (m !== null) return build(+m[6]!, m[1]!, +m[2]!.trim(), +m[3]!, +m[4]!, +m[5]!);
  return NaN;
}

/**
 * Does an If-None-Match / If-Match list contain `etag`? `weak` selects weak comparison (§8.8.3.2:
 * W/ prefixes are ignored) as If-None-Match requires; strong comparison (If-Match, If-Range)
 * never matches a weak tag. `*` matches any current representation.
 */
export function matchesEtag(list: string, etag: string, weak: boolean): boolean {
  const v = list.trim();
  if (v === '*') return true;
  // Fast path: a single tag equal to ours, the common revalidation request.
  if (v === etag) return true;
  let i = 0;
  const n = v.length;
  while (i < n) {
    while (i < n && (v[i] === ' ' || v[i] === '\t' || v[i] === ',')) i++;
    if (i >= n) break;
    let isWeak = false;
    if (v[i] === 'W' && v[i + 1] === '/') {
      isWeak = true;
      i += 2;
    }
    if (v[i] !== '"') {
      // Not an entity-tag: skip to the next element.
      while (i < n && v[i] !== ',') i++;
      continue;
    }
    const close = v.indexOf('"', i + 1);
    if (close === -1) return false;
    if ((weak || !isWeak) && v.slice(i, close + 1) === etag) return true;
    i = close + 1;
  }
  return false;
}

/** The request's conditional fields, undefined when absent. */
export interface Conditions {
  ifMatch: string | undefined;
  ifNoneMatch: string | undefined;
  ifModifiedSince: string | undefined;
  ifUnmodifiedSince: string | undefined;
}

/**
 * Evaluates preconditions in the order of RFC 9110 §13.2.2 for a GET or HEAD of an existing
 * representation. Returns 0 to go on, 304 or 412. `lastModified` is in whole seconds (ms value).
 */
export function evaluateConditions(c: Conditions, etag: string, lastModified: number): number {
  // Step 1 / 2: If-Match, else If-Unmodified-Since.
  if (c.ifMatch !== undefined) {
    if (!matchesEtag(c.ifMatch, etag, false)) return 412;
  } else if (c.ifUnmodifiedSince !== undefined) {
    const t = parseHttpDate(c.ifUnmodifiedSince);
    if (!Number.isNaN(t) && lastModified > t) return 412;
  }
  // Step 3 / 4: If-None-Match, else If-Modified-Since (GET and HEAD only: the caller's job).
  if (c.ifNoneMatch !== undefined) {
    if (matchesEtag(c.ifNoneMatch, etag, true)) return 304;
  } else if (c.ifModifiedSince !== undefined) {
    const t = parseHttpDate(c.ifModifiedSince);
    if (!Number.isNaN(t) && lastModified <= t) return 304;
  }
  return 0;
}

/**
 * If-Range (§13.1.5): true when the range may be applied. An entity-tag must match strongly; a
 * date must equal Last-Modified exactly and Last-Modified must itself be strong, i.e. at least
 * one second older than now (§8.8.2.2), since a file changed within its own second could change
 * again without a new date.
 */
export function ifRangeAllows(
  value: string,
  etag: string,
  lastModified: number,
  now: number,
): boolean {
  const v = value.trim();
  if (v.startsWith('"') || v.startsWith('W/')) return !v.startsWith('W/') && v === etag;
  const t = parseHttpDate(v);
  return !Number.isNaN(t) && t === lastModified && lastModified + 1000 <= now;
}
