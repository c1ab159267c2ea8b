/**
 * Who is the client, over which protocol, asking for which host, when requests arrive through
 * reverse proxies. The peer address is a fact; X-Forwarded-For / -Proto / -Host and Forwarded
 * (RFC 7239) are claims, believed only as far as the proxies that wrote them are trusted.
 *
 * The walk (as in Express's proxy-addr): the addresses, nearest first, are the peer, then the
 * forwarded list read right to left. Each trusted address lets us believe the one before it; the
 * first untrusted address is the client. With `trustProxy: false` (the default) nothing forwarded
 * is believed.
 */
import { BlockList, isIP } from 'node:net';
import { E, RapidError } from '../core/errors.js';

/**
 * - `false`: trust no proxy (default).
 * - `true`: trust every hop (the left-most forwarded address is the client). Only when the server
 *   cannot be reached except through proxies that overwrite the headers.
 * - a number n: trust the n nearest hops (the peer is hop 0).
 * - addresses/CIDRs (`'10.0.0.0/8'`, `'::1'`, or the names `'loopback'`, `'linklocal'`,
 *   `'uniquelocal'`), as an array or a comma-separated string: trust hops with those addresses.
 * - a function `(address, hop) => boolean`.
 */
export type TrustProxy = boolean | number | string | readonly string[] | TrustFn;
export type TrustFn = (address: string, hop: number) => boolean;

const NAMED: Record<string, readonly string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** Compile a trustProxy option into a predicate, or null for "trust nothing". */
export function compileTrust(option: TrustProxy | undefined): TrustFn | null {
  if (option === undefined || option === false) return null;
  if (option === true) return () => true;
  if (typeof option === 'function') return option;
  if (typeof option === 'number') {
    if (!Number.isInteger(option) || option < 0) {
      throw new RapidError(E.APP_INVALID_OPTION, 'trustProxy hop count must be an integer >= 0');
    }
    if (option === 0) return null;
    return (_a, hop) => hop < option;
  }
  const list = typeof option === 'string' ? option.split(',') : option;
  const blocks = new BlockList();
  for (const raw of list) {
    const item = String(raw).trim();
    if (item === '') continue;
    const named = NAMED[item];
    for (const entry of named ?? [item]) addEntry(blocks, entry);
  }
  return (address) => {
    const a = normalizeAddress(address);
    const family = isIP(a);
    return family !== 0 && blocks.check(a, family === 6 ? 'ipv6' : 'ipv4');
  };
}

function addEntry(blocks: BlockList, entry: string): void {
  const slash = entry.indexOf('/');
  const addr = normalizeAddress(slash === -1 ? entry : entry.slice(0, slash));
  const family = isIP(addr);
  const bits = slash === -1 ? (family === 6 ? 128 : 32) : Number(entry.slice(slash + 1));
  const max = family === 6 ? 128 : 32;
  if (family === 0 || !Number.isInteger(bits) || bits < 0 || bits > max) {
    throw new RapidError(E.APP_INVALID_OPTION, `trustProxy: ${JSON.stringify(entry)}`);
  }
  blocks.addSubnet(addr, bits, family === 6 ? 'ipv6' : 'ipv4');
}

/** "::ffff:1.2.3.4" (an IPv4 peer on a dual-stack socket) is 1.2.3.4. */
export function normalizeAddress(a: string): string {
  if (a.length > 7 && a.charCodeAt(0) === 0x3a && /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(a)) {
    return a.slice(7);
  }
  return a;
}

/** Split a comma-separated list, respecting quoted strings (RFC 9110 §5.6.1, §5.6.4). */
function splitList(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x22) quoted = !quoted;
    else if (c === 0x5c && quoted) i++;
    else if (c === 0x2c && !quoted) {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(value.slice(start).trim());
  return out;
}

/** One element of a Forwarded header (RFC 7239 §4): for, proto, host (by is not used). */
export interface ForwardedElement {
  for: string;
  proto: string;
  host: string;
}

function unquote(v: string): string {
  if (v.length >= 2 && v.charCodeAt(0) === 0x22 && v.endsWith('"')) {
    return v.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return v;
}

/** Parse a Forwarded header into its elements, first (client-facing proxy) first. */
export function parseForwarded(value: string): ForwardedElement[] {
  const out: ForwardedElement[] = [];
  for (const element of splitList(value)) {
    const e: ForwardedElement = { for: '', proto: '', host: '' };
    let start = 0;
    let quoted = false;
    const pairs: string[] = [];
    for (let i = 0; i < element.length; i++) {
      const c = element.charCodeAt(i);
      if (c === 0x22) quoted = !quoted;
      else if (c === 0x5c && quoted) i++;
      else if (c === 0x3b && !quoted) {
        pairs.push(element.slice(start, i));
        start = i + 1;
      }
    }
    pairs.push(element.slice(start));
    for (const pair of pairs) {
      const eq = pair.indexOf('=');
      if (eq === -1) continue;
      const key = pair.slice(0, eq).trim().toLowerCase();
      const v = unquote(pair.slice(eq + 1).trim());
      if (key === 'for') e.for = forwardedNode(v);
      else if (key === 'proto') e.proto = v.toLowerCase();
      else if (key === 'host') e.host = v;
    }
    out.push(e);
  }
  return out;
}

/** A node of Forwarded for= (RFC 7239 §6): "1.2.3.4", "1.2.3.4:80", "[::1]:80", "unknown",
 * "_obfuscated". Returns the address without port (or the identifier as given). */
function forwardedNode(v: string): string {
  if (v.charCodeAt(0) === 0x5b) {
    const end = v.indexOf(']');
    return end === -1 ? v : v.slice(1, end);
  }
  const colon = v.indexOf(':');
  if (colon !== -1 && v.indexOf(':', colon + 1) === -1) return v.slice(0, colon);
  return v;
}

/** The result of resolving a request's forwarding information. */
export interface ProxyInfo {
  ip: string;
  /** Client first, the trusted chain (empty when no forwarded address was believed). */
  ips: string[];
  /** The forwarded protocol when believed ('' otherwise). */
  proto: string;
  /** The forwarded host when believed ('' otherwise). */
  host: string;
}

/**
 * Resolve client address, protocol and host. `header` reads one request header by lowercase
 * name. Forwarded (RFC 7239) is used when present; otherwise the X-Forwarded-* de-facto headers.
 * Proto and host come from the same hop as the client address: for Forwarded the element that
 * names the client; for X-Forwarded-Proto/-Host the entry at the same position as the client in
 * X-Forwarded-For when the lists line up, else the right-most entry (written by the nearest, trusted
 * proxy).
 */
export function resolveProxy(
  peer: string,
  trust: TrustFn,
  header: (name: string) => string | undefined,
): ProxyInfo {
  const address = normalizeAddress(peer);
  const info: ProxyInfo = { ip: address, ips: [], proto: '', host: '' };
  if (!trust(address, 0)) return info;
  const forwarded = header('forwarded');
  let list: string[];
  let elements: ForwardedElement[] | null = null;
  if (forwarded !== undefined) {
    elements = parseForwarded(forwarded);
    list = elements.map((e) => normalizeAddress(e.for));
  } else {
    const xff = header('x-forwarded-for');
    if (xff === undefined) {
      // A trusted proxy that forwards no address still tells us the protocol and host.
      info.proto = lastOf(header('x-forwarded-proto'), -1).toLowerCase();
      info.host = lastOf(header('x-forwarded-host'), -1);
      return info;
    }
    list = splitList(xff).map(normalizeAddress);
  }
  // Walk from the nearest hop: list[n-1] was written by the peer, list[n-2] by the hop before...
  let index = list.length - 1;
  let hop = 1;
  const chain: string[] = [];
  while (index >= 0) {
    const a = list[index] as string;
    chain.push(a);
    if (index === 0 || !trust(a, hop)) break;
    index--;
    hop++;
  }
  info.ip = chain.length === 0 ? address : (chain[chain.length - 1] as string);
  info.ips = chain.reverse();
  if (elements !== null) {
    const e = elements[index];
    if (e !== undefined) {
      info.proto = e.proto;
      info.host = e.host;
    }
  } else {
    info.proto = lastOf(header('x-forwarded-proto'), list.length === 0 ? -1 : index, list.length);
    info.proto = info.proto.toLowerCase();
    info.host = lastOf(header('x-forwarded-host'), index, list.length);
  }
  return info;
}

/** Entry `index` of a comma list when it has `expected` entries, else its last entry. */
function lastOf(value: string | undefined, index: number, expected = -1): string {
  if (value === undefined) return '';
  if (value.indexOf(',') === -1) return value.trim();
  const parts = splitList(value);
  if (index >= 0 && parts.length === expected) return parts[index] as string;
  return parts[parts.length - 1] as string;
}
