/**
 * The request/response model every protocol implements (HTTP/1.1 in src/http1, HTTP/2 later) and
 * every application layer consumes. This is Rapid's "native" handler API: no WHATWG objects are
 * built per request, headers and the body are decoded only when asked for.
 */
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';

export type HttpVersion = '1.0' | '1.1' | '2.0';

export interface RapidRequest {
  /** The method token exactly as sent (methods are case-sensitive, RFC 9110 §9.1). */
  readonly method: string;
  /** The request-target exactly as sent (origin-, absolute-, authority- or asterisk-form). */
  readonly url: string;
  /** The path part of the target ("/a/b" for "/a/b?x=1" and for "http://h/a/b?x=1"), undecoded. */
  readonly path: string;
  /** The query part including "?" ("" when absent), undecoded. */
  readonly search: string;
  readonly httpVersion: HttpVersion;
  /** Flat [name, value, name, value, ...] with names lowercased, in arrival order. */
  readonly rawHeaders: readonly string[];
  /** All headers as an object (names lowercased; repeats joined with ", ", cookie with "; "). */
  readonly headers: Readonly<Record<string, string>>;
  /** The Host header, or the authority of an absolute-form target ("" when neither). */
  readonly host: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** True on TLS connections. */
  readonly secure: boolean;
  /** Content-Length of the body, -1 when chunked, 0 when there is none. */
  readonly contentLength: number;
  /** True when the request has a body (Content-Length > 0 or chunked). */
  readonly hasBody: boolean;
  /** Trailer fields of a chunked body, flat like rawHeaders; empty until the body has ended. */
  readonly trailers: readonly string[];

  /** One header by lowercase name; repeats joined with ", " ("; " for cookie). */
  header(name: string): string | undefined;
  /** The whole body as one Buffer (bounded by the server's maxBodySize). */
  body(): Promise<Buffer>;
  /** The body decoded as UTF-8. */
  text(): Promise<string>;
  /** The body parsed as JSON (RAPID_ERR_INVALID_JSON_BODY, 400, when malformed). */
  json<T = unknown>(): Promise<T>;
  /** The body as a Node stream with backpressure (reading pauses the socket when not consumed). */
  stream(): Readable;
  [Symbol.asyncIterator](): AsyncIterator<Buffer>;
}

export type HeaderValue = string | number | readonly string[];

export interface RapidResponse {
  statusCode: number;
  readonly headersSent: boolean;
  /** True once end()/send() has been called (the body may still be flushing). */
  readonly finished: boolean;

  status(code: number): this;
  /** Replace a header (case-insensitive). Arrays become repeated field lines. */
  setHeader(name: string, value: HeaderValue): this;
  /** Add a field line, keeping existing ones (Set-Cookie stays one line per cookie). */
  appendHeader(name: string, value: HeaderValue): this;
  getHeader(name: string): string | undefined;
  hasHeader(name: string): boolean;
  removeHeader(name: string): this;

  /** Send the whole response: head and body in one write. Strings are UTF-8. */
  send(body?: string | Uint8Array | null): void;
  /** JSON.stringify(value) with Content-Type application/json; charset=utf-8. */
  json(value: unknown): void;
  /** Stream a chunk; false means the socket's buffer is full (await drain()). */
  write(chunk: string | Uint8Array): boolean;
  end(chunk?: string | Uint8Array | null): void;
  /** Resolves when the socket can take more data. */
  drain(): Promise<void>;
  /** Pipe a readable or async iterable as the body, with backpressure; resolves when done. */
  stream(source: Readable | AsyncIterable<string | Uint8Array>): Promise<void>;
  /**
   * Send a response whose head was built ahead of time (the static-file output cache): the
   * status line, `prepared.headerBlock`, any headers set on this response, Date, Content-Length
   * and Connection go out with `prepared.body` in one write. HEAD requests get no body.
   */
  sendPrepared(prepared: PreparedResponse): void;
  /**
   * Run `hook` once, right before the head is serialised, whichever way the response is sent
   * (send, json, sendPrepared, streamed, error pages). Hooks run in the order added and may change
   * headers (not the status). Used by header rules (src/features/rules); a response without hooks
   * pays one null check.
   */
  onHead(hook: HeadHook): this;
}

/**
 * A response head hook (RapidResponse.onHead). `block` is the header block of a prepared response
 * being sent ("" otherwise); the hook returns the block to send instead (or `block` unchanged).
 */
export type HeadHook = (res: RapidResponse, block: string) => string;

/** A response assembled once and sent many times (see RapidResponse.sendPrepared). */
export interface PreparedResponse {
  readonly status: number;
  /** Complete header lines, each ending in CRLF, e.g. "Content-Type: text/html\r\nETag: \"x\"\r\n".
   * Must not contain Date, Content-Length, Transfer-Encoding or Connection. */
  readonly headerBlock: string;
  readonly body: Buffer;
}

/** A native Rapid handler. Throwing or rejecting yields a 500 (without internals). */
export type Handler = (req: RapidRequest, res: RapidResponse) => void | Promise<void>;

/** Called when a request asks to switch protocols (Upgrade) or is a CONNECT. */
export type UpgradeHandler = (req: RapidRequest, socket: Socket, head: Buffer) => void;

/** Limits of the HTTP/1.1 and HTTP/2 engines; every one configurable, defaults in DEFAULT_LIMITS. */
export interface Limits {
  /** Longest request line in bytes (414 past it). */
  maxRequestLineBytes: number;
  /** Largest request head (request line + header fields) in bytes (431 past it). */
  maxHeaderBytes: number;
  /** Most header field lines (431 past it). */
  maxHeaderCount: number;
  /** Largest request body in bytes (413 past it). */
  maxBodyBytes: number;
  /** Answer unknown methods with 501 instead of passing them to the handler. */
  rejectUnknownMethods: boolean;
  /** Requests served on one connection before it is closed (0 = unlimited). */
  maxRequestsPerConnection: number;
  /** Requests parsed ahead of the response being written before reading pauses. */
  maxPipelinedRequests: number;
  /** Idle keep-alive time in ms before the connection is closed. */
  keepAliveTimeout: number;
  /** Time in ms to receive a whole request head from its first byte (slowloris; 408). */
  headersTimeout: number;
  /** Time in ms the body may go without progress (408). */
  bodyTimeout: number;
  /** Time in ms for a handler to finish its response (503 and close). 0 = none. */
  responseTimeout: number;
  /** Time in ms close() waits for in-flight requests before destroying connections. */
  closeTimeout: number;
  /** HTTP/2: streams a client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
  http2MaxConcurrentStreams: number;
  /** HTTP/2: streams a client may reset (or abandon) per 10 s before its session gets GOAWAY
   * ENHANCE_YOUR_CALM (rapid reset, CVE-2023-44487). */
  http2MaxResets: number;
  /** HTTP/2: PING frames a client may send per 10 s (PING flood). */
  http2MaxPings: number;
  /** HTTP/2: SETTINGS frames a client may send per 10 s (SETTINGS flood). */
  http2MaxSettings: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxRequestLineBytes: 8 * 1024,
  maxHeaderBytes: 16 * 1024,
  maxHeaderCount: 100,
  maxBodyBytes: 1024 * 1024,
  rejectUnknownMethods: false,
  maxRequestsPerConnection: 0,
  maxPipelinedRequests: 32,
  // Longer than the 60 s idle timeout of common load balancers (AWS ALB, nginx upstreams), so the
  // balancer, not Rapid, closes idle connections and never races a request against our close.
  keepAliveTimeout: 75_000,
  headersTimeout: 20_000,
  bodyTimeout: 60_000,
  responseTimeout: 120_000,
  closeTimeout: 10_000,
  http2MaxConcurrentStreams: 100,
  http2MaxResets: 200,
  http2MaxPings: 100,
  http2MaxSettings: 100,
});

/**
 * Told about every response once it is complete (every byte queued) or its connection closed
 * under it: the access log and the metrics hang here. `req` is null for the answers the engine
 * gives on its own to requests it could not parse (400, 414, 431 ...). `bytes` counts what was
 * written for the response (head and body); `startMs` is `performance.now()` at the end of the
 * request head; `headBytes` is the head's share of `bytes`; `seq` is the request's number on its connection (> 1: a reused keep-alive
 * connection). `status` is 499 when the client closed before any of the response was sent.
 * HTTP/2 (both engines) calls it once per stream as the stream closes (done, reset, or its
 * connection gone): `bytes` is the DATA payload plus the head's size (docs/logging.md#http2), `seq`
 * the stream's number on its connection in arrival order (not the stream id).
 * Nothing is measured, and this is never called, when no observer is configured.
 */
export type ResponseObserver = (
  req: RapidRequest | null,
  status: number,
  bytes: number,
  headBytes: number,
  startMs: number,
  remoteAddress: string,
  seq: number,
) => void;
