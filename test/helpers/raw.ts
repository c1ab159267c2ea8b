/**
 * A raw HTTP/1.1 client on `node:net` for protocol tests: it sends exact bytes (optionally split
 * into pieces with a turn of the event loop between them) and splits the byte stream it gets back
 * into responses with a minimal, strict response reader (Content-Length, chunked, close-delimited,
 * no body for 1xx/204/304 and HEAD), so tests can assert statuses, header lines, bodies and the
 * order of pipelined responses exactly as they were on the wire.
 */
import net from 'node:net';
import { setImmediate as tick } from 'node:timers/promises';

export interface RawResponse {
  version: string;
  status: number;
  reason: string;
  /** Header lines in order, names lowercased. */
  headers: [string, string][];
  /** The head exactly as received (status line and header lines, without the final CRLF). */
  head: string;
  body: Buffer;
  /** How the body was delimited. */
  framing: 'none' | 'length' | 'chunked' | 'close';
  trailers: [string, string][];
  /** The first value of a header (lowercase name), or undefined. */
  header(name: string): string | undefined;
  /** Every value of a header, one per field line. */
  all(name: string): string[];
  text(): string;
}

function makeResponse(
  head: string,
  version: string,
  status: number,
  reason: string,
  headers: [string, string][],
): RawResponse {
  return {
    version,
    status,
    reason,
    headers,
    head,
    body: Buffer.alloc(0),
    framing: 'none',
    trailers: [],
    header(name) {
      const n = name.toLowerCase();
      return headers.find((h) => h[0] === n)?.[1];
    },
    all(name) {
      const n = name.toLowerCase();
      return headers.filter((h) => h[0] === n).map((h) => h[1]);
    },
    text() {
      return this.body.toString('utf8');
    },
  };
}

/**
 * Splits a response byte stream into responses, incrementally (linear in the bytes received, so
 * multi-megabyte bodies are cheap). `isHead(i)` says whether the i-th final response answers a
 * HEAD request (no body whatever its headers say, RFC 9110 §9.3.2).
 */
export class ResponseReader {
  readonly responses: RawResponse[] = [];
  /** Bytes not yet consumed (a partial line, or what follows the last complete response). */
  rest: Buffer = Buffer.alloc(0);
  /** Set when the stream cannot be parsed as HTTP/1.1 responses. */
  error: string | null = null;
  private finals = 0;
  private state: 'head' | 'length' | 'size' | 'data' | 'crlf' | 'trailers' | 'close' = 'head';
  private current: RawResponse | null = null;
  private parts: Buffer[] = [];
  private remaining = 0;
  private isHead: (index: number) => boolean;

  constructor(isHead: (index: number) => boolean = () => false) {
    this.isHead = isHead;
  }

  /** Final (non-1xx) responses parsed so far. */
  get finalCount(): number {
    return this.finals;
  }

  push(chunk: Buffer): void {
    this.rest = this.rest.length === 0 ? chunk : Buffer.concat([this.rest, chunk]);
    while (this.error === null && this.step());
  }

  /** The peer closed: a close-delimited body ends here. */
  end(): void {
    if (this.current !== null && this.state === 'close') {
      this.parts.push(this.rest);
      this.rest = Buffer.alloc(0);
      this.complete();
    }
  }

  private complete(): void {
    const res = this.current as RawResponse;
    res.body = Buffer.concat(this.parts);
    this.parts = [];
    this.current = null;
    this.state = 'head';
    this.responses.push(res);
    if (res.status >= 200) this.finals++;
  }

  /** Take up to `remaining` body bytes from rest. */
  private take(): void {
    const n = Math.min(this.remaining, this.rest.length);
    if (n > 0) {
      this.parts.push(Buffer.from(this.rest.subarray(0, n)));
      this.rest = this.rest.subarray(n);
      this.remaining -= n;
    }
  }

  private line(): string | null {
    const end = this.rest.indexOf('\r\n');
    if (end === -1) return null;
    const text = this.rest.toString('latin1', 0, end);
    this.rest = this.rest.subarray(end + 2);
    return text;
  }

  /** One state transition; false when more input is needed. */
  private step(): boolean {
    switch (this.state) {
      case 'head':
        return this.head();
      case 'length':
        this.take();
        if (this.remaining > 0) return false;
        this.complete();
        return true;
      case 'size': {
        const line = this.line();
        if (line === null) return false;
        const sizeText = line.split(';')[0]?.trim() ?? '';
        if (!/^[0-9a-fA-F]+$/.test(sizeText)) {
          this.error = `bad chunk size ${JSON.stringify(line)}`;
          return false;
        }
        this.remaining = parseInt(sizeText, 16);
        this.state = this.remaining === 0 ? 'trailers' : 'data';
        return true;
      }
      case 'data':
        this.take();
        if (this.remaining > 0) return false;
        this.state = 'crlf';
        return true;
      case 'crlf':
        if (this.rest.length < 2) return false;
        if (this.rest[0] !== 13 || this.rest[1] !== 10) {
          this.error = 'chunk data not followed by CRLF';
          return false;
        }
        this.rest = this.rest.subarray(2);
        this.state = 'size';
        return true;
      case 'trailers': {
        const line = this.line();
        if (line === null) return false;
        if (line === '') this.complete();
        else {
          const colon = line.indexOf(':');
          (this.current as RawResponse).trailers.push([
            line.slice(0, colon).toLowerCase(),
            line.slice(colon + 1).trim(),
          ]);
        }
        return true;
      }
      case 'close':
        if (this.rest.length > 0) {
          this.parts.push(Buffer.from(this.rest));
          this.rest = Buffer.alloc(0);
        }
        return false;
    }
  }

  private head(): boolean {
    const buf = this.rest;
    const headEnd = buf.indexOf('\r\n\r\n');
    if (headEnd === -1) return false;
    const head = buf.toString('latin1', 0, headEnd);
    this.rest = buf.subarray(headEnd + 4);
    const lines = head.split('\r\n');
    const m = /^(HTTP\/\d\.\d) (\d{3}) ?(.*)$/.exec(lines[0] ?? '');
    if (m === null) {
      this.error = `bad status line ${JSON.stringify(lines[0])}`;
      return false;
    }
    const headers: [string, string][] = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) {
        this.error = `bad header line ${JSON.stringify(line)}`;
        return false;
      }
      headers.push([line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()]);
    }
    const status = Number(m[2]);
    const res = makeResponse(head, m[1] as string, status, m[3] as string, headers);
    this.current = res;
    this.parts = [];
    const te = res.header('transfer-encoding');
    const cl = res.header('content-length');
    if (status < 200 || status === 204 || status === 304 || this.isHead(this.finals)) {
      res.framing = 'none';
      this.complete();
    } else if (te !== undefined) {
      if (!/(^|,)\s*chunked\s*$/i.test(te)) {
        this.error = `unsupported transfer-encoding ${te}`;
        return false;
      }
      res.framing = 'chunked';
      this.state = 'size';
    } else if (cl !== undefined) {
      if (res.all('content-length').length !== 1 || !/^\d+$/.test(cl)) {
        this.error = `bad content-length ${res.all('content-length').join('|')}`;
        return false;
      }
      res.framing = 'length';
      this.remaining = Number(cl);
      this.state = 'length';
    } else {
      res.framing = 'close';
      this.state = 'close';
    }
    return true;
  }
}

export interface SendOptions {
  /** Split the bytes into pieces of this size (1 = byte by byte), a setImmediate between them. */
  pieceSize?: number;
  /** Or split at these offsets. */
  splitAt?: number[];
}

/** Split bytes for sending. */
export function pieces(data: Buffer, opts: SendOptions = {}): Buffer[] {
  if (opts.splitAt !== undefined) {
    const out: Buffer[] = [];
    let prev = 0;
    for (const at of [...opts.splitAt, data.length]) {
      if (at > prev) out.push(data.subarray(prev, at));
      prev = Math.max(prev, at);
    }
    return out;
  }
  const size = opts.pieceSize ?? data.length;
  if (size <= 0 || size >= data.length) return [data];
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

export class RawClient {
  readonly socket: net.Socket;
  readonly reader: ResponseReader;
  private chunks: Buffer[] = [];
  private receivedCache: Buffer | null = null;
  closed = false;
  /** Set when the server reset the connection (ECONNRESET) rather than closing it. */
  resetError: Error | null = null;
  /** The server ended its side (FIN). */
  ended = false;
  private waiters = new Set<() => void>();
  /** After an upgrade: bytes are another protocol's, so a response parse error is expected. */
  rawMode = false;
  /** Resolves when the socket has closed. */
  readonly closedPromise: Promise<void>;

  private constructor(socket: net.Socket, isHead?: (index: number) => boolean) {
    this.socket = socket;
    this.reader = new ResponseReader(isHead);
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.receivedCache = null;
      this.reader.push(chunk);
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.reader.end();
      this.wake();
    });
    socket.on('error', (err) => {
      this.resetError = err;
    });
    this.closedPromise = new Promise((resolve) => {
      socket.on('close', () => {
        this.closed = true;
        this.reader.end();
        this.wake();
        resolve();
      });
    });
  }

  /** Connect to 127.0.0.1:port. `isHead(i)`: the i-th final response answers a HEAD request. */
  static connect(
    port: number,
    opts: { isHead?: (index: number) => boolean; allowHalfOpen?: boolean } = {},
  ): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({
        port,
        host: '127.0.0.1',
        allowHalfOpen: opts.allowHalfOpen ?? false,
      });
      socket.setNoDelay(true);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawClient(socket, opts.isHead));
      });
    });
  }

  /** Every byte received. */
  get received(): Buffer {
    return (this.receivedCache ??= Buffer.concat(this.chunks));
  }

  get responses(): RawResponse[] {
    return this.reader.responses;
  }

  /** Final (non-1xx) responses received. */
  get finals(): RawResponse[] {
    return this.reader.responses.filter((r) => r.status >= 200);
  }

  private wake(): void {
    for (const w of this.waiters) w();
  }

  /** Send bytes (strings as latin1), split as asked with a turn of the event loop in between. */
  async send(data: string | Buffer, opts: SendOptions = {}): Promise<void> {
    const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    const list = pieces(buf, opts);
    for (let i = 0; i < list.length; i++) {
      if (this.socket.destroyed) return;
      this.socket.write(list[i] as Buffer);
      if (i < list.length - 1) await tick();
    }
  }

  /**
   * Wait until `pred` holds; re-checked on every read and at close. Rejects when the connection
   * closes without it (with what was received, for the failure message).
   */
  until(pred: (c: RawClient) => boolean, what = 'condition'): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (pred(this)) {
          this.waiters.delete(check);
          resolve();
        } else if (this.closed || (this.reader.error !== null && !this.rawMode)) {
          this.waiters.delete(check);
          reject(
            new Error(
              `connection ${this.closed ? 'closed' : 'unparseable: ' + this.reader.error} before ${what}; ` +
                `received ${this.received.length} bytes: ${JSON.stringify(this.received.toString('latin1', 0, Math.min(this.received.length, 2000)))}`,
            ),
          );
        }
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Wait for n final responses; returns them. */
  async waitResponses(n: number): Promise<RawResponse[]> {
    await this.until((c) => c.reader.finalCount >= n, `${n} responses`);
    return this.finals.slice(0, n);
  }

  /** Wait until the server closes the connection. */
  async waitClose(): Promise<void> {
    await this.closedPromise;
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * Send one byte sequence on a new connection and collect the responses: until `responses` final
 * responses arrived (keeping the connection open), or, without it, until the server closes.
 */
export async function exchange(
  port: number,
  data: string | Buffer,
  opts: SendOptions & {
    responses?: number;
    isHead?: (index: number) => boolean;
    /** Half-close after sending. */
    end?: boolean;
  } = {},
): Promise<{ client: RawClient; responses: RawResponse[] }> {
  const client = await RawClient.connect(port, { isHead: opts.isHead });
  await client.send(data, opts);
  if (opts.end === true) client.end();
  if (opts.responses !== undefined) {
    const responses = await client.waitResponses(opts.responses);
    return { client, responses };
  }
  await client.waitClose();
  return { client, responses: client.finals };
}

/** Build a request: `req('GET', '/x', {host:'a'}, body)`; adds Host and Content-Length. */
export function req(
  method: string,
  target: string,
  headers: Record<string, string | number> = {},
  body?: string | Buffer,
  version = '1.1',
): Buffer {
  let head = `${method} ${target} HTTP/${version}\r\n`;
  const lower = Object.keys(headers).map((k) => k.toLowerCase());
  if (!lower.includes('host') && version === '1.1') head += 'Host: test\r\n';
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  if (
    body !== undefined &&
    !lower.includes('content-length') &&
    !lower.includes('transfer-encoding')
  ) {
    head += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
  }
  head += '\r\n';
  const h = Buffer.from(head, 'latin1');
  if (body === undefined) return h;
  return Buffer.concat([h, typeof body === 'string' ? Buffer.from(body, 'utf8') : body]);
}

/** A chunked body from pieces, with optional trailer lines ("Name: value"). */
export function chunked(parts: (string | Buffer)[], trailers: string[] = []): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    const b = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
    if (b.length === 0) continue;
    out.push(Buffer.from(`${b.length.toString(16)}\r\n`, 'latin1'), b, Buffer.from('\r\n'));
  }
  out.push(Buffer.from(`0\r\n${trailers.map((t) => `${t}\r\n`).join('')}\r\n`, 'latin1'));
  return Buffer.concat(out);
}

/** Wait `n` turns of the event loop (setImmediate), e.g. to let a server read what was sent. */
export async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await tick();
}

/** Poll `pred` every `ms` until it holds (for outcomes observed from outside, e.g. counters). */
export async function eventually(
  pred: () => boolean,
  what = 'condition',
  { ms = 10, limit = 10_000 } = {},
): Promise<void> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > limit) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, ms));
  }
}

/**
 * Wait until a counter stops changing: it keeps the same value over `stable` consecutive polls
 * `ms` apart. Used to observe that reading has been paused (bytesRead stops growing).
 */
export async function settled(
  read: () => number,
  { ms = 50, stable = 4, limit = 15_000 } = {},
): Promise<number> {
  const start = Date.now();
  let last = read();
  let same = 0;
  while (same < stable) {
    if (Date.now() - start > limit) throw new Error('value never settled');
    await new Promise((r) => setTimeout(r, ms));
    const v = read();
    if (v === last) same++;
    else {
      same = 0;
      last = v;
    }
  }
  return last;
}
