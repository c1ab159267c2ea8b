/**
 * The HTTP/1.1 response. A whole response (`send`, `json`, `sendPrepared`) is one head string
 * plus the body, handed to the connection as one piece when the body is ASCII text and as two
 * (written together under cork) otherwise. Streamed responses (`write`/`end`) buffer their first
 * 16 KB until the next turn of the event loop, so small streamed bodies still go out with a
 * Content-Length and keep the connection reusable; past that they use chunked coding (HTTP/1.1)
 * or close-delimited bodies (HTTP/1.0).
 */
import type { Readable } from 'node:stream';
import { E, RapidError } from '../core/errors.js';
import { ResponseFields, type HeaderList } from '../core/headers.js';
import { statusHasNoBody } from '../core/status.js';
import type { PreparedResponse, RapidResponse } from '../core/types.js';
import { dateHeaderLine } from '../util/date.js';
import type { H1Request } from './request.js';
import { CHUNKED_END, chunkHeader, statusLine } from './serializer.js';

/** What a response needs from its connection (src/http1/connection.ts implements it). */
export interface ResponseSink {
  /** Queue a piece of this response's bytes (strings are latin1). */
  write(res: H1Response, piece: string | Buffer): void;
  /** The response is complete. */
  finish(res: H1Response): void;
  /** True when this response should not write more now (socket buffer full, or not its turn). */
  blocked(res: H1Response): boolean;
  /** True once the socket is gone; writes are dropped. */
  readonly closed: boolean;
  /** Resolves when `blocked(res)` is over (or the socket is gone). */
  waitDrain(res: H1Response): Promise<void>;
  /** The response cannot be completed: close the connection at once. */
  abort(res: H1Response): void;
}

const MODE_NONE = 0;
const MODE_BUFFERING = 1;
const MODE_CHUNKED = 2;
const MODE_FIXED = 3;
const MODE_CLOSE = 4;

/** Streamed bytes held back hoping the body ends soon enough to send a Content-Length. */
const STREAM_BUFFER_BYTES = 16 * 1024;

const JSON_TYPE = 'application/json; charset=utf-8';

export class H1Response extends ResponseFields implements RapidResponse {
  finished = false;
  /** Decided by the connection; a handler may turn it off with `Connection: close`. */
  keepAlive: boolean;
  /** Bytes written before this response reached the front of the pipeline queue. */
  pending: (string | Buffer)[] | null = null;
  /** Set by the connection when every byte of the response has been queued. */
  done = false;
  /** Bytes queued for this response (head and body), counted by the connection. */
  bytes = 0;
  /** Length of the head (status line and fields), so the body's share of `bytes` is known. */
  headBytes = 0;
  /** performance.now() at the end of the request head; set only when a ResponseObserver is on. */
  startMs = 0;
  /** The request's number on its connection; set only when a ResponseObserver is on. */
  seq = 0;

  readonly req: H1Request | null;
  private readonly sink: ResponseSink;
  private readonly isHead: boolean;
  private readonly http10: boolean;
  private mode = MODE_NONE;
  private buffered: (string | Buffer)[] | null = null;
  private bufferedBytes = 0;
  /** MODE_FIXED: body bytes still owed to the Content-Length the handler set. */
  private fixedLeft = 0;

  constructor(sink: ResponseSink, req: H1Request | null, keepAlive: boolean) {
    super();
    this.sink = sink;
    this.req = req;
    this.keepAlive = keepAlive;
    this.isHead = req !== null && req.method === 'HEAD';
    this.http10 = req !== null && req.httpVersion === '1.0';
  }

  /**
   * The head as one string. `length` >= 0 writes Content-Length, -1 chunked, -2 neither (close-
   * delimited or no body). User Content-Length/Transfer-Encoding/Connection are never copied:
   * framing is the engine's job (a wrong length would desynchronise the connection).
   */
  private head(length: number, block: string): string {
    if (this.headHooks !== null) block = this.runHeadHooks(block);
    const req = this.req;
    // A body announced with Expect: 100-continue that was never asked for may still be on its
    // way; the only safe end is to close (RFC 9110 §10.1.1).
    if (req !== null && req.expectContinue && !req.complete) this.keepAlive = false;
    const code = this.statusCode;
    const hl = this.headers;
    const date = dateHeaderLine();
    const c = lastHead;
    // The same inputs as the last head built (any response, any connection) within the same
    // Date second give the same head: handlers answer alike again and again.
    if (
      code === c.code &&
      length === c.length &&
      block === c.block &&
      date === c.date &&
      this.keepAlive === c.keepAliveIn &&
      this.http10 === c.http10 &&
      sameHeaders(hl, c.headers)
    ) {
      this.keepAlive = c.keepAliveOut;
      this.headersSent = true;
      this.headBytes = c.head.length;
      return c.head;
    }
    const keepAliveIn = this.keepAlive;
    let h = statusLine(code) + block;
    let hasDate = false;
    if (hl !== null) {
      const f = hl.fields;
      for (let i = 0; i < f.length; i += 3) {
        const key = f[i];
        if (key === 'content-length' || key === 'transfer-encoding') continue;
        if (key === 'connection') {
          if (/\bclose\b/i.test(f[i + 2] as string)) this.keepAlive = false;
          continue;
        }
        if (key === 'date') hasDate = true;
        h += `${f[i + 1]}: ${f[i + 2]}\r\n`;
      }
    }
    if (code >= 200 && code !== 204) {
      // RFC 9110 §8.6: no Content-Length on 1xx/204; on 304 only the selected representation's.
      if (length >= 0 && code !== 304) h += contentLengthLine(length);
      else if (length === -1) h += 'Transfer-Encoding: chunked\r\n';
    }
    if (!hasDate) h += date;
    if (!this.keepAlive) h += 'Connection: close\r\n';
    else if (this.http10) h += 'Connection: keep-alive\r\n';
    h += '\r\n';
    this.headersSent = true;
    this.headBytes = h.length;
    c.code = code;
    c.length = length;
    c.block = block;
    c.date = date;
    c.keepAliveIn = keepAliveIn;
    c.http10 = this.http10;
    // Kept by reference: a response's header list never changes once its head is built
    // (setHeader/removeHeader throw after headersSent).
    c.headers = hl;
    c.headersLength = hl === null ? 0 : hl.fields.length;
    c.keepAliveOut = this.keepAlive;
    c.head = h;
    return h;
  }

  private claimFinish(): void {
    if (this.finished) throw new RapidError(E.RESPONSE_ALREADY_SENT);
    this.finished = true;
  }

  send(body?: string | Uint8Array | null): void {
    this.claimFinish();
    this.sendWhole(body ?? null, '');
  }

  private sendWhole(body: string | Uint8Array | null, block: string): void {
    const sink = this.sink;
    const noBody = this.isHead || statusHasNoBody(this.statusCode);
    if (body === null) {
      sink.write(this, this.head(0, block));
    } else if (typeof body === 'string') {
      const len = Buffer.byteLength(body);
      const head = this.head(len, block);
      if (noBody) sink.write(this, head);
      // All-ASCII text (byte length equals character count) goes out with the head as one
      // latin1 string: one write, no Buffer.
      else if (len === body.length) sink.write(this, wholeOf(head, body));
      else {
        sink.write(this, head);
        sink.write(this, Buffer.from(body, 'utf8'));
      }
    } else {
      const head = this.head(body.byteLength, block);
      sink.write(this, head);
      if (!noBody && body.byteLength > 0) sink.write(this, toBuffer(body));
    }
    sink.finish(this);
  }

  json(value: unknown): void {
    if (this.headers === null || !this.headers.has('content-type')) {
      this.setHeader('Content-Type', JSON_TYPE);
    }
    this.send(JSON.stringify(value));
  }

  sendPrepared(prepared: PreparedResponse): void {
    this.claimFinish();
    this.statusCode = prepared.status;
    const body = prepared.body;
    const len = body.byteLength;
    if (len === 0 || len > WIRE_MAX_BODY || this.isHead || statusHasNoBody(prepared.status)) {
      this.sendWhole(body, prepared.headerBlock);
      return;
    }
    // A prepared response is sent again and again: keep head + body as one Buffer, so a hit is
    // one write of one buffer (no writev of a string and a Buffer). It is rebuilt at most once
    // per Date second; a head that differs within the second (other headers set, HTTP/1.0,
    // Connection: close) goes out as two pieces instead of churning the copy.
    const head = this.head(len, prepared.headerBlock);
    const sink = this.sink;
    const w = wires.get(prepared);
    if (w !== undefined && w.head === head) {
      sink.write(this, w.buf);
    } else {
      const date = dateHeaderLine();
      if (w === undefined || w.date !== date) {
        const buf = Buffer.allocUnsafe(head.length + len);
        buf.write(head, 0, 'latin1');
        buf.set(body, head.length);
        wires.set(prepared, { head, date, buf });
        sink.write(this, buf);
      } else {
        sink.write(this, head);
        sink.write(this, toBuffer(body));
      }
    }
    sink.finish(this);
  }

  /** A catalog error as the whole response (used for handler failures and timeouts). */
  sendError(status: number, message: string): void {
    // A new list, not clear(): a list whose head was built is never changed (see head()).
    this.headers = null;
    this.statusCode = status;
    this.setHeader('Content-Type', 'text/plain; charset=utf-8');
    this.send(`${message}\n`);
  }

  write(chunk: string | Uint8Array): boolean {
    if (this.finished) throw new RapidError(E.RESPONSE_ALREADY_SENT);
    const data = typeof chunk === 'string' ? chunk : toBuffer(chunk);
    const len = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    if (this.mode === MODE_NONE) this.startStream();
    if (len === 0) return !this.sink.blocked(this);
    if (this.mode === MODE_FIXED && this.sendsBody()) {
      // RFC 9112 §6.3: the message ends after Content-Length bytes; anything more would be read
      // by the client as the start of the next response.
      if (len > this.fixedLeft) {
        throw new RapidError(
          E.RESPONSE_LENGTH_MISMATCH,
          `${len} more bytes with ${this.fixedLeft} left of the declared length`,
        );
      }
      this.fixedLeft -= len;
    }
    if (this.mode === MODE_BUFFERING) {
      (this.buffered as (string | Buffer)[]).push(data);
      this.bufferedBytes += len;
      if (this.bufferedBytes >= STREAM_BUFFER_BYTES) this.flushStream();
      return true;
    }
    this.emitBody(data, len);
    return !this.sink.blocked(this);
  }

  private startStream(): void {
    const userLength = this.headers === null ? undefined : this.headers.get('content-length');
    if (userLength !== undefined && /^\d+$/.test(userLength)) {
      this.mode = MODE_FIXED;
      this.fixedLeft = Number(userLength);
      this.sink.write(this, this.head(this.fixedLeft, ''));
      return;
    }
    this.mode = MODE_BUFFERING;
    this.buffered = [];
    setImmediate(() => {
      if (this.mode === MODE_BUFFERING && !this.finished) this.flushStream();
    });
  }

  /** Give up on a Content-Length: send the head for a chunked/close-delimited body. */
  private flushStream(): void {
    const chunks = this.buffered as (string | Buffer)[];
    this.buffered = null;
    this.bufferedBytes = 0;
    if (this.http10) {
      // HTTP/1.0 has no chunked coding: the body ends when the connection closes.
      this.keepAlive = false;
      this.mode = MODE_CLOSE;
      this.sink.write(this, this.head(-2, ''));
    } else {
      this.mode = MODE_CHUNKED;
      this.sink.write(this, this.head(-1, ''));
    }
    for (const c of chunks)
      this.emitBody(c, typeof c === 'string' ? Buffer.byteLength(c) : c.length);
  }

  /** False for HEAD and for 1xx/204/304: their body bytes are never sent. */
  private sendsBody(): boolean {
    return !this.isHead && !statusHasNoBody(this.statusCode);
  }

  private emitBody(data: string | Buffer, len: number): void {
    if (!this.sendsBody()) return;
    const piece =
      typeof data === 'string' && len !== data.length ? Buffer.from(data, 'utf8') : data;
    if (this.mode === MODE_CHUNKED) {
      this.sink.write(this, chunkHeader(len));
      this.sink.write(this, piece);
      this.sink.write(this, '\r\n');
    } else {
      this.sink.write(this, piece);
    }
  }

  end(chunk?: string | Uint8Array | null): void {
    if (this.mode === MODE_NONE) {
      this.send(chunk);
      return;
    }
    if (chunk !== undefined && chunk !== null) this.write(chunk);
    this.claimFinish();
    if (this.mode === MODE_BUFFERING) {
      const chunks = this.buffered as (string | Buffer)[];
      this.buffered = null;
      const body =
        chunks.length === 1 && typeof chunks[0] === 'string'
          ? chunks[0]
          : Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c, 'utf8') : c)));
      this.mode = MODE_FIXED;
      this.sendWhole(body, '');
      return;
    }
    if (this.mode === MODE_CHUNKED && !this.isHead && !statusHasNoBody(this.statusCode)) {
      this.sink.write(this, CHUNKED_END);
    }
    if (this.mode === MODE_FIXED && this.fixedLeft > 0 && this.sendsBody()) {
      // Shorter than declared: the client would wait for (or take the next response as) the
      // missing bytes. Closing the connection marks the message incomplete (RFC 9112 §8).
      const left = this.fixedLeft;
      this.abort();
      throw new RapidError(E.RESPONSE_LENGTH_MISMATCH, `ended with ${left} bytes missing`);
    }
    this.sink.finish(this);
  }

  drain(): Promise<void> {
    return this.sink.waitDrain(this);
  }

  async stream(source: Readable | AsyncIterable<string | Uint8Array>): Promise<void> {
    const destroy = (source as Readable).destroy;
    try {
      for await (const chunk of source as AsyncIterable<string | Uint8Array>) {
        if (this.sink.closed) break;
        if (!this.write(chunk)) await this.sink.waitDrain(this);
        if (this.sink.closed) break;
      }
    } catch (err) {
      if (!this.headersSent && !this.sink.closed && this.mode !== MODE_BUFFERING) throw err;
      // Headers are out (or buffered ones are about to be): the body cannot be completed.
      this.abort();
      throw err;
    } finally {
      if (this.sink.closed && typeof destroy === 'function') (source as Readable).destroy();
    }
    if (!this.sink.closed && !this.finished) this.end();
  }

  /** The body cannot be completed: the connection must close so the client sees the failure. */
  abort(): void {
    this.keepAlive = false;
    this.finished = true;
    this.sink.abort(this);
  }
}

/** Bodies up to this size are kept together with their head (see sendPrepared). */
const WIRE_MAX_BODY = 16 * 1024;

/** A prepared response's last head and body as one Buffer, and the Date second it was built in. */
interface Wire {
  head: string;
  date: string;
  buf: Buffer;
}

const wires = new WeakMap<PreparedResponse, Wire>();

/** The inputs and result of the last head built (see H1Response.head). */
interface LastHead {
  code: number;
  length: number;
  block: string;
  date: string;
  keepAliveIn: boolean;
  http10: boolean;
  headers: HeaderList | null;
  headersLength: number;
  keepAliveOut: boolean;
  head: string;
}

const lastHead: LastHead = {
  code: -1,
  length: 0,
  block: '',
  date: '',
  keepAliveIn: false,
  http10: false,
  headers: null,
  headersLength: 0,
  keepAliveOut: false,
  head: '',
};

/** True when two header lists hold the same names and values in the same order. */
function sameHeaders(a: HeaderList | null, b: HeaderList | null): boolean {
  if (a === null || b === null) return a === b;
  const af = a.fields;
  const bf = b.fields;
  const n = af.length;
  if (n !== lastHead.headersLength || n !== bf.length) return false;
  // Keys follow from names; names and values decide.
  for (let i = 0; i < n; i += 3)
    if (af[i + 1] !== bf[i + 1] || af[i + 2] !== bf[i + 2]) return false;
  return true;
}

let lastWholeHead = '';
let lastWholeBody = '';
let lastWhole = '';

/** head + body, the same string again when both are the last ones (a cached head, a constant). */
function wholeOf(head: string, body: string): string {
  if (head === lastWholeHead && body === lastWholeBody) return lastWhole;
  // Small bodies only: a large one is not worth keeping alive (nor comparing).
  if (body.length > 4096) return head + body;
  lastWholeHead = head;
  lastWholeBody = body;
  return (lastWhole = head + body);
}

const CONTENT_LENGTH_LINES: string[] = [];
for (let n = 0; n < 1024; n++) CONTENT_LENGTH_LINES.push(`Content-Length: ${n}\r\n`);

/** "Content-Length: N\r\n", precomputed for small N. */
function contentLengthLine(n: number): string {
  return n < 1024 ? (CONTENT_LENGTH_LINES[n] as string) : `Content-Length: ${n}\r\n`;
}

function toBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
