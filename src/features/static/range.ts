/**
 * The Range request header for the "bytes" unit (RFC 9110 §14.1.2, §14.2).
 *
 * parseRange returns the satisfiable ranges in the order requested, RANGE_UNSATISFIABLE when
 * none is (416), or undefined when the header must be ignored and the whole representation
 * sent: unknown unit, syntax error, a last-pos before its first-pos, or a request that looks
 * like an attack (§14.1.1 lets a server ignore many or overlapping ranges).
 */

/** One satisfiable byte range, both ends inclusive as in Content-Range. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export const RANGE_UNSATISFIABLE = -1;

const OWS = /^[ \t]*|[ \t]*$/g;
const DIGITS = /^[0-9]+$/;

export function parseRange(
  header: string,
  size: number,
  maxRanges: number,
): ByteRange[] | typeof RANGE_UNSATISFIABLE | undefined {
  const eq = header.indexOf('=');
  if (eq === -1) return undefined;
  // The range unit is case-insensitive (§14.1); only bytes is defined.
  if (header.slice(0, eq).trim().toLowerCase() !== 'bytes') return undefined;
  const specs = header.slice(eq + 1).split(',');
  const ranges: ByteRange[] = [];
  let seen = 0;
  let total = 0;
  for (const raw of specs) {
    const spec = raw.replace(OWS, '');
    // Empty list elements are allowed and ignored (§5.6.1.2).
    if (spec.length === 0) continue;
    if (++seen > maxRanges) return undefined;
    const dash = spec.indexOf('-');
    if (dash === -1) return undefined;
    const first = spec.slice(0, dash);
    const last = spec.slice(dash + 1);
    let start: number;
    let end: number;
    if (first.length === 0) {
      // suffix-range: the last N bytes. "-0" is valid syntax but never satisfiable.
      if (!DIGITS.test(last)) return undefined;
      const n = Number(last);
      if (n === 0 || size === 0) continue;
      start = n >= size ? 0 : size - n;
      end = size - 1;
    } else {
      if (!DIGITS.test(first)) return undefined;
      start = Number(first);
      if (last.length === 0) {
        end = size - 1;
      } else {
        if (!DIGITS.test(last)) return undefined;
        end = Number(last);
        // §14.1.1: a last-pos below the first-pos makes the whole field invalid.
        if (end < start) return undefined;
        if (end >= size) end = size - 1;
      }
      if (start >= size) continue;
    }
    total += end - start + 1;
    ranges.push({ start, end });
  }
  if (seen === 0) return undefined;
  if (ranges.length === 0) return RANGE_UNSATISFIABLE;
  // More bytes asked for than the file has means overlapping ranges: a multipart response
  // could then be many times the file's size (§17.15); send the file once instead.
  if (ranges.length > 1 && total > size) return undefined;
  return ranges;
}
