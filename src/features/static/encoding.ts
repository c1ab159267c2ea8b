/**
 * Content negotiation on Accept-Encoding (RFC 9110 §12.5.3) for the codings Rapid produces.
 *
 * The result for a header value is the list of codings the client prefers to identity, best
 * first; the handler takes the first one it has. Browsers send a handful of distinct values, so
 * results are memoised per exact header string and a negotiation is usually one Map lookup.
 */

export type Coding = 'br' | 'gzip' | 'deflate';

/** Server preference among equal q-values: smallest output first. */
export const ALL_CODINGS: readonly Coding[] = ['br', 'gzip', 'deflate'];

const EMPTY: readonly Coding[] = Object.freeze([]);

/**
 * Parses a qvalue (§12.4.2): "0" ["." 0*3DIGIT] / "1" ["." 0*3("0")]. Anything else is treated
 * as 0, so a malformed weight can only make a coding less likely to be chosen.
 */
function qvalue(s: string): number {
  if (!/^(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$/.test(s)) return 0;
  return Number(s);
}

/**
 * Codings from `enabled` that the client prefers over identity, best first. When identity is
 * refused (`identity;q=0`, or `*;q=0` without identity) every acceptable coding is listed and the
 * handler still falls back to identity if it has none of them: refusing to answer (415) helps
 * nobody for static files.
 */
export function negotiate(header: string, enabled: readonly Coding[]): readonly Coding[] {
  const q: Record<string, number> = Object.create(null) as Record<string, number>;
  let star = -1;
  for (const element of header.split(',')) {
    const parts = element.split(';');
    let name = parts[0]!.trim().toLowerCase();
    if (name.length === 0) continue;
    if (name === 'x-gzip') name = 'gzip'; // §8.4.1.3: x-gzip is an alias of gzip
    let weight = 1;
    for (let i = 1; i < parts.length; i++) {
      const p = parts[i]!.trim();
      if (p.length > 2 && (p.charCodeAt(0) | 0x20) === 0x71 && p.charCodeAt(1) === 0x3d) {
        weight = qvalue(p.slice(2).trim());
      }
    }
    if (name === '*') star = weight;
    // A coding listed twice keeps its best weight.
    else q[name] = Math.max(q[name] ?? 0, weight);
  }
  // identity is acceptable unless excluded; unlisted, it ranks below every listed coding (q is
  // set just above 0), so "gzip;q=0.5" still picks gzip.
  const identity = q.identity ?? (star === 0 ? 0 : star > 0 ? star : 0.0001);
  const scored: { coding: Coding; q: number; pref: number }[] = [];
  for (let i = 0; i < enabled.length; i++) {
    const coding = enabled[i]!;
    const w = q[coding] ?? (star >= 0 ? star : 0);
    if (w > 0 && w >= identity) scored.push({ coding, q: w, pref: ALL_CODINGS.indexOf(coding) });
  }
  if (scored.length === 0) return EMPTY;
  scored.sort((a, b) => b.q - a.q || a.pref - b.pref);
  return Object.freeze(scored.map((s) => s.coding));
}

/** negotiate() with a bounded memo per exact header value. */
export class Negotiator {
  private readonly memo = new Map<string, readonly Coding[]>();

  constructor(private readonly enabled: readonly Coding[]) {}

  choose(header: string | undefined): readonly Coding[] {
    // No Accept-Encoding: any coding is acceptable in theory (§12.5.3), but a client that says
    // nothing is safest served identity, as every major server does.
    if (header === undefined || this.enabled.length === 0) return EMPTY;
    let result = this.memo.get(header);
    if (result === undefined) {
      result = negotiate(header, this.enabled);
      if (this.memo.size >= 256) this.memo.clear();
      this.memo.set(header, result);
    }
    return result;
  }
}
