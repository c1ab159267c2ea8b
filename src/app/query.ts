/**
 * Query strings (the application/x-www-form-urlencoded serialisation of the WHATWG URL standard,
 * §5.1): "+" is a space, percent-escapes are UTF-8, a key without "=" has the value "". Repeated
 * keys become arrays in order. No bracket syntax (`a[b]=c` is the key "a[b]"): nested objects from
 * a URL are a prototype-pollution and DoS magnet.
 */
import type { Query } from './types.js';

/** Most pairs parsed from one query string; the rest are ignored (bounds the work per request). */
export const MAX_QUERY_PAIRS = 1000;

/** Decode one component; a malformed escape leaves the text as it was (never throws). */
export function decodeComponent(s: string): string {
  let plus = s.indexOf('+') !== -1;
  if (plus) s = s.replace(/\+/g, ' ');
  plus = s.indexOf('%') !== -1;
  if (!plus) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Parse a query string ("?a=1&b=2" or "a=1&b=2") into a prototype-free object. */
export function parseQuery(search: string, maxPairs = MAX_QUERY_PAIRS): Query {
  const out = Object.create(null) as Query;
  let start = search.charCodeAt(0) === 0x3f /* ? */ ? 1 : 0;
  const len = search.length;
  let pairs = 0;
  while (start < len && pairs < maxPairs) {
    let end = search.indexOf('&', start);
    if (end === -1) end = len;
    if (end > start) {
      pairs++;
      const eq = search.indexOf('=', start);
      let key: string;
      let value: string;
      if (eq === -1 || eq > end) {
        key = decodeComponent(search.slice(start, end));
        value = '';
      } else {
        key = decodeComponent(search.slice(start, eq));
        value = decodeComponent(search.slice(eq + 1, end));
      }
      const prev = out[key];
      if (prev === undefined) out[key] = value;
      else if (typeof prev === 'string') out[key] = [prev, value];
      else prev.push(value);
    }
    start = end + 1;
  }
  return out;
}
