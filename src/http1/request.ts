/**
 * The HTTP/1.1 request handed to handlers. Fields are copied from the parser once; the path,
 * query, header object and body are computed only when asked for.
 *
 * Body flow: the connection pushes views of socket reads (`push`); until the handler asks for the
 * body they are queued, up to BUFFER_AHEAD bytes, then the connection stops reading the socket.
 * `body()` collects everything; `stream()` hands out a Readable whose backpressure pauses the
 * socket. The first read of a body announced with `Expect: 100-continue` sends the 100 response.
 */
import { Readable } from 'node:stream';
import { E, RapidError } from '../core/errors.js';
import type { HttpVersion, RapidRequest } from '../core/types.js';
import { FORM_ABSOLUTE, type MessageParser } from './parser.js';

/** Bytes of body accepted before the handler asks for it; past this the socket is paused. */
const BUFFER_AHEAD = 64 * 1024;

/** What the request needs from its connection. */
export interface BodySource {
  /** Stop reading the socket (backpressure). */
  pauseBody(): void;
  /** Read the socket again. */
  resumeBody(): void;
  /** The handler wants the body: send 100 Continue if it was asked for. */
  bodyWanted(req: H1Request): void;
}

const BODY_IDLE = 0; // nobody asked yet
const BODY_BUFFER = 1; // body() is collecting
const BODY_STREAM = 2; // stream() is flowing
const BODY_DISCARD = 3; // the response is done; drop what still comes

export class H1Request implements RapidRequest {
  readonly method: string;
  readonly url: string;
  readonly httpVersion: HttpVersion;
  readonly rawHeaders: string[];
  readonly host: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly secure: boolean;
  readonly contentLength: number;
  readonly hasBody: boolean;
  trailers: string[];
  /** Set by the connection: Expect: 100-continue was received and 100 not yet sent. */
  expectContinue: boolean;

  private readonly targetForm: number;
  private _path: string | undefined = undefined;
  private _search: string | undefined = undefined;
  private _headers: Record<string, string> | undefined = undefined;

  private readonly source: BodySource;
  private bodyMode = BODY_IDLE;
  private chunks: Buffer[] | null = null;
  private buffered = 0;
  /** True once the whole body has arrived. */
  complete: boolean;
  private failure: Error | null = null;
  private waiter: { resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  private readable: Readable | null = null;
  private used = false;

  constructor(
    p: MessageParser,
    source: BodySource,
    remoteAddress: string,
    remotePort: number,
    secure: boolean,
  ) {
    this.method = p.method;
    this.url = p.url;
    this.httpVersion = p.versionMinor === 0 ? '1.0' : '1.1';
    this.rawHeaders = p.rawHeaders;
    this.host = p.host;
    this.targetForm = p.targetForm;
    this.remoteAddress = remoteAddress;
    this.remotePort = remotePort;
    this.secure = secure;
    this.contentLength = p.contentLength;
    this.hasBody = p.hasBody;
    this.trailers = p.trailers;
    this.expectContinue = p.expectContinue && p.hasBody;
    this.source = source;
    this.complete = !p.hasBody;
  }

  get path(): string {
    if (this._path === undefined) this.splitTarget();
    return this._path as string;
  }

  get search(): string {
    if (this._search === undefined) this.splitTarget();
    return this._search as string;
  }

  private splitTarget(): void {
    let url = this.url;
    if (this.targetForm === FORM_ABSOLUTE) {
      // scheme://authority/path?query -> /path?query (RFC 9112 §3.2.2)
      const scheme = url.indexOf('://');
      const start = scheme === -1 ? url.indexOf(':') + 1 : url.indexOf('/', scheme + 3);
      url = start <= 0 ? '/' : url.slice(start);
      if (url.length === 0 || url.charCodeAt(0) !== 0x2f) url = `/${url}`;
    }
    const q = url.indexOf('?');
    const hash = url.indexOf('#');
    const end = hash === -1 ? url.length : hash;
    if (q === -1 || q > end) {
      this._path = end === url.length ? url : url.slice(0, end);
      this._search = '';
    } else {
      this._path = url.slice(0, q);
      this._search = url.slice(q, end);
    }
  }

  header(name: string): string | undefined {
    return headerOf(this.rawHeaders, name);
  }

  get headers(): Readonly<Record<string, string>> {
    return (this._headers ??= headersObject(this.rawHeaders));
  }

  // ---- body: called by the connection ----

  /** Body bytes from the parser (views into a socket read). */
  push(chunk: Buffer): void {
    switch (this.bodyMode) {
      case BODY_STREAM:
        if (!(this.readable as Readable).push(chunk)) this.source.pauseBody();
        return;
      case BODY_DISCARD:
        return;
      default:
        (this.chunks ??= []).push(chunk);
        this.buffered += chunk.length;
        if (this.bodyMode === BODY_IDLE && this.buffered >= BUFFER_AHEAD) this.source.pauseBody();
    }
  }

  /** The parser saw the end of the body. */
  end(): void {
    this.complete = true;
    if (this.bodyMode === BODY_BUFFER) this.settle();
    else if (this.bodyMode === BODY_STREAM) (this.readable as Readable).push(null);
  }

  /** The body cannot complete (connection closed, framing error, timeout). */
  fail(err: Error): void {
    if (this.complete || this.failure !== null) return;
    this.failure = err;
    this.chunks = null;
    if (this.waiter !== null) {
      const w = this.waiter;
      this.waiter = null;
      w.reject(err);
    }
    if (this.readable !== null) this.readable.destroy(err);
  }

  /** The response finished; body bytes still arriving are dropped. */
  discard(): void {
    if (this.bodyMode === BODY_IDLE || this.bodyMode === BODY_BUFFER) {
      this.chunks = null;
      this.buffered = 0;
      this.bodyMode = BODY_DISCARD;
      this.source.resumeBody();
    }
  }

  /** True while nobody consumes the body and the connection should not read more of it. */
  get bodyIdle(): boolean {
    return this.bodyMode === BODY_IDLE;
  }

  private settle(): void {
    const w = this.waiter;
    if (w === null) return;
    this.waiter = null;
    const chunks = this.chunks;
    this.chunks = null;
    if (chunks === null) w.resolve(Buffer.alloc(0));
    else
      w.resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.buffered));
  }

  private claim(): void {
    if (this.used) throw new RapidError(E.BODY_ALREADY_READ);
    this.used = true;
  }

  // ---- body: the handler's API ----

  body(): Promise<Buffer> {
    try {
      this.claim();
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if (this.failure !== null) return Promise.reject(this.failure);
    if (!this.hasBody) return Promise.resolve(Buffer.alloc(0));
    if (this.bodyMode === BODY_DISCARD) return Promise.reject(new RapidError(E.BODY_ALREADY_READ));
    this.bodyMode = BODY_BUFFER;
    return new Promise<Buffer>((resolve, reject) => {
      this.waiter = { resolve, reject };
      if (this.complete) this.settle();
      else {
        this.source.bodyWanted(this);
        this.source.resumeBody();
      }
    });
  }

  async text(): Promise<string> {
    return (await this.body()).toString('utf8');
  }

  async json<T = unknown>(): Promise<T> {
    return parseJsonBody<T>(await this.text());
  }

  stream(): Readable {
    this.claim();
    const readable = new Readable({
      highWaterMark: BUFFER_AHEAD,
      read: () => this.source.resumeBody(),
    });
    this.readable = readable;
    if (this.failure !== null) {
      readable.destroy(this.failure);
      return readable;
    }
    this.bodyMode = BODY_STREAM;
    const chunks = this.chunks;
    this.chunks = null;
    this.buffered = 0;
    if (chunks !== null) for (const c of chunks) readable.push(c);
    if (this.complete) readable.push(null);
    else this.source.bodyWanted(this);
    return readable;
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return this.stream()[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }
}

/** One field from flat [name, value, ...] lowercase headers; repeats joined ("; " for cookie). */
export function headerOf(raw: readonly string[], name: string): string | undefined {
  let out: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i] === name) {
      const v = raw[i + 1] as string;
      out = out === undefined ? v : `${out}${name === 'cookie' ? '; ' : ', '}${v}`;
    }
  }
  return out;
}

/** Flat lowercase headers as an object, repeats joined as headerOf() joins them. */
export function headersObject(raw: readonly string[]): Record<string, string> {
  const h: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i] as string;
    const v = raw[i + 1] as string;
    const prev = h[k];
    h[k] = prev === undefined ? v : `${prev}${k === 'cookie' ? '; ' : ', '}${v}`;
  }
  return h;
}

/** A request body as JSON; RAPID_ERR_INVALID_JSON_BODY (400) when malformed. */
export function parseJsonBody<T>(text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new RapidError(E.INVALID_JSON_BODY, (err as Error).message, { cause: err });
  }
}
