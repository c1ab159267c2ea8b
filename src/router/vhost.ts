/**
 * Virtual hosts: pick a site from the Host header (or the authority of an absolute-form target,
 * RFC 9112 §3.2.2) and, optionally, the port the connection arrived on.
 *
 * Names (nginx server_name semantics):
 * - `example.com`            exactly that host.
 * - `*.example.com`          any subdomain, at any depth (`a.example.com`, `a.b.example.com`), not
 *                            `example.com` itself. The longest matching suffix wins.
 * - `.example.com`           both of the above.
 * - `*`                      the default site (also `setDefault`).
 * - any of these + `:port`   only for that port (a port-bound entry beats a port-less one of
 *                            the same name). IPv6 literals in brackets: `[::1]`, `[::1]:8080`.
 * Order: exact name, then wildcards longest suffix first, then the default (port-bound first).
 *
 * Host values are case-insensitive (RFC 3986 §3.2.2); a trailing dot (the DNS root) and the port
 * are stripped; IPv6 literals are compared in canonical form; non-ASCII site names are stored as
 * their IDNA ASCII form (hosts on the wire are ASCII). Everything is compiled at `add`; a lookup
 * is one Map hit on a bounded cache of recent Host values, else an exact-name Map hit and a walk
 * over the name's suffixes.
 */
import { domainToASCII } from 'node:url';
import { E, RapidError } from '../core/errors.js';

/** A parsed Host value: lower-case name without trailing dot, port or -1 when absent. */
export interface HostInfo {
  readonly name: string;
  readonly port: number;
}

/** Characters of a host name we route on: letters, digits, "-", "_" (seen in the wild), ".". */
const NAME_CHAR = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) NAME_CHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) NAME_CHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) NAME_CHAR[c] = 1;
NAME_CHAR[0x2d] = 1;
NAME_CHAR[0x5f] = 1;
NAME_CHAR[0x2e] = 1;

function parsePort(s: string): number {
  // RFC 3986 §3.2.3: port = *DIGIT; an empty port means the scheme's default, i.e. "none given".
  if (s === '') return -1;
  if (s.length > 5) return -2;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -2;
    n = n * 10 + (c - 0x30);
  }
  return n <= 65535 ? n : -2;
}

/**
 * Parse a Host header value (`host[:port]`, RFC 9110 §7.2) into its normalised name and port.
 * Returns null for a value that is not a host we could route on (empty, bad characters, empty
 * labels, unterminated or invalid IPv6 literal, bad port).
 */
export function parseHost(value: string): HostInfo | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > 300) return null;
  let name: string;
  let portText: string;
  if (value.charCodeAt(0) === 0x5b /* [ */) {
    const end = value.indexOf(']');
    if (end === -1) return null;
    const after = value.slice(end + 1);
    if (after !== '' && after.charCodeAt(0) !== 0x3a) return null;
    portText = after.slice(1);
    try {
      // The WHATWG URL parser validates the literal and serialises it canonically (RFC 5952).
      name = new URL(`http://${value.slice(0, end + 1)}/`).hostname;
    } catch {
      return null;
    }
    if (name.charCodeAt(0) !== 0x5b) return null;
  } else {
    const colon = value.indexOf(':');
    name = colon === -1 ? value : value.slice(0, colon);
    portText = colon === -1 ? '' : value.slice(colon + 1);
    if (name.charCodeAt(name.length - 1) === 0x2e) name = name.slice(0, -1);
    if (name.length === 0 || name.length > 253) return null;
    let dot = true; // no leading dot, no empty labels
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      if (c >= 128 || NAME_CHAR[c] !== 1) return null;
      const isDot = c === 0x2e;
      if (isDot && dot) return null;
      dot = isDot;
    }
    name = name.toLowerCase();
  }
  const port = parsePort(portText);
  if (port === -2) return null;
  return { name, port };
}

/** Sites for one name: one for any port and/or one per port. */
class Entry<T> {
  any: T | undefined = undefined;
  hasAny = false;
  ports: Map<number, T> | null = null;

  pick(port: number): T | undefined {
    if (port >= 0 && this.ports !== null) {
      const site = this.ports.get(port);
      if (site !== undefined || this.ports.has(port)) return site;
    }
    return this.any;
  }

  canSet(port: number): boolean {
    return port < 0 ? !this.hasAny : this.ports === null || !this.ports.has(port);
  }

  has(port: number): boolean {
    if (port >= 0 && this.ports !== null && this.ports.has(port)) return true;
    return this.hasAny;
  }

  set(port: number, site: T, what: string): void {
    if (port < 0) {
      if (this.hasAny) throw new RapidError(E.VHOST_CONFLICT, what);
      this.any = site;
      this.hasAny = true;
    } else {
      this.ports ??= new Map();
      if (this.ports.has(port)) throw new RapidError(E.VHOST_CONFLICT, what);
      this.ports.set(port, site);
    }
  }
}

/** A cached resolution of one Host value. */
interface Cached<T> {
  readonly info: HostInfo | null;
  site: T | undefined;
  /** The port `site` was resolved for; NaN before the first resolution. */
  sitePort: number;
}

const CACHE_LIMIT = 1024;

export class HostMatcher<T> {
  readonly #exact = new Map<string, Entry<T>>();
  /** Keyed by the suffix after "*." ("example.com" for "*.example.com"). */
  readonly #wild = new Map<string, Entry<T>>();
  readonly #default = new Entry<T>();
  /** Recent Host values: bounded, cleared whole when full or when a site is added. */
  readonly #cache = new Map<string, Cached<T>>();

  /**
   * Register `site` under one or more names (see the module comment for the syntax). Throws
   * RAPID_ERR_VHOST_INVALID_NAME for a malformed name and RAPID_ERR_VHOST_CONFLICT when a name
   * (with the same port, or both port-less) is already taken. All names are checked first, so a
   * failed add changes nothing.
   */
  add(names: string | readonly string[], site: T): void {
    const list = typeof names === 'string' ? [names] : [...names];
    if (list.length === 0) throw new RapidError(E.VHOST_INVALID_NAME, 'no name given');
    const plan: [Target, string][] = [];
    const seen = new Set<string>();
    for (const raw of list) {
      for (const t of compileName(raw)) {
        const what = `${JSON.stringify(raw)} is already registered`;
        const id = `${t.kind} ${t.key} ${t.port}`;
        if (seen.has(id)) throw new RapidError(E.VHOST_CONFLICT, `${what} (listed twice)`);
        seen.add(id);
        const entry = this.#entry(t, false);
        if (entry !== undefined && !entry.canSet(t.port)) {
          throw new RapidError(E.VHOST_CONFLICT, what);
        }
        plan.push([t, what]);
      }
    }
    for (const [t, what] of plan) this.#entry(t, true)!.set(t.port, site, what);
    this.#cache.clear();
  }

  #entry(t: Target, create: boolean): Entry<T> | undefined {
    if (t.kind === 'default') return this.#default;
    const map = t.kind === 'exact' ? this.#exact : this.#wild;
    let e = map.get(t.key);
    if (e === undefined && create) map.set(t.key, (e = new Entry<T>()));
    return e;
  }

  /** The site for hosts nothing else matches (for `port` only, when given). */
  setDefault(site: T, port?: number): void {
    this.add(port === undefined ? '*' : `*:${port}`, site);
  }

  /**
   * The site for a Host value, or undefined when nothing (not even a default) matches. `port` is
   * the local port of the connection; without it the port in the Host value is used. A value that
   * is not a valid host gets the default site. Never throws.
   */
  find(host: string, port?: number): T | undefined {
    let c = this.#cache.get(host);
    if (c === undefined) {
      if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
      c = { info: parseHost(host), site: undefined, sitePort: NaN };
      this.#cache.set(host, c);
    }
    const p = port ?? (c.info === null ? -1 : c.info.port);
    if (c.sitePort === p) return c.site;
    c.site = c.info === null ? this.#default.pick(p) : this.#resolve(c.info.name, p);
    c.sitePort = p;
    return c.site;
  }

  #resolve(name: string, port: number): T | undefined {
    const e = this.#exact.get(name);
    if (e !== undefined && e.has(port)) return e.pick(port);
    if (this.#wild.size !== 0 && name.charCodeAt(0) !== 0x5b) {
      // Longest suffix first: "a.b.example.com" tries b.example.com, example.com, com.
      for (let i = name.indexOf('.'); i !== -1; i = name.indexOf('.', i + 1)) {
        const w = this.#wild.get(name.slice(i + 1));
        if (w !== undefined && w.has(port)) return w.pick(port);
      }
    }
    return this.#default.pick(port);
  }
}

/** Where one name pattern goes: an exact name, a wildcard suffix, or the default site. */
interface Target {
  readonly kind: 'exact' | 'wild' | 'default';
  readonly key: string;
  readonly port: number;
}

/** One name pattern as [map (null = default), key, port] targets. */
function compileName(raw: string): Target[] {
  const bad = (why: string): RapidError =>
    new RapidError(E.VHOST_INVALID_NAME, `${JSON.stringify(raw)}: ${why}`);
  if (typeof raw !== 'string' || raw === '') throw bad('empty name');
  if (raw === '*' || raw.startsWith('*:')) {
    const port = parsePort(raw.slice(2));
    if (port === -2 || (raw.length > 1 && port === -1)) throw bad('bad port');
    return [{ kind: 'default', key: '', port }];
  }
  let kind: 'exact' | 'wild' | 'both' = 'exact';
  let rest = raw;
  if (raw.startsWith('*.')) {
    kind = 'wild';
    rest = raw.slice(2);
  } else if (raw.charCodeAt(0) === 0x2e) {
    kind = 'both';
    rest = raw.slice(1);
  }
  if (rest.includes('*')) throw bad('"*" only as a whole leading label ("*.example.com")');
  // Names may be written in Unicode; hosts arrive in their IDNA ASCII form (RFC 5890).
  if (/[^\x20-\x7e]/.test(rest)) {
    const colon = rest.lastIndexOf(':');
    const host = colon === -1 ? rest : rest.slice(0, colon);
    const ascii = domainToASCII(host);
    if (ascii === '') throw bad('not a valid internationalised domain name');
    rest = ascii + (colon === -1 ? '' : rest.slice(colon));
  }
  const info = parseHost(rest);
  if (info === null) throw bad('not a valid host[:port]');
  if (kind !== 'exact' && info.name.charCodeAt(0) === 0x5b)
    throw bad('no wildcard on an IP literal');
  const out: Target[] = [];
  if (kind !== 'wild') out.push({ kind: 'exact', key: info.name, port: info.port });
  if (kind !== 'exact') out.push({ kind: 'wild', key: info.name, port: info.port });
  return out;
}
