/**
 * The FastCGI 1.0 wire format (https://fastcgi-archives.github.io/FastCGI_Specification.html):
 * records of an 8-byte header (version, type, request id, content length, padding length) and
 * up to 65535 content bytes plus padding. Rapid is a Responder client: BEGIN_REQUEST, PARAMS
 * (name-value pairs, terminated by an empty PARAMS record), STDIN (terminated by an empty STDIN
 * record) go out; STDOUT, STDERR and END_REQUEST come back.
 *
 * `RecordParser.execute` returns what it found instead of throwing, and is correct on any split
 * of the byte stream: a record whose content arrives whole in one read is returned as a view
 * (no copy); only a record split across reads is assembled.
 */

export const FCGI_VERSION = 1;
export const BEGIN_REQUEST = 1;
export const ABORT_REQUEST = 2;
export const END_REQUEST = 3;
export const PARAMS = 4;
export const STDIN = 5;
export const STDOUT = 6;
export const STDERR = 7;
export const GET_VALUES_RESULT = 10;
export const UNKNOWN_TYPE = 11;

export const ROLE_RESPONDER = 1;
export const FLAG_KEEP_CONN = 1;

/** protocolStatus of END_REQUEST. */
export const REQUEST_COMPLETE = 0;
export const CANT_MPX_CONN = 1;
export const OVERLOADED = 2;
export const UNKNOWN_ROLE = 3;

export const MAX_CONTENT = 0xffff;
const HEADER = 8;

function header(type: number, id: number, length: number, padding: number): Buffer {
  const h = Buffer.allocUnsafe(HEADER);
  h[0] = FCGI_VERSION;
  h[1] = type;
  h.writeUInt16BE(id, 2);
  h.writeUInt16BE(length, 4);
  h[6] = padding;
  h[7] = 0;
  return h;
}

/** BEGIN_REQUEST for a Responder; `keepConn` asks the app to keep the connection open. */
export function beginRequest(id: number, keepConn: boolean): Buffer {
  const b = Buffer.alloc(HEADER + 8);
  header(BEGIN_REQUEST, id, 8, 0).copy(b, 0);
  b.writeUInt16BE(ROLE_RESPONDER, HEADER);
  b[HEADER + 2] = keepConn ? FLAG_KEEP_CONN : 0;
  return b;
}

/**
 * A stream's data as records (STDIN, PARAMS): split at 65535 bytes, padded to a multiple of 8
 * (the spec recommends it). An empty `data` is the stream's end record.
 */
export function streamRecords(type: number, id: number, data: Buffer): Buffer[] {
  if (data.length === 0) return [header(type, id, 0, 0)];
  const out: Buffer[] = [];
  for (let off = 0; off < data.length; off += MAX_CONTENT) {
    const part = data.subarray(off, Math.min(off + MAX_CONTENT, data.length));
    const pad = (8 - (part.length & 7)) & 7;
    out.push(header(type, id, part.length, pad), part);
    if (pad > 0) out.push(Buffer.alloc(pad));
  }
  return out;
}

function lengthBytes(n: number): number {
  return n < 128 ? 1 : 4;
}

function writeLength(b: Buffer, off: number, n: number): number {
  if (n < 128) {
    b[off] = n;
    return off + 1;
  }
  b.writeUInt32BE((n | 0x80000000) >>> 0, off);
  return off + 4;
}

/**
 * Name-value pairs (1-byte lengths below 128, else 4 bytes with the high bit set), in one
 * buffer. Names and values are byte strings (latin1: one char per byte), as header values are.
 */
export function encodeParams(params: Readonly<Record<string, string>>): Buffer {
  let size = 0;
  for (const name in params) {
    const v = params[name] as string;
    size += lengthBytes(name.length) + lengthBytes(v.length) + name.length + v.length;
  }
  const b = Buffer.allocUnsafe(size);
  let off = 0;
  for (const name in params) {
    const v = params[name] as string;
    off = writeLength(b, off, name.length);
    off = writeLength(b, off, v.length);
    off += b.write(name, off, 'latin1');
    off += b.write(v, off, 'latin1');
  }
  return b;
}

/** Decode name-value pairs; null when malformed. (Used for GET_VALUES_RESULT and in tests.) */
export function decodeParams(b: Buffer): Record<string, string> | null {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  let off = 0;
  const readLen = (): number => {
    if (off >= b.length) return -1;
    if (b[off]! < 128) return b[off++]!;
    if (off + 4 > b.length) return -1;
    const n = b.readUInt32BE(off) & 0x7fffffff;
    off += 4;
    return n;
  };
  while (off < b.length) {
    const nl = readLen();
    const vl = readLen();
    if (nl < 0 || vl < 0 || off + nl + vl > b.length) return null;
    out[b.toString('latin1', off, off + nl)] = b.toString('latin1', off + nl, off + nl + vl);
    off += nl + vl;
  }
  return out;
}

/** One record from the application. */
export interface FcgiRecord {
  type: number;
  requestId: number;
  content: Buffer;
}

/** execute() results. */
export interface ParseResult {
  records: FcgiRecord[];
  /** Set when the stream is not FastCGI (a wrong version byte): the connection is unusable. */
  error: string | null;
}

const S_HEADER = 0;
const S_CONTENT = 1;
const S_PADDING = 2;

export class RecordParser {
  private state = S_HEADER;
  private readonly head = Buffer.alloc(HEADER);
  private headFill = 0;
  private type = 0;
  private id = 0;
  private length = 0;
  private padding = 0;
  /** Content of a record split across reads. */
  private parts: Buffer[] | null = null;
  private partsFill = 0;
  private failed: string | null = null;

  execute(buf: Buffer): ParseResult {
    const records: FcgiRecord[] = [];
    if (this.failed !== null) return { records, error: this.failed };
    let off = 0;
    const len = buf.length;
    while (off < len) {
      if (this.state === S_HEADER) {
        const take = Math.min(HEADER - this.headFill, len - off);
        if (this.headFill === 0 && take === HEADER) {
          this.readHeader(buf, off);
        } else {
          buf.copy(this.head, this.headFill, off, off + take);
          this.headFill += take;
          if (this.headFill < HEADER) return { records, error: null };
          this.readHeader(this.head, 0);
        }
        off += take;
        this.headFill = 0;
        if (this.failed !== null) return { records, error: this.failed };
        if (this.length === 0) {
          records.push({ type: this.type, requestId: this.id, content: Buffer.alloc(0) });
          this.state = this.padding > 0 ? S_PADDING : S_HEADER;
        } else {
          this.state = S_CONTENT;
        }
      } else if (this.state === S_CONTENT) {
        const need = this.length - this.partsFill;
        const take = Math.min(need, len - off);
        if (this.parts === null && take === this.length) {
          records.push({
            type: this.type,
            requestId: this.id,
            content: buf.subarray(off, off + take),
          });
        } else {
          // Assembled from copies: views would pin every read the record was split across.
          (this.parts ??= []).push(Buffer.from(buf.subarray(off, off + take)));
          this.partsFill += take;
          if (this.partsFill === this.length) {
            const content = Buffer.concat(this.parts, this.length);
            this.parts = null;
            this.partsFill = 0;
            records.push({ type: this.type, requestId: this.id, content });
          }
        }
        off += take;
        if (this.parts === null) this.state = this.padding > 0 ? S_PADDING : S_HEADER;
      } else {
        const take = Math.min(this.padding, len - off);
        this.padding -= take;
        off += take;
        if (this.padding === 0) this.state = S_HEADER;
      }
    }
    return { records, error: null };
  }

  /** True between records (nothing partial pending): a clean place for the stream to end. */
  get idle(): boolean {
    return this.state === S_HEADER && this.headFill === 0;
  }

  private readHeader(b: Buffer, off: number): void {
    if (b[off] !== FCGI_VERSION) {
      this.failed = `unsupported FastCGI version ${b[off]}`;
      return;
    }
    this.type = b[off + 1]!;
    this.id = b.readUInt16BE(off + 2);
    this.length = b.readUInt16BE(off + 4);
    this.padding = b[off + 6]!;
  }
}

/** END_REQUEST content: [appStatus, protocolStatus], or null when too short. */
export function parseEndRequest(content: Buffer): [number, number] | null {
  if (content.length < 5) return null;
  return [content.readUInt32BE(0), content[4]!];
}
