/**
 * HPACK (RFC 7541): the header compression of HTTP/2. A Decoder for request header blocks
 * (static table, dynamic table with size updates, integers, string literals, Huffman) and an
 * Encoder for response header blocks (static-table indexes, incremental indexing of repeated
 * fields so a repeated response head is a few index bytes, no Huffman: speed first).
 *
 * decode() returns a result code, never throws on input: any malformed block is
 * COMPRESSION_ERROR for the connection (RFC 9113 §4.3).
 */
import '../util/bytes.js';
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from './huffman-table.js';

/** RFC 7541 Appendix A. Index 1 is STATIC[0]. */
/* prettier-ignore */
export const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'],
  [':path', '/index.html'], [':scheme', 'http'], [':scheme', 'https'], [':status', '200'],
  [':status', '204'], [':status', '206'], [':status', '304'], [':status', '400'],
  [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''],
  ['accept', ''], ['access-control-allow-origin', ''], ['age', ''], ['allow', ''],
  ['authorization', ''], ['cache-control', ''], ['content-disposition', ''],
  ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''],
  ['date', ''], ['etag', ''], ['expect', ''], ['expires', ''], ['from', ''], ['host', ''],
  ['if-match', ''], ['if-modified-since', ''], ['if-none-match', ''], ['if-range', ''],
  ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''], ['location', ''],
  ['max-forwards', ''], ['proxy-authenticate', ''], ['proxy-authorization', ''], ['range', ''],
  ['referer', ''], ['refresh', ''], ['retry-after', ''], ['server', ''], ['set-cookie', ''],
  ['strict-transport-security', ''], ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''],
  ['via', ''], ['www-authenticate', ''],
];
const STATIC_LEN = STATIC_TABLE.length; // 61

/** First static index of each name. */
const STATIC_NAME = new Map<string, number>();
/** Static index of each name + value pair that has a value. */
const STATIC_PAIR = new Map<string, number>();
STATIC_TABLE.forEach(([n, v], i) => {
  if (!STATIC_NAME.has(n)) STATIC_NAME.set(n, i + 1);
  if (v !== '') STATIC_PAIR.set(`${n}\0${v}`, i + 1);
});

// ---------------------------------------------------------------------------------------------
// Huffman. Decoding walks a table of (state, nibble) -> (next state, symbol, flags) built from
// the code table: 4 bits at a time, at most one symbol per nibble (the shortest code is 5 bits).

const H_EMIT = 1;
const H_ACCEPT = 2; // ending here is valid padding (a prefix of EOS, under 8 bits)
const H_FAIL = 4;

/** Per (state * 16 + nibble): next state << 16 | symbol << 8 ... packed as 3 arrays. */
let hNext: Uint16Array;
let hSym: Uint8Array;
let hFlags: Uint8Array;

(function buildHuffman(): void {
  // Tree: node 0 = root; children[2n], children[2n+1]; leaf marked by sym >= 0.
  const left: number[] = [-1];
  const right: number[] = [-1];
  const sym: number[] = [-1];
  for (let s = 0; s < 257; s++) {
    const code = HUFFMAN_CODES[s] as number;
    const len = HUFFMAN_LENGTHS[s] as number;
    let node = 0;
    for (let b = len - 1; b >= 0; b--) {
      const bit = Math.floor(code / 2 ** b) % 2;
      const arr = bit === 0 ? left : right;
      let next = arr[node] as number;
      if (next === -1) {
        next = sym.length;
        left.push(-1);
        right.push(-1);
        sym.push(-1);
        arr[node] = next;
      }
      node = next;
    }
    sym[node] = s;
  }
  // States are the internal nodes, numbered in order; also track, per state, whether the path
  // from the root is all ones and shorter than 8 bits (valid padding).
  const stateOf = new Map<number, number>();
  const internal: number[] = [];
  const ones: boolean[] = [];
  const depth: number[] = [];
  const walk = (node: number, allOnes: boolean, d: number): void => {
    if (sym[node] !== -1) return;
    stateOf.set(node, internal.length);
    internal.push(node);
    ones.push(allOnes);
    depth.push(d);
    walk(left[node] as number, false, d + 1);
    walk(right[node] as number, allOnes, d + 1);
  };
  walk(0, true, 0);
  const n = internal.length;
  hNext = new Uint16Array(n * 16);
  hSym = new Uint8Array(n * 16);
  hFlags = new Uint8Array(n * 16);
  for (let st = 0; st < n; st++) {
    for (let nib = 0; nib < 16; nib++) {
      let node = internal[st] as number;
      let flags = 0;
      let emitted = 0;
      let allOnes = ones[st] as boolean;
      let d = depth[st] as number;
      for (let b = 3; b >= 0; b--) {
        const bit = (nib >> b) & 1;
        node = (bit === 0 ? left[node] : right[node]) as number;
        allOnes = allOnes && bit === 1;
        d++;
        if (node === -1) {
          flags |= H_FAIL;
          break;
        }
        const s = sym[node] as number;
        if (s !== -1) {
          if (s === 256) {
            flags |= H_FAIL; // EOS in the string is an error
            break;
          }
          flags |= H_EMIT;
          emitted = s;
          node = 0;
          allOnes = true;
          d = 0;
        }
      }
      const idx = st * 16 + nib;
      if ((flags & H_FAIL) !== 0) {
        hFlags[idx] = H_FAIL;
        continue;
      }
      if (allOnes && d < 8) flags |= H_ACCEPT;
      hNext[idx] = stateOf.get(node) as number;
      hSym[idx] = emitted;
      hFlags[idx] = flags;
    }
  }
})();

let scratch = Buffer.allocUnsafe(4096);

/** Huffman-decode `src[start, end)` to a latin1 string; null when malformed. */
export function huffmanDecode(src: Buffer, start: number, end: number): string | null {
  // Output is at most 8/5 of the input.
  const max = Math.ceil(((end - start) * 8) / 5) + 1;
  if (scratch.length < max) scratch = Buffer.allocUnsafe(Math.max(max, scratch.length * 2));
  const out = scratch;
  let o = 0;
  let state = 0;
  let accept = true;
  for (let i = start; i < end; i++) {
    const byte = src[i] as number;
    let idx = state * 16 + (byte >> 4);
    let f = hFlags[idx] as number;
    if ((f & H_FAIL) !== 0) return null;
    if ((f & H_EMIT) !== 0) out[o++] = hSym[idx] as number;
    state = hNext[idx] as number;
    idx = state * 16 + (byte & 15);
    f = hFlags[idx] as number;
    if ((f & H_FAIL) !== 0) return null;
    if ((f & H_EMIT) !== 0) out[o++] = hSym[idx] as number;
    state = hNext[idx] as number;
    accept = (f & H_ACCEPT) !== 0;
  }
  if (!accept) return null;
  return out.latin1Slice(0, o);
}

/** Bytes of the Huffman coding of a latin1 string (RFC 7541 §5.2: the code padded to octets). */
export function huffmanLength(s: string): number {
  let bits = 0;
  for (let i = 0; i < s.length; i++) bits += HUFFMAN_LENGTHS[s.charCodeAt(i) & 255] as number;
  return (bits + 7) >> 3;
}

/**
 * Huffman-code a latin1 string into out[o..]; returns the offset after it. Codes are up to 30
 * bits, so at most 7 pending bits plus one code fit in 37 bits: kept as `acc * 2^n + code`
 * in a double (exact up to 2^53), octets taken from the top.
 */
export function huffmanEncodeInto(s: string, out: Buffer, o: number): number {
  let acc = 0; // pending bits, as an integer below 2^nacc
  let nacc = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) & 255;
    const len = HUFFMAN_LENGTHS[c] as number;
    acc = acc * 2 ** len + (HUFFMAN_CODES[c] as number);
    nacc += len;
    while (nacc >= 8) {
      nacc -= 8;
      const top = Math.floor(acc / 2 ** nacc);
      out[o++] = top;
      acc -= top * 2 ** nacc;
    }
  }
  // Pad with the most significant bits of EOS (all ones).
  if (nacc > 0) out[o++] = acc * 2 ** (8 - nacc) + ((1 << (8 - nacc)) - 1);
  return o;
}

/** Huffman-encode a latin1 string. */
export function huffmanEncode(s: string): Buffer {
  const out = Buffer.alloc(huffmanLength(s));
  huffmanEncodeInto(s, out, 0);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoder

export const HPACK_OK = 0;
/** A malformed block: COMPRESSION_ERROR. */
export const HPACK_ERROR = 1;
/** The decoded list is larger than the limit given (the block was still decoded: state stays in
 * sync); the caller answers 431 or refuses the stream. */
export const HPACK_TOO_LARGE = 2;

/** HPACK entry overhead (RFC 7541 §4.1). */
const ENTRY_OVERHEAD = 32;

class DynamicTable {
  /** Entries newest first is index 0: stored in a ring, newest at `head - 1`. */
  names: string[] = [];
  values: string[] = [];
  size = 0;
  maxSize: number;
  constructor(maxSize: number) {
    this.maxSize = maxSize;
  }
  get length(): number {
    return this.names.length;
  }
  add(name: string, value: string): void {
    const entry = name.length + value.length + ENTRY_OVERHEAD;
    if (entry > this.maxSize) {
      this.names.length = 0;
      this.values.length = 0;
      this.size = 0;
      return;
    }
    this.size += entry;
    this.names.unshift(name);
    this.values.unshift(value);
    this.evict();
  }
  evict(): void {
    while (this.size > this.maxSize && this.names.length > 0) {
      const n = this.names.pop() as string;
      const v = this.values.pop() as string;
      this.size -= n.length + v.length + ENTRY_OVERHEAD;
    }
  }
  resize(max: number): void {
    this.maxSize = max;
    this.evict();
  }
}

export class HpackDecoder {
  private readonly table: DynamicTable;
  /** The largest size the peer may set by a size update (our SETTINGS_HEADER_TABLE_SIZE). */
  private readonly limit: number;

  constructor(maxTableSize = 4096) {
    this.table = new DynamicTable(maxTableSize);
    this.limit = maxTableSize;
  }

  get tableSize(): number {
    return this.table.size;
  }

  /**
   * Decode a complete header block into `out` (flat name, value pairs). `maxListBytes` bounds the
   * decoded size (RFC 9113 §6.5.2 counting) and `maxFields` the count; past either the rest is
   * still decoded for table state but not kept, and HPACK_TOO_LARGE is returned.
   */
  decode(
    block: Buffer,
    start: number,
    end: number,
    out: string[],
    maxListBytes: number,
    maxFields: number,
  ): number {
    const table = this.table;
    let p = start;
    let listBytes = 0;
    let tooLarge = false;
    let sawField = false;
    while (p < end) {
      const b = block[p] as number;
      let name: string;
      let value: string;
      if (b >= 0x80) {
        // Indexed field (§6.1).
        const r = readInt(block, p, end, 7);
        if (r < 0) return HPACK_ERROR;
        p = intEnd;
        if (r === 0) return HPACK_ERROR;
        if (r <= STATIC_LEN) {
          const e = STATIC_TABLE[r - 1] as readonly [string, string];
          name = e[0];
          value = e[1];
        } else {
          const i = r - STATIC_LEN - 1;
          if (i >= table.length) return HPACK_ERROR;
          name = table.names[i] as string;
          value = table.values[i] as string;
        }
      } else if ((b & 0xe0) === 0x20) {
        // Dynamic table size update (§6.3): only at the start of a block.
        if (sawField) return HPACK_ERROR;
        const r = readInt(block, p, end, 5);
        if (r < 0 || r > this.limit) return HPACK_ERROR;
        p = intEnd;
        table.resize(r);
        continue;
      } else {
        // Literal (§6.2): with incremental indexing (01), without (0000), never indexed (0001).
        const indexing = (b & 0xc0) === 0x40;
        const prefix = indexing ? 6 : 4;
        const r = readInt(block, p, end, prefix);
        if (r < 0) return HPACK_ERROR;
        p = intEnd;
        if (r === 0) {
          const n = readString(block, p, end);
          if (n === null) return HPACK_ERROR;
          name = n;
          p = intEnd;
        } else if (r <= STATIC_LEN) {
          name = (STATIC_TABLE[r - 1] as readonly [string, string])[0];
        } else {
          const i = r - STATIC_LEN - 1;
          if (i >= table.length) return HPACK_ERROR;
          name = table.names[i] as string;
        }
        const v = readString(block, p, end);
        if (v === null) return HPACK_ERROR;
        value = v;
        p = intEnd;
        if (indexing) table.add(name, value);
      }
      sawField = true;
      listBytes += name.length + value.length + ENTRY_OVERHEAD;
      if (listBytes > maxListBytes || out.length >= maxFields * 2) tooLarge = true;
      if (!tooLarge) out.push(name, value);
    }
    return tooLarge ? HPACK_TOO_LARGE : HPACK_OK;
  }
}

/** Where the last readInt/readString ended (one module variable instead of a result object). */
let intEnd = 0;

/** An HPACK integer with an N-bit prefix at block[p]; -1 when truncated or too large. */
function readInt(block: Buffer, p: number, end: number, prefix: number): number {
  const mask = (1 << prefix) - 1;
  let v = (block[p] as number) & mask;
  p++;
  if (v < mask) {
    intEnd = p;
    return v;
  }
  let shift = 0;
  for (;;) {
    if (p >= end) return -1;
    const b = block[p++] as number;
    v += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) break;
    if (shift > 28) return -1;
  }
  if (v > 0x7fffffff) return -1;
  intEnd = p;
  return v;
}

/** A string literal at block[p]; null when malformed. Sets intEnd past it. */
function readString(block: Buffer, p: number, end: number): string | null {
  if (p >= end) return null;
  const huff = ((block[p] as number) & 0x80) !== 0;
  const len = readInt(block, p, end, 7);
  if (len < 0) return null;
  const s = intEnd;
  if (len > end - s) return null;
  intEnd = s + len;
  if (huff) {
    const after = intEnd;
    const str = huffmanDecode(block, s, s + len);
    intEnd = after;
    return str;
  }
  return block.latin1Slice(s, s + len);
}

// ---------------------------------------------------------------------------------------------
// Encoder

/** Values longer than this, and fields that change per response, are not indexed. */
const MAX_INDEXED_VALUE = 256;
const NEVER_INDEXED_NAMES = new Set(['content-length', 'set-cookie', 'content-range', 'etag']);

export class HpackEncoder {
  /** name -> value -> insertion number (absolute) of the entry in the peer's table. */
  private readonly index = new Map<string, Map<string, number>>();
  /** Entries in insertion order (oldest first) with their sizes, for eviction. */
  private entryNames: string[] = [];
  private entryValues: string[] = [];
  private first = 0; // insertion number of entryNames[0]
  private inserted = 0;
  private size = 0;
  private maxSize = 4096;
  /** A size update to send at the start of the next block (-1: none). */
  private pendingUpdate = -1;
  /** Peer's SETTINGS_HEADER_TABLE_SIZE cap on what we use (4096 at most: more buys little). */
  setMaxTableSize(peer: number): void {
    const n = Math.min(peer, 4096);
    if (n === this.maxSize) return;
    this.maxSize = n;
    this.pendingUpdate = this.pendingUpdate === -1 ? n : Math.min(this.pendingUpdate, n);
    this.evict();
  }

  private evict(): void {
    while (this.size > this.maxSize && this.entryNames.length > 0) {
      const n = this.entryNames.shift() as string;
      const v = this.entryValues.shift() as string;
      this.size -= n.length + v.length + ENTRY_OVERHEAD;
      const m = this.index.get(n);
      if (m !== undefined && m.get(v) === this.first) {
        m.delete(v);
        if (m.size === 0) this.index.delete(n);
      }
      this.first++;
    }
  }

  private add(name: string, value: string): void {
    const entry = name.length + value.length + ENTRY_OVERHEAD;
    if (entry > this.maxSize) return;
    this.entryNames.push(name);
    this.entryValues.push(value);
    this.size += entry;
    let m = this.index.get(name);
    if (m === undefined) this.index.set(name, (m = new Map()));
    m.set(value, this.inserted++);
    this.evict();
  }

  /** Start a header block in `w`. */
  begin(w: ByteWriter): void {
    if (this.pendingUpdate !== -1) {
      // The smallest size first if it went down and up again; one update is enough here since
      // the current size is also the smallest (setMaxTableSize keeps the minimum).
      w.int(this.pendingUpdate, 5, 0x20);
      if (this.pendingUpdate !== this.maxSize) w.int(this.maxSize, 5, 0x20);
      this.pendingUpdate = -1;
    }
  }

  /** The :status pseudo-header. */
  status(w: ByteWriter, code: number): void {
    switch (code) {
      case 200:
        w.byte(0x88);
        return;
      case 204:
        w.byte(0x89);
        return;
      case 206:
        w.byte(0x8a);
        return;
      case 304:
        w.byte(0x8b);
        return;
      case 400:
        w.byte(0x8c);
        return;
      case 404:
        w.byte(0x8d);
        return;
      case 500:
        w.byte(0x8e);
        return;
    }
    this.field(w, ':status', String(code));
  }

  /** One field (name lowercase). */
  field(w: ByteWriter, name: string, value: string): void {
    const m = this.index.get(name);
    if (m !== undefined) {
      const abs = m.get(value);
      if (abs !== undefined) {
        w.int(STATIC_LEN + this.inserted - abs, 7, 0x80);
        return;
      }
    }
    const sIdx = STATIC_NAME.get(name) ?? 0;
    if (NEVER_INDEXED_NAMES.has(name) || value.length > MAX_INDEXED_VALUE) {
      // Literal without indexing (0000).
      if (sIdx === 0) {
        w.byte(0);
        w.str(name);
      } else w.int(sIdx, 4, 0);
      w.str(value);
      return;
    }
    const pair = sIdx === 0 ? 0 : (STATIC_PAIR.get(`${name}\0${value}`) ?? 0);
    if (pair !== 0) {
      w.int(pair, 7, 0x80);
      return;
    }
    // Literal with incremental indexing (01), name by static index when there is one, else by
    // a dynamic entry with the same name, else literal.
    if (sIdx !== 0) w.int(sIdx, 6, 0x40);
    else if (m !== undefined && m.size > 0) {
      let newest = -1;
      for (const abs of m.values()) if (abs > newest) newest = abs;
      w.int(STATIC_LEN + this.inserted - newest, 6, 0x40);
    } else {
      w.byte(0x40);
      w.str(name);
    }
    w.str(value);
    this.add(name, value);
  }
}

/** A growable output buffer for header blocks. */
export class ByteWriter {
  buf: Buffer;
  len = 0;
  constructor(size = 1024) {
    this.buf = Buffer.allocUnsafe(size);
  }
  reset(): void {
    this.len = 0;
  }
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const b = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(b, 0, 0, this.len);
    this.buf = b;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }
  int(v: number, prefix: number, flags: number): void {
    this.ensure(6);
    const mask = (1 << prefix) - 1;
    if (v < mask) {
      this.buf[this.len++] = flags | v;
      return;
    }
    this.buf[this.len++] = flags | mask;
    v -= mask;
    while (v >= 128) {
      this.buf[this.len++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.len++] = v;
  }
  /**
   * A string literal (latin1; header values are checked to be): Huffman-coded when that is
   * shorter, as it is for most text (RFC 7541 §5.2), else raw.
   */
  str(s: string): void {
    const hlen = huffmanLength(s);
    if (hlen < s.length) this.huff(s, hlen);
    else this.raw(s);
  }
  /** A raw (non-Huffman) string literal. */
  raw(s: string): void {
    this.int(s.length, 7, 0);
    this.ensure(s.length);
    this.len += this.buf.write(s, this.len, 'latin1');
  }
  /** A Huffman-coded string literal (`hlen`: its huffmanLength()). */
  huff(s: string, hlen = huffmanLength(s)): void {
    this.int(hlen, 7, 0x80);
    this.ensure(hlen);
    this.len = huffmanEncodeInto(s, this.buf, this.len);
  }
}
