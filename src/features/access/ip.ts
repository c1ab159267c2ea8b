/**
 * IP allow/deny lists, compiled once into sorted, disjoint address ranges with a verdict each, so a
 * request costs one binary search on its (cached) parsed client address.
 *
 * Semantics: the most specific entry that contains the address decides (longest prefix; `all` is
 * the least specific of all); on a tie deny wins. An address no entry contains is allowed when the
 * allow list is empty and denied otherwise. So `allow: ['10.0.0.0/8'], deny: ['all']` lets only
 * 10/8 in, and `allow: ['10.0.0.0/8'], deny: ['10.0.0.5']` keeps 10.0.0.5 out of it.
 *
 * IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`, what a dual-stack socket reports for an IPv4
 * peer) are matched as the IPv4 address they carry, and IPv6 entries that cover the mapped range
 * (`::ffff:0:0/96` and anything wider, e.g. `::/0`) match IPv4 clients too.
 */
/** A parsed address: an IPv4 address as a number, an IPv6 address as a bigint. */
export type ParsedAddress =
  | { readonly v4: number; readonly v6: null }
  | {
      readonly v4: -1;
      readonly v6: bigint;
    };

const MAPPED_PREFIX = 0xffffn << 32n;
const V6_MAX = (1n << 128n) - 1n;
const V4_MAX = 0xffffffff;

/** Named address sets, the same names trustProxy takes (src/app/proxy.ts). */
const NAMED: Readonly<Record<string, readonly string[]>> = {
  all: ['0.0.0.0/0', '::/0'],
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

function parseV4(s: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 0x30 && c <= 0x39) {
      // No leading zeros ("010" is octal to some parsers, decimal to others: refuse it).
      if (digits > 0 && part === 0) return -1;
      part = part * 10 + (c - 0x30);
      if (part > 255 || ++digits > 3) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

function parseV6(input: string): bigint | null {
  let s = input;
  const zone = s.indexOf('%');
  if (zone !== -1) s = s.slice(0, zone);
  let tail: number | null = null;
  const lastColon = s.lastIndexOf(':');
  if (lastColon !== -1 && s.indexOf('.', lastColon) !== -1) {
    const v4 = parseV4(s.slice(lastColon + 1));
    if (v4 === -1) return null;
    tail = v4;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const double = s.indexOf('::');
  if (double !== -1 && s.indexOf('::', double + 1) !== -1) return null;
  const parse = (part: string): number[] | null => {
    if (part === '') return [];
    const groups = part.split(':');
    const out: number[] = [];
    for (const g of groups) {
      if (g.length === 0 || g.length > 4 || !/^[0-9a-fA-F]+$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (double === -1) {
    const all = parse(s);
    if (all === null || all.length !== 8) return null;
    groups = all;
  } else {
    const head = parse(s.slice(0, double));
    const rest = parse(s.slice(double + 2));
    if (head === null || rest === null || head.length + rest.length > 7) return null;
    groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  }
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  if (tail !== null) v = (v & ~0xffffffffn) | BigInt(tail);
  return v;
}

/** Parse an IPv4 or IPv6 address (zone ids dropped, mapped IPv6 as IPv4); null when it is none. */
export function parseAddress(s: string): ParsedAddress | null {
  const v4 = parseV4(s);
  if (v4 !== -1) return { v4, v6: null };
  if (s.indexOf(':') === -1) return null;
  const v6 = parseV6(s);
  if (v6 === null) return null;
  if (v6 >> 32n === 0xffffn) return { v4: Number(v6 & 0xffffffffn), v6: null };
  return { v4: -1, v6 };
}

// One parsed client address per connection in practice: a connection's requests share one
// remoteAddress string, so the last-seen memo is a pointer comparison; interleaved clients hit a
// small bounded map.
let lastText = '';
let lastParsed: ParsedAddress | null = null;
const seen = new Map<string, ParsedAddress | null>();
const SEEN_MAX = 4096;

/** parseAddress with the per-connection memo described above. */
export function clientAddress(text: string): ParsedAddress | null {
  if (text === lastText) return lastParsed;
  let parsed = seen.get(text);
  if (parsed === undefined) {
    parsed = parseAddress(text);
    if (seen.size >= SEEN_MAX) seen.clear();
    seen.set(text, parsed);
  }
  lastText = text;
  lastParsed = parsed;
  return parsed;
}

/** An address range from an entry, before compilation. */
interface Block {
  readonly family: 4 | 6;
  readonly start: bigint;
  readonly end: bigint;
  readonly deny: boolean;
}

/** Why an entry was refused (null when fine). */
export function addressEntryError(entry: string): string | null {
  try {
    toBlocks(entry, false);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

function toBlocks(raw: string, deny: boolean): Block[] {
  if (typeof raw !== 'string') throw new Error(`${String(raw)} is not a string`);
  const entry = raw.trim();
  const named = NAMED[entry.toLowerCase()];
  if (named !== undefined) return named.flatMap((e) => toBlocks(e, deny));
  const slash = entry.indexOf('/');
  const text = slash === -1 ? entry : entry.slice(0, slash);
  const bitsText = slash === -1 ? '' : entry.slice(slash + 1);
  const family =
    parseV4(text) !== -1 ? 4 : text.indexOf('%') === -1 && parseV6(text) !== null ? 6 : 0;
  if (family === 0) {
    throw new Error(
      `${JSON.stringify(raw)} is not an IPv4/IPv6 address, a CIDR block or one of ${Object.keys(NAMED).join(', ')}`,
    );
  }
  const max = family === 4 ? 32 : 128;
  const bits = slash === -1 ? max : /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
  if (!(bits >= 0 && bits <= max)) {
    throw new Error(`${JSON.stringify(raw)}: the prefix length must be 0-${max}`);
  }
  const blocks: Block[] = [];
  if (family === 4) {
    const addr = BigInt(parseV4(text));
    const size = 1n << BigInt(32 - bits);
    const start = addr & ~(size - 1n) & BigInt(V4_MAX);
    blocks.push({ family: 4, start, end: start + size - 1n, deny });
    return blocks;
  }
  const addr = parseV6(text) as bigint;
  const size = 1n << BigInt(128 - bits);
  const start = addr & ~(size - 1n) & V6_MAX;
  const end = start + size - 1n;
  // The mapped range ::ffff:0:0/96 is where IPv4 clients live, as seen from IPv6 entries.
  const mappedStart = MAPPED_PREFIX;
  const mappedEnd = MAPPED_PREFIX | 0xffffffffn;
  if (start <= mappedStart && end >= mappedEnd) {
    blocks.push({ family: 4, start: 0n, end: BigInt(V4_MAX), deny });
  } else if (start >= mappedStart && end <= mappedEnd) {
    // Entirely inside the mapped range: an IPv4 block written in IPv6 form.
    return [{ family: 4, start: start - mappedStart, end: end - mappedStart, deny }];
  }
  blocks.push({ family: 6, start, end, deny });
  return blocks;
}

/** Sorted disjoint ranges [starts[i], ends[i]] with verdicts, for one family. */
class Ranges<T extends number | bigint> {
  constructor(
    readonly starts: T[],
    readonly ends: T[],
    readonly allow: boolean[],
  ) {}

  /** The verdict of the range containing `a`, or null when none does. */
  find(a: T): boolean | null {
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((starts[mid] as T) <= a) {
        at = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (at === -1 || a > (this.ends[at] as T)) return null;
    return this.allow[at] as boolean;
  }
}

/**
 * Flatten CIDR blocks (a laminar family: any two are nested or disjoint) into disjoint ranges
 * where the innermost block decides. Blocks are sorted outer-first; a sweep with a stack of the
 * open blocks emits the pieces.
 */
function flatten(blocks: Block[]): { start: bigint; end: bigint; allow: boolean }[] {
  const sorted = [...blocks].sort((a, b) =>
    a.start !== b.start
      ? a.start < b.start
        ? -1
        : 1
      : a.end !== b.end
        ? a.end > b.end
          ? -1
          : 1
        : Number(a.deny) - Number(b.deny),
  );
  // Identical ranges: the last one (deny, after the sort) is the one that counts.
  const unique: Block[] = [];
  for (const b of sorted) {
    const prev = unique[unique.length - 1];
    if (prev !== undefined && prev.start === b.start && prev.end === b.end) unique.pop();
    unique.push(b);
  }
  const out: { start: bigint; end: bigint; allow: boolean }[] = [];
  const emit = (start: bigint, end: bigint, allow: boolean): void => {
    if (start > end) return;
    const last = out[out.length - 1];
    if (last !== undefined && last.allow === allow && last.end + 1n === start) last.end = end;
    else out.push({ start, end, allow });
  };
  const stack: Block[] = [];
  let cursor = 0n;
  for (const b of unique) {
    while (stack.length > 0 && (stack[stack.length - 1] as Block).end < b.start) {
      const top = stack.pop() as Block;
      emit(cursor, top.end, !top.deny);
      cursor = top.end + 1n;
    }
    const top = stack[stack.length - 1];
    if (top !== undefined) emit(cursor, b.start - 1n, !top.deny);
    cursor = b.start;
    stack.push(b);
  }
  while (stack.length > 0) {
    const top = stack.pop() as Block;
    emit(cursor, top.end, !top.deny);
    cursor = top.end + 1n;
  }
  return out;
}

/** A compiled allow/deny list. */
export class IpMatcher {
  private readonly v4: Ranges<number>;
  private readonly v6: Ranges<bigint>;
  /** The verdict for addresses no entry contains. */
  private readonly fallback: boolean;
  /** The verdict for a client without an IP address (a Unix socket peer): only `all` counts. */
  private readonly unknown: boolean;

  /** Throws an Error naming the entry for anything that is not an address, CIDR or name. */
  constructor(allow: readonly string[], deny: readonly string[]) {
    const blocks = [
      ...allow.flatMap((e) => toBlocks(e, false)),
      ...deny.flatMap((e) => toBlocks(e, true)),
    ];
    const v4 = flatten(blocks.filter((b) => b.family === 4));
    const v6 = flatten(blocks.filter((b) => b.family === 6));
    this.v4 = new Ranges(
      v4.map((r) => Number(r.start)),
      v4.map((r) => Number(r.end)),
      v4.map((r) => r.allow),
    );
    this.v6 = new Ranges(
      v6.map((r) => r.start),
      v6.map((r) => r.end),
      v6.map((r) => r.allow),
    );
    this.fallback = allow.length === 0;
    const everything = (b: Block): boolean =>
      b.family === 4 && b.start === 0n && b.end === BigInt(V4_MAX);
    this.unknown = blocks.some((b) => b.deny && everything(b))
      ? false
      : blocks.some(everything) || this.fallback;
  }

  /** Whether the parsed address is allowed (null: no IP address, see `unknown`). */
  check(a: ParsedAddress | null): boolean {
    if (a === null) return this.unknown;
    const verdict = a.v6 === null ? this.v4.find(a.v4) : this.v6.find(a.v6);
    return verdict ?? this.fallback;
  }

  /** check() on an address as text (the client address of a request). */
  allows(address: string): boolean {
    return this.check(clientAddress(address));
  }
}
