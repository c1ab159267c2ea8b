/**
 * The request/response pair of one stream of Rapid's own HTTP/2 engine (src/http2/connection.ts):
 * plain objects, no Duplex per stream. H2StreamRequest maps the decoded header list onto
 * RapidRequest exactly like H2Request does for node:http2 streams (src/http2/request-head.ts); H2StreamResponse is
 * RapidResponse whose head is HPACK-encoded straight into the connection's output and whose body
 * goes out as DATA under both flow-control windows (the connection queues what does not fit).
 *
 * Request bodies: DATA is buffered per stream up to the stream window (64 KiB) and the window is
 * only re-opened (WINDOW_UPDATE) as the handler consumes it, so a handler that does not read
 * holds a client at one window per stream.
 */
import { Readable } from 'node:stream';
import { E, RapidError } from '../core/errors.js';
import { statusHasNoBody } from '../core/status.js';
import type { PreparedResponse, RapidRequest } from '../core/types.js';
import { headerOf, headersObject, parseJsonBody } from '../http1/request.js';
import { H2ResponseBase } from './response-base.js';
import {
  bodyOverrun,
  bodyShort,
  initRequest,
  readBody,
  type H2RequestContext,
} from './request-head.js';

/** What a stream needs from its connection. */
export interface StreamOwner {
  /** Start an HPACK block with :status; then headField() each field; endHead() frames it. */
  beginHead(status: number): void;
  headField(name: string, value: string): void;
  headLength(length: number): void;
  endHead(res: H2StreamResponse, endStream: boolean): void;
  /** Queue DATA (flow control permitting, the rest waits); `end` sets END_STREAM. */
  sendData(res: H2StreamResponse, data: Buffer, end: boolean): void;
  /** True while more body can be written without waiting. */
  writable(res: H2StreamResponse): boolean;
  /** Resolves when writable() is true again, or the stream is gone. */
  waitWritable(res: H2StreamResponse): Promise<void>;
  /** The handler is done with the response (every byte handed over). */
  finished(res: H2StreamResponse): void;
  /** RST_STREAM from our side. */
  resetStream(res: H2StreamResponse, code: number): void;
  /** `n` body bytes of the stream were consumed: re-open the window. */
  credit(res: H2StreamResponse, n: number): void;
}

const EMPTY = Buffer.alloc(0);
const INTERNAL_ERROR = 0x2;

type Sink = (chunk: Buffer) => void;

export class H2StreamRequest implements RapidRequest {
  readonly method!: string;
  readonly url!: string;
  readonly path!: string;
  readonly search!: string;
  readonly httpVersion = '2.0' as const;
  readonly rawHeaders!: string[];
  readonly host!: string;
  readonly remoteAddress!: string;
  readonly remotePort!: number;
  readonly secure!: boolean;
  readonly contentLength!: number;
  readonly hasBody!: boolean;
  trailers: string[] = [];
  /** True once the whole body has arrived (or there is none). */
  complete!: boolean;
  /** Set when the response is complete; a later close is no abort. */
  responded = false;
  /** The declared content-length (-1: none), for the connection's DATA length check. */
  readonly declared: number;
  /** @internal limits.maxBodyBytes */
  readonly maxBodyBytes!: number;
  /** DATA bytes received so far. */
  received = 0;
  res!: H2StreamResponse;

  private _headers: Record<string, string> | undefined = undefined;
  private used = false;
  private controller: AbortController | null = null;
  /** Buffered body chunks not yet given to a consumer. */
  private queue: Buffer[] = [];
  private sink: Sink | null = null;
  private onEnd: ((err: Error | null) => void) | null = null;
  private paused = false;
  /** null = still open; an Error = failed; true = ended fine. */
  private ended: Error | true | null = null;
  /** Drop the body (the response is complete, or the body was refused). */
  discarding = false;

  constructor(fields: string[], endStream: boolean, ctx: H2RequestContext) {
    this.declared = initRequest(this, fields, endStream, ctx);
    if (endStream) this.ended = true;
  }

  header(name: string): string | undefined {
    return headerOf(this.rawHeaders, name);
  }

  get headers(): Readonly<Record<string, string>> {
    return (this._headers ??= headersObject(this.rawHeaders));
  }

  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.res.gone && !this.responded) this.controller.abort();
    }
    return this.controller.signal;
  }

  // --- from the connection ---------------------------------------------------------------

  /** DATA payload for this stream. */
  onData(chunk: Buffer): void {
    this.received += chunk.length;
    if (this.discarding) {
      this.res.owner.credit(this.res, chunk.length);
      return;
    }
    if (this.sink !== null && !this.paused && this.queue.length === 0) {
      this.res.owner.credit(this.res, chunk.length);
      this.sink(chunk);
    } else this.queue.push(chunk);
  }

  /** Drop the rest of the body, crediting what is queued so the client is not held. */
  discard(): void {
    if (this.discarding) return;
    this.discarding = true;
    this.sink = null;
    const q = this.queue;
    this.queue = [];
    for (const c of q) this.res.owner.credit(this.res, c.length);
  }

  /** END_STREAM (or trailers) arrived: the body is whole. */
  onBodyEnd(): void {
    this.complete = true;
    if (this.ended === null) this.ended = true;
    this.settle();
  }

  /** The stream is gone (reset, malformed, connection closed) before the body ended. */
  onAbort(err: Error): void {
    if (this.ended === null || this.ended === true) {
      if (this.ended === null) this.ended = err;
    }
    this.queue.length = 0;
    if (!this.responded && this.controller !== null) this.controller.abort();
    this.settle();
  }

  /** The stream closed with the response complete. */
  onClosed(): void {
    if (!this.responded && this.controller !== null) this.controller.abort();
  }

  /** Give queued chunks to the consumer while it is not paused; report the end. */
  private settle(): void {
    const sink = this.sink;
    if (sink === null) return;
    while (this.queue.length > 0 && !this.paused) {
      const chunk = this.queue.shift() as Buffer;
      this.res.owner.credit(this.res, chunk.length);
      sink(chunk);
      if (this.sink === null) return;
    }
    if (this.queue.length === 0 && this.ended !== null && this.onEnd !== null) {
      const done = this.onEnd;
      this.onEnd = null;
      this.sink = null;
      done(this.ended === true ? null : this.ended);
    }
  }

  private pauseBody(): void {
    this.paused = true;
  }

  private resumeBody(): void {
    if (!this.paused) return;
    this.paused = false;
    this.settle();
  }

  // --- RapidRequest body API -------------------------------------------------------------

  /** @internal RAPID_ERR_BODY_ALREADY_READ on a second read of the body. */
  claim(): void {
    if (this.used) throw new RapidError(E.BODY_ALREADY_READ);
    this.used = true;
  }

  body(): Promise<Buffer> {
    return readBody(this);
  }

  async text(): Promise<string> {
    return (await this.body()).toString('utf8');
  }

  async json<T = unknown>(): Promise<T> {
    return parseJsonBody<T>(await this.text());
  }

  stream(): Readable {
    this.claim();
    const readable = new Readable({ highWaterMark: 64 * 1024, read: () => this.resumeBody() });
    if (!this.hasBody) {
      readable.push(null);
      return readable;
    }
    this.pump(
      (chunk) => {
        if (!readable.push(chunk)) this.pauseBody();
      },
      (err) => {
        if (err !== null) readable.destroy(err);
        else readable.push(null);
      },
    );
    return readable;
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return this.stream()[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** @internal Deliver the body to `onChunk` with the size checks; `done` once, null at a good end. */
  pump(onChunk: Sink, done: (err: Error | null) => void): void {
    const declared = this.declared;
    const limit = this.maxBodyBytes;
    let got = 0;
    let settled = false;
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      this.sink = null;
      this.onEnd = null;
      // The rest of the body is not wanted: drop it (the response will say why).
      if (err !== null) this.discard();
      done(err);
    };
    if (declared > limit) {
      queueMicrotask(() => finish(new RapidError(E.BODY_TOO_LARGE, `${declared} bytes`)));
      return;
    }
    this.sink = (chunk) => {
      got += chunk.length;
      const err = bodyOverrun(got, limit, declared);
      if (err === null) onChunk(chunk);
      else finish(err);
    };
    this.onEnd = (err) => finish(err ?? bodyShort(got, declared));
    this.settle();
  }
}

export class H2StreamResponse extends H2ResponseBase {
  // Stream state, kept by the connection.
  readonly id: number;
  sendWindow: number;
  /** Bytes the client may still send before we re-open the window. */
  recvWindow: number;
  /** Bytes consumed but not yet credited back with WINDOW_UPDATE. */
  unacked = 0;
  /** DATA waiting for flow-control window: chunks (first partly sent from `pendingOffset`). */
  pending: Buffer[] | null = null;
  pendingOffset = 0;
  pendingBytes = 0;
  pendingEnd = false;
  /** We sent END_STREAM. */
  localClosed = false;
  /** The client sent END_STREAM. */
  remoteClosed: boolean;
  /** Reset (by either side) or the connection is gone. */
  closed = false;
  /** DATA payload bytes framed for this stream. */
  dataBytes = 0;
  /** The HPACK-encoded size of the response head (HEADERS + CONTINUATION payloads). */
  headBytes = 0;
  /** performance.now() when the request head was decoded; set only when a ResponseObserver is on. */
  startMs = 0;
  /** The stream's number on its connection (1, 2, …); set only when a ResponseObserver is on. */
  seq = 0;

  declare readonly req: H2StreamRequest;
  readonly owner: StreamOwner;

  constructor(
    id: number,
    req: H2StreamRequest,
    owner: StreamOwner,
    sendWindow: number,
    recvWindow: number,
  ) {
    super();
    this.init(req);
    this.id = id;
    req.res = this;
    this.owner = owner;
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
    this.remoteClosed = req.complete;
  }

  get gone(): boolean {
    return this.closed || this.localClosed;
  }

  /** Encode the head; `length` >= 0 adds content-length. */
  private head(length: number, prepared: PreparedResponse | null, endStream: boolean): void {
    // The connection writes its own Date (beginHead).
    this.putHead(this.owner, length, prepared, true);
    this.owner.endHead(this, endStream);
  }

  protected respondWhole(
    body: string | Uint8Array | null,
    prepared: PreparedResponse | null,
  ): void {
    const data =
      typeof body === 'string'
        ? Buffer.from(body, 'utf8')
        : body === null || Buffer.isBuffer(body)
          ? body
          : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const len = data === null ? 0 : data.byteLength;
    if (len === 0 || this.isHead || statusHasNoBody(this.statusCode)) {
      this.head(len, prepared, true);
    } else {
      this.head(len, prepared, false);
      this.owner.sendData(this, data as Buffer, true);
    }
  }

  protected finishedAll(): void {
    this.owner.finished(this);
  }

  write(chunk: string | Uint8Array): boolean {
    if (this.finished) throw new RapidError(E.RESPONSE_ALREADY_SENT);
    if (!this.streaming) {
      this.streaming = true;
      if (this.gone) {
        this.headersSent = true;
        return false;
      }
      this.head(-1, null, !this.sendsBody());
    }
    if (this.gone) return false;
    if (!this.sendsBody()) return true;
    const data =
      typeof chunk === 'string'
        ? Buffer.from(chunk, 'utf8')
        : Buffer.isBuffer(chunk)
          ? chunk
          : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (data.length > 0) this.owner.sendData(this, data, false);
    return this.owner.writable(this);
  }

  protected endBody(): void {
    this.owner.sendData(this, EMPTY, true);
  }

  drain(): Promise<void> {
    if (this.gone || this.owner.writable(this)) return Promise.resolve();
    return this.owner.waitWritable(this);
  }

  abort(): void {
    this.finished = true;
    this.aborted = true;
    if (!this.closed) this.owner.resetStream(this, INTERNAL_ERROR);
    if (!this.done) this.finishNow();
  }
}
