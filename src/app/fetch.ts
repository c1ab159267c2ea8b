/**
 * Web-standard fetch handlers on Rapid: `(request: Request) => Response | Promise<Response>`, the
 * interface of Hono, itty-router, Remix/React Router, SvelteKit adapters, Deno and Bun, served by
 * Rapid's native engine unchanged.
 *
 *   serve({ port: 8080, fetch: (request) => new Response('hi') })   // src/server
 *   handler = fetchHandler(app.fetch)                                // a native Handler
 *   handler = mountFetch('/api', app.fetch)                          // under a path prefix
 *
 * The hot path builds as little WHATWG machinery as it can:
 * - The Request handed to the function is a lazy one: it is `instanceof Request` and behaves as
 *   one, but `method` and `url` are plain strings (the URL is one concatenation, never `new
 *   URL`), `headers` is built on first use, `signal` on first use, and a real undici Request is
 *   made only when something needs one (the body, `clone()`, passing it to `fetch()`...). Node's
 *   Request constructor costs microseconds (its AbortSignal plumbing most of all), more than the
 *   whole of Rapid's per-request work.
 * - A Response whose body is a string, bytes or a Blob (what `new Response('x')`, `c.text()`,
 *   `c.json()` make) is sent as one piece with a Content-Length, straight from the body it was
 *   built with, without reading its ReadableStream. Any other body is streamed with backpressure
 *   (`res.write()` / `res.drain()`), and cancelled when the client goes away.
 * - Request bodies are a ReadableStream pulled from `req.stream()` only when read (so
 *   `Expect: 100-continue` is answered only when the app reads the body), with backpressure.
 */
import { Readable } from 'node:stream';
import { E, RapidError } from '../core/errors.js';
import type { Handler, RapidRequest, RapidResponse } from '../core/types.js';

/** The second argument of a fetch function (Hono exposes it as `c.env`). */
export interface FetchInfo {
  /** The native request underneath (client address, raw headers, trailers). */
  readonly req: RapidRequest;
  /** The native response (for what a Response cannot say, e.g. sendPrepared). */
  readonly res: RapidResponse;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

export type FetchFunction = (request: Request, info: FetchInfo) => Response | Promise<Response>;

export interface FetchHandlerOptions {
  /**
   * Replace `globalThis.Response` with Rapid's lazy Response (default true, as @hono/node-server
   * does with its `overrideGlobalObjects`). Node's own Response constructor builds a
   * ReadableStream for every body, ~10 µs per response on Node 20; the lazy one keeps the body
   * as given and builds a real Response only if something needs it. It is `instanceof Response`
   * (as are real ones), and real Responses (from `fetch()`) keep working everywhere. Set false to
   * leave the global alone.
   */
  overrideGlobalResponse?: boolean;
  /**
   * Render a failure of the fetch function (a throw, a rejection, a value that is not a
   * Response). Default: rethrow, so the engine answers 500 without internals and reports it.
   */
  onError?: (err: unknown, request: Request) => Response | Promise<Response>;
}

// ---------------------------------------------------------------------------------------------
// The lazy Request
// ---------------------------------------------------------------------------------------------

const GlobalRequest = globalThis.Request;
const kNative = Symbol('rapid.fetch.native');
const kUrl = Symbol('rapid.fetch.url');
const kHeaders = Symbol('rapid.fetch.headers');
const kReal = Symbol('rapid.fetch.real');
const kAbort = Symbol('rapid.fetch.abort');
const kUnwatch = Symbol('rapid.fetch.unwatch');

/** Methods the Fetch Standard forbids in `new Request` (§2.2.1 "forbidden method"). */
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);

interface LazyRequest {
  [kNative]: RapidRequest;
  [kUrl]: string;
  [kHeaders]: Headers | undefined;
  [kReal]: Request | undefined;
  [kAbort]: AbortController | undefined;
  [kUnwatch]: (() => void) | undefined;
}

/** The fields every lazy request has, so V8 gives them one shape. */
function LazyRequestCtor(this: LazyRequest, req: RapidRequest, url: string): void {
  this[kNative] = req;
  this[kUrl] = url;
  this[kHeaders] = undefined;
  this[kReal] = undefined;
  this[kAbort] = undefined;
  this[kUnwatch] = undefined;
}

function headersOf(self: LazyRequest): Headers {
  let h = self[kHeaders];
  if (h === undefined) {
    const real = self[kReal];
    if (real !== undefined) return real.headers;
    h = new Headers();
    const raw = self[kNative].rawHeaders;
    for (let i = 0; i < raw.length; i += 2) h.append(raw[i] as string, raw[i + 1] as string);
    self[kHeaders] = h;
  }
  return h;
}

function abortControllerOf(self: LazyRequest): AbortController {
  let ac = self[kAbort];
  if (ac === undefined) {
    const controller = new AbortController();
    ac = controller;
    self[kAbort] = controller;
    // Someone holds the signal: abort it if the client disconnects before the response is done.
    self[kUnwatch] = onClientGone(
      self[kNative],
      () => controller.abort(new RapidError(E.REQUEST_ABORTED)),
      true,
    );
  }
  return ac;
}

/** The real undici Request, built on first need. */
function realOf(self: LazyRequest): Request {
  let real = self[kReal];
  if (real !== undefined) return real;
  const req = self[kNative];
  const method = req.method;
  const forbidden = FORBIDDEN_METHODS.has(method.toUpperCase());
  const init: RequestInit & { duplex?: 'half' } = {
    method: forbidden ? 'GET' : method,
    headers: headersOf(self),
    signal: abortControllerOf(self).signal,
  };
  if (req.hasBody && method !== 'GET' && method !== 'HEAD' && !forbidden) {
    init.body = bodyStream(req);
    init.duplex = 'half';
  }
  real = new GlobalRequest(self[kUrl], init);
  // The Fetch Standard cannot make a TRACE/CONNECT Request; keep the true method visible.
  if (forbidden) Object.defineProperty(real, 'method', { value: method });
  self[kReal] = real;
  self[kHeaders] = undefined;
  return real;
}

const lazyProto: Record<PropertyKey, unknown> = Object.create(GlobalRequest.prototype);
Object.defineProperties(lazyProto, {
  method: {
    get(this: LazyRequest) {
      return this[kNative].method;
    },
  },
  url: {
    get(this: LazyRequest) {
      return this[kUrl];
    },
  },
  headers: {
    get(this: LazyRequest) {
      return headersOf(this);
    },
  },
  signal: {
    get(this: LazyRequest) {
      const real = this[kReal];
      return real !== undefined ? real.signal : abortControllerOf(this).signal;
    },
  },
  bodyUsed: {
    get(this: LazyRequest) {
      const real = this[kReal];
      return real !== undefined ? real.bodyUsed : false;
    },
  },
  [Symbol.for('nodejs.util.inspect.custom')]: {
    value(this: LazyRequest) {
      return `Request (lazy) ${this[kNative].method} ${this[kUrl]}`;
    },
  },
});
// Everything else Request.prototype has (body, clone(), json(), arrayBuffer(), cache, mode, ...,
// whatever this Node version adds) goes to the real Request.
for (const key of Reflect.ownKeys(GlobalRequest.prototype)) {
  if (key === 'constructor' || key === Symbol.toStringTag || Object.hasOwn(lazyProto, key)) {
    continue;
  }
  const d = Object.getOwnPropertyDescriptor(GlobalRequest.prototype, key) as PropertyDescriptor;
  if (typeof d.get === 'function') {
    Object.defineProperty(lazyProto, key, {
      get(this: LazyRequest) {
        return (realOf(this) as unknown as Record<PropertyKey, unknown>)[key];
      },
    });
  } else if (typeof d.value === 'function') {
    Object.defineProperty(lazyProto, key, {
      value(this: LazyRequest, ...args: unknown[]) {
        const real = realOf(this) as unknown as Record<PropertyKey, (...a: unknown[]) => unknown>;
        return (real[key] as (...a: unknown[]) => unknown).apply(real, args);
      },
    });
  }
}
// undici reaches into a Request through own symbol-keyed slots (its state, signal, headers) when
// one is passed to `fetch()` or `new Request()`; forward those to the real Request as well.
for (const key of Reflect.ownKeys(new GlobalRequest('http://localhost/'))) {
  if (typeof key !== 'symbol') continue;
  Object.defineProperty(lazyProto, key, {
    get(this: LazyRequest) {
      return (realOf(this) as unknown as Record<symbol, unknown>)[key];
    },
  });
}
LazyRequestCtor.prototype = lazyProto;

/**
 * Can a lazy request stand in for a real one with this Node's undici? Checked once: a Request
 * built from it must carry its method, URL, headers and body. If not (a future undici with
 * private-field brand checks), every request is a real one from the start.
 */
async function checkLazy(): Promise<boolean> {
  try {
    const probe = {
      method: 'POST',
      path: '/p',
      search: '?q=1',
      rawHeaders: ['x-probe', 'yes'],
      hasBody: true,
      stream: () => Readable.from([Buffer.from('ok')]),
    } as unknown as RapidRequest;
    const lazy = newLazy(probe, 'http://localhost/p?q=1');
    const copy = new GlobalRequest(lazy);
    const text = await copy.text();
    return (
      lazy instanceof GlobalRequest &&
      copy.method === 'POST' &&
      copy.url === 'http://localhost/p?q=1' &&
      copy.headers.get('x-probe') === 'yes' &&
      text === 'ok'
    );
  } catch {
    return false;
  }
}

function newLazy(req: RapidRequest, url: string): Request {
  return new (LazyRequestCtor as unknown as new (r: RapidRequest, u: string) => Request)(req, url);
}

const lazyWorks = await checkLazy();

/** A Request for `req` at `url` (lazy when this Node allows it). */
export function toRequest(req: RapidRequest, url: string): Request {
  const lazy = newLazy(req, url);
  return lazyWorks ? lazy : realOf(lazy as unknown as LazyRequest);
}

/** The absolute URL of a request: scheme from the connection, authority from Host. */
export function requestUrl(req: RapidRequest, path = req.path): string {
  // Asterisk-form (OPTIONS *) and authority-form (CONNECT) targets have no path: use "/".
  const p = path.charCodeAt(0) === 0x2f ? path : '/';
  return `${req.secure ? 'https' : 'http'}://${req.host === '' ? 'localhost' : req.host}${p}${req.search}`;
}

/**
 * The request body as a byte stream, pulled from `req.stream()` on the first read (highWaterMark
 * 0: nothing is read ahead of the consumer, and an unread body is never asked for).
 */
function bodyStream(req: RapidRequest): ReadableStream<Uint8Array> {
  let source: Readable | null = null;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (source !== null) {
          source.resume();
          return;
        }
        const s = req.stream();
        source = s;
        s.on('data', (chunk: Buffer) => {
          controller.enqueue(chunk);
          if ((controller.desiredSize ?? 0) <= 0) s.pause();
        });
        s.on('end', () => controller.close());
        s.on('error', (err) => controller.error(err));
      },
      cancel() {
        // The app stopped reading: let the engine drop the rest so the connection stays usable.
        const s = source;
        if (s !== null) {
          s.removeAllListeners('data');
          s.on('error', () => undefined);
          s.resume();
        }
      },
    },
    { highWaterMark: 0 },
  );
}

// ---------------------------------------------------------------------------------------------
// Client disconnects
// ---------------------------------------------------------------------------------------------

interface CloseSource {
  once(event: 'close' | 'end', fn: () => void): unknown;
  off(event: 'close' | 'end', fn: () => void): unknown;
  readonly destroyed: boolean;
  readonly readableEnded?: boolean;
}

/**
 * Where to hear that the client went away. RapidRequest has no close notification yet, so this
 * looks for one: a `signal` (AbortSignal) or `socket` the request may carry, else the HTTP/1.1
 * request's connection socket. Returns null when there is none (the adapter then still works;
 * only the AbortSignal and early stream cancellation are lost).
 */
function closeSourceOf(req: RapidRequest): CloseSource | AbortSignal | null {
  const r = req as unknown as {
    signal?: unknown;
    socket?: unknown;
    source?: { socket?: unknown };
  };
  if (r.signal instanceof AbortSignal) return r.signal;
  const socket = r.socket ?? r.source?.socket;
  if (
    socket !== null &&
    typeof socket === 'object' &&
    typeof (socket as CloseSource).once === 'function'
  ) {
    return socket as CloseSource;
  }
  return null;
}

/**
 * Call `fn` once when the client disconnects; returns the function that stops listening.
 *
 * `halfClose`: count the client ending its side (FIN) as leaving. Rapid keeps answering a
 * half-closed connection (a client may send its request and FIN, then read), so the stream pump
 * waits for the socket to close (a write to a vanished peer fails and closes it); the request's
 * AbortSignal follows Node's http server, for which a FIN aborts the request, since a handler
 * waiting on the signal writes nothing that would reveal a vanished client.
 */
export function onClientGone(req: RapidRequest, fn: () => void, halfClose: boolean): () => void {
  const src = closeSourceOf(req);
  if (src === null) return noop;
  let called = false;
  const once = (): void => {
    if (!called) {
      called = true;
      fn();
    }
  };
  if (src instanceof AbortSignal) {
    if (src.aborted) {
      queueMicrotask(once);
      return noop;
    }
    src.addEventListener('abort', once, { once: true });
    return () => src.removeEventListener('abort', once);
  }
  if (src.destroyed || (halfClose && src.readableEnded === true)) {
    queueMicrotask(once);
    return noop;
  }
  // One pair of listeners per socket, whatever the number of requests in flight on it
  // (pipelined requests run concurrently) and of requests it serves over its life.
  let watch = socketWatches.get(src);
  if (watch === undefined) {
    const w: SocketWatch = { onClose: new Set(), onEnd: new Set() };
    watch = w;
    socketWatches.set(src, w);
    src.once('end', () => {
      for (const f of [...w.onEnd]) f();
    });
    src.once('close', () => {
      for (const f of [...w.onClose, ...w.onEnd]) f();
      w.onClose.clear();
      w.onEnd.clear();
    });
  }
  const set = halfClose ? watch.onEnd : watch.onClose;
  set.add(once);
  return () => set.delete(once);
}

interface SocketWatch {
  /** Called when the socket closes. */
  readonly onClose: Set<() => void>;
  /** Called when the client ends its side, or when the socket closes. */
  readonly onEnd: Set<() => void>;
}

const socketWatches = new WeakMap<CloseSource, SocketWatch>();

function noop(): void {}

// ---------------------------------------------------------------------------------------------
// Writing the Response
// ---------------------------------------------------------------------------------------------

/** undici's internal Response state slot, when this Node has one (feature-detected once). */
const kState = Reflect.ownKeys(new Response()).find(
  (k) => typeof k === 'symbol' && k.description === 'state',
) as symbol | undefined;

interface UndiciBody {
  stream?: ReadableStream<Uint8Array> & { locked: boolean };
  source?: unknown;
  length?: number | null;
}

/** The body a Response was constructed with, when it can be sent without reading its stream. */
function knownBody(response: Response): { source: unknown } | null | undefined {
  const fast = response as unknown as FastFields;
  if (fast[kFastInit] !== undefined && fast[kFastNative] === undefined) {
    const body = fast[kFastBody];
    return body === null ? null : { source: body };
  }
  if (kState === undefined) return undefined;
  const state = (response as unknown as Record<symbol, { body?: UndiciBody | null } | undefined>)[
    kState
  ];
  if (state === undefined || typeof state !== 'object') return undefined;
  const body = state.body;
  if (body === null || body === undefined) return null;
  if (body.source === null || body.source === undefined) return undefined;
  if (body.stream !== undefined && body.stream.locked) return undefined;
  if (response.bodyUsed) return undefined;
  return { source: body.source };
}

function copyHeaders(response: Response, res: RapidResponse): void {
  const fast = response as unknown as FastFields;
  if (
    fast[kFastInit] !== undefined &&
    fast[kFastNative] === undefined &&
    fast[kFastHeaders] === undefined
  ) {
    // A lazy Response nobody asked the headers of: copy them from its init, no Headers built.
    const defaultType = typeof fast[kFastBody] === 'string' ? TEXT_PLAIN : null;
    const init = fast[kFastInit].headers;
    if (init === undefined || init === null) {
      if (defaultType !== null) res.setHeader('Content-Type', defaultType);
      return;
    }
    if (init instanceof Headers) {
      copyFromHeaders(init, res, defaultType);
      return;
    }
    if (!Array.isArray(init) && typeof init === 'object') {
      const record = init as Record<string, string>;
      let typed = false;
      for (const name in record) {
        if (!typed && name.length === 12 && name.toLowerCase() === 'content-type') typed = true;
        res.appendHeader(name, String(record[name]).trim());
      }
      if (!typed && defaultType !== null) res.setHeader('Content-Type', defaultType);
      return;
    }
  }
  copyFromHeaders(response.headers, res, null);
}

function copyFromHeaders(headers: Headers, res: RapidResponse, defaultType: string | null): void {
  let cookies = false;
  let typed = false;
  headers.forEach((value, name) => {
    if (name === 'set-cookie') cookies = true;
    else {
      if (name === 'content-type') typed = true;
      res.setHeader(name, value);
    }
  });
  if (!typed && defaultType !== null) res.setHeader('Content-Type', defaultType);
  // Each cookie its own field line (RFC 6265 §3: Set-Cookie cannot be folded with commas).
  if (cookies) res.setHeader('set-cookie', headers.getSetCookie());
}

/**
 * Write a Response on a native response. Synchronous (returns undefined) when the body is known
 * (a string, bytes, none): the common case costs no promise.
 */
export function writeResponse(
  response: Response,
  req: RapidRequest,
  res: RapidResponse,
): void | Promise<void> {
  res.statusCode = response.status;
  copyHeaders(response, res);
  const known = knownBody(response);
  if (req.method === 'HEAD') return writeHead(response, known, res);
  if (known === null) {
    res.send(null);
    return undefined;
  }
  if (known !== undefined) {
    const source = known.source;
    if (typeof source === 'string' || source instanceof Uint8Array) {
      res.send(source);
      return undefined;
    }
    if (source instanceof Blob) {
      return source.arrayBuffer().then((ab) => res.send(new Uint8Array(ab)));
    }
  }
  const body = response.body;
  if (body === null) {
    res.send(null);
    return undefined;
  }
  return pump(body, req, res);
}

/**
 * HEAD: the head a GET would get, no body (RFC 9110 §9.3.2). The length is the known body's, or
 * a Content-Length the application set; an empty write first makes the engine send that length
 * instead of 0 (a body-less send() means "Content-Length: 0").
 */
function writeHead(
  response: Response,
  known: { source: unknown } | null | undefined,
  res: RapidResponse,
): void | Promise<void> {
  const source = known?.source;
  if (typeof source === 'string' || source instanceof Uint8Array) {
    res.send(source);
    return undefined;
  }
  if (source instanceof Blob) res.setHeader('Content-Length', String(source.size));
  const length = res.getHeader('content-length');
  if (length !== undefined && /^\d+$/.test(length)) {
    res.write('');
    res.end();
  } else {
    res.send(null);
  }
  // A streamed body nobody will read: let its producer know.
  if (known === undefined && response.body !== null) return response.body.cancel().catch(noop);
  return undefined;
}

/** Bytes written without a turn of the event loop before the pump yields one. */
const YIELD_BYTES = 64 * 1024;

/** Stream a body with backpressure; cancel it when the client goes away. */
async function pump(
  body: ReadableStream<Uint8Array>,
  req: RapidRequest,
  res: RapidResponse,
): Promise<void> {
  const reader = body.getReader();
  let gone = false;
  const stop = onClientGone(
    req,
    () => {
      gone = true;
      reader.cancel(new RapidError(E.REQUEST_ABORTED)).catch(noop);
    },
    false,
  );
  let unflushed = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || gone) break;
      if (!res.write(value)) {
        unflushed = 0;
        if (!gone) await res.drain();
      } else if ((unflushed += value.byteLength) >= YIELD_BYTES) {
        // A stream that never waits (its chunks ready at once) would run this loop in one
        // microtask chain, and the engine flushes to the socket only when the chain ends: yield
        // a turn so the bytes reach the socket, then honour its backpressure.
        unflushed = 0;
        await new Promise(setImmediate);
        if (!gone) await res.drain();
      }
    }
  } catch (err) {
    if (gone) return;
    throw err;
  } finally {
    stop();
  }
  if (!gone) res.end();
}

// ---------------------------------------------------------------------------------------------
// The lazy Response (installed as globalThis.Response by fetchHandler unless told not to)
// ---------------------------------------------------------------------------------------------

const NativeResponse = globalThis.Response;
const kFastBody = Symbol('rapid.response.body');
const kFastInit = Symbol('rapid.response.init');
const kFastNative = Symbol('rapid.response.native');
const kFastHeaders = Symbol('rapid.response.headers');
/** Fetch Standard "extract a body": a string body's default Content-Type. */
const TEXT_PLAIN = 'text/plain;charset=UTF-8';

interface FastFields {
  [kFastBody]: string | Uint8Array | null;
  [kFastInit]: ResponseInit | undefined;
  [kFastNative]: Response | undefined;
  [kFastHeaders]: Headers | undefined;
}

/** The real Response behind a lazy one, built on first need (with the headers handed out). */
function nativeOf(self: FastFields): Response {
  let native = self[kFastNative];
  if (native === undefined) {
    const init = self[kFastInit] as ResponseInit;
    const headers = self[kFastHeaders];
    native = new NativeResponse(
      self[kFastBody],
      headers === undefined ? init : { status: init.status, statusText: init.statusText, headers },
    );
    self[kFastNative] = native;
  }
  return native;
}

/**
 * `new Response(body, init)` that keeps a string or byte body and its init as given. Anything
 * else (streams, Blobs, FormData, URLSearchParams) and any init Node would reject is handed to
 * the real constructor at once, so errors and semantics stay Node's.
 */
function FastResponse(this: FastFields, body?: unknown, init?: ResponseInit): void {
  if (!new.target)
    throw new TypeError("Class constructor Response cannot be invoked without 'new'");
  const cheap =
    (body === undefined ||
      body === null ||
      typeof body === 'string' ||
      body instanceof Uint8Array) &&
    (init === undefined ||
      (typeof init === 'object' &&
        init !== null &&
        (init.status === undefined ||
          (Number.isInteger(init.status) &&
            (init.status as number) >= 200 &&
            (init.status as number) <= 599 &&
            // null body statuses (Fetch Standard): a body with them is a TypeError: let Node say so
            ((body ?? null) === null ||
              (init.status !== 204 && init.status !== 205 && init.status !== 304))))));
  this[kFastBody] = (body ?? null) as string | Uint8Array | null;
  this[kFastInit] = cheap ? (init ?? {}) : undefined;
  this[kFastNative] = cheap
    ? undefined
    : new NativeResponse(body as ConstructorParameters<typeof Response>[0], init);
  this[kFastHeaders] = undefined;
}

const fastProto = Object.create(NativeResponse.prototype) as Record<PropertyKey, unknown>;
Object.defineProperties(fastProto, {
  status: {
    get(this: FastFields) {
      const native = this[kFastNative];
      return native !== undefined
        ? native.status
        : ((this[kFastInit] as ResponseInit).status ?? 200);
    },
  },
  ok: {
    get(this: FastFields) {
      const status = (this as unknown as Response).status;
      return status >= 200 && status <= 299;
    },
  },
  statusText: {
    get(this: FastFields) {
      const native = this[kFastNative];
      return native !== undefined
        ? native.statusText
        : ((this[kFastInit] as ResponseInit).statusText ?? '');
    },
  },
  headers: {
    get(this: FastFields) {
      const native = this[kFastNative];
      if (native !== undefined) return native.headers;
      let h = this[kFastHeaders];
      if (h === undefined) {
        h = new Headers((this[kFastInit] as ResponseInit).headers);
        if (typeof this[kFastBody] === 'string' && !h.has('content-type'))
          h.set('content-type', TEXT_PLAIN);
        this[kFastHeaders] = h;
      }
      return h;
    },
  },
  bodyUsed: {
    get(this: FastFields) {
      const native = this[kFastNative];
      return native !== undefined ? native.bodyUsed : false;
    },
  },
  [Symbol.for('nodejs.util.inspect.custom')]: {
    value(this: FastFields) {
      return `Response (lazy) ${(this as unknown as Response).status}`;
    },
  },
});
for (const key of Reflect.ownKeys(NativeResponse.prototype)) {
  if (key === 'constructor' || key === Symbol.toStringTag || Object.hasOwn(fastProto, key))
    continue;
  const d = Object.getOwnPropertyDescriptor(NativeResponse.prototype, key) as PropertyDescriptor;
  if (typeof d.get === 'function') {
    Object.defineProperty(fastProto, key, {
      get(this: FastFields) {
        return (nativeOf(this) as unknown as Record<PropertyKey, unknown>)[key];
      },
    });
  } else if (typeof d.value === 'function') {
    Object.defineProperty(fastProto, key, {
      value(this: FastFields, ...args: unknown[]) {
        const native = nativeOf(this) as unknown as Record<
          PropertyKey,
          (...a: unknown[]) => unknown
        >;
        return (native[key] as (...a: unknown[]) => unknown).apply(native, args);
      },
    });
  }
}
// undici's own code reads a Response's internal slots (its state, its headers) by symbol.
for (const key of Reflect.ownKeys(new NativeResponse())) {
  if (typeof key !== 'symbol') continue;
  Object.defineProperty(fastProto, key, {
    get(this: FastFields) {
      return (nativeOf(this) as unknown as Record<symbol, unknown>)[key];
    },
  });
}
Object.defineProperty(fastProto, 'constructor', {
  value: FastResponse,
  writable: true,
  configurable: true,
});
FastResponse.prototype = fastProto;
// Static Response.json(), .redirect(), .error() are the native ones.
Object.setPrototypeOf(FastResponse, NativeResponse);
// Real Responses (from fetch(), Response.json()) are `instanceof Response` too.
Object.defineProperty(FastResponse, Symbol.hasInstance, {
  value: (v: unknown) => v instanceof NativeResponse,
});
Object.defineProperty(FastResponse, 'name', { value: 'Response' });

/** Does the lazy Response behave like a real one here? Checked once, like the lazy Request. */
async function checkFastResponse(): Promise<boolean> {
  try {
    const F = FastResponse as unknown as typeof Response;
    const r = new F('ok', { status: 201, headers: { 'x-a': '1' } });
    const copy = r.clone();
    const text = await copy.text();
    const viaNative = await new NativeResponse(new F('x').body).text();
    return (
      r instanceof NativeResponse &&
      r.status === 201 &&
      r.headers.get('content-type') === TEXT_PLAIN &&
      r.headers.get('x-a') === '1' &&
      text === 'ok' &&
      viaNative === 'x' &&
      (await r.text()) === 'ok'
    );
  } catch {
    return false;
  }
}
const fastResponseWorks = await checkFastResponse();

/**
 * Make `globalThis.Response` Rapid's lazy Response (see FetchHandlerOptions). Idempotent; does
 * nothing if this Node's Response cannot be stood in for. Returns whether it is installed.
 */
export function installFastResponse(): boolean {
  if (globalThis.Response === (FastResponse as unknown)) return true;
  if (!fastResponseWorks || globalThis.Response !== NativeResponse) return false;
  Object.defineProperty(globalThis, 'Response', {
    value: FastResponse,
    writable: true,
    configurable: true,
    enumerable: false,
  });
  return true;
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

function run(
  fn: FetchFunction,
  options: FetchHandlerOptions,
  req: RapidRequest,
  res: RapidResponse,
  url: string,
): void | Promise<void> {
  const lazy = newLazy(req, url) as unknown as LazyRequest;
  const request = lazyWorks ? (lazy as unknown as Request) : realOf(lazy);
  const info: FetchInfo = {
    req,
    res,
    remoteAddress: req.remoteAddress,
    remotePort: req.remotePort,
  };
  let r: unknown;
  try {
    r = fn(request, info);
  } catch (err) {
    return settle(lazy, respondAsync(Promise.reject(err), request, options, req, res));
  }
  // A synchronous answer (most routes of most apps) with a known body: no promise at all.
  if (r instanceof NativeResponse) {
    let written: void | Promise<void>;
    try {
      written = writeResponse(r, req, res);
    } catch (err) {
      unwatch(lazy);
      throw err;
    }
    if (written === undefined) {
      unwatch(lazy);
      return undefined;
    }
    return settle(lazy, written);
  }
  return settle(lazy, respondAsync(r, request, options, req, res));
}

async function respondAsync(
  result: unknown,
  request: Request,
  options: FetchHandlerOptions,
  req: RapidRequest,
  res: RapidResponse,
): Promise<void> {
  let response: unknown;
  try {
    response = await result;
    if (!(response instanceof NativeResponse)) {
      throw new TypeError(`fetch handler returned ${describe(response)}, not a Response`);
    }
  } catch (err) {
    if (options.onError === undefined) throw err;
    response = await options.onError(err, request);
  }
  await writeResponse(response as Response, req, res);
}

/** Stop watching the connection for this request (its signal is no longer needed). */
function unwatch(lazy: LazyRequest): void {
  const stop = lazy[kUnwatch];
  if (stop !== undefined) {
    lazy[kUnwatch] = undefined;
    stop();
  }
}

function settle(lazy: LazyRequest, p: Promise<void>): Promise<void> {
  return p.then(
    () => unwatch(lazy),
    (err: unknown) => {
      unwatch(lazy);
      throw err;
    },
  );
}

function describe(v: unknown): string {
  return v === null
    ? 'null'
    : typeof v === 'object'
      ? (v.constructor?.name ?? 'an object')
      : typeof v;
}

/** A native handler serving a fetch function. */
export function fetchHandler(fn: FetchFunction, options: FetchHandlerOptions = {}): Handler {
  if (typeof fn !== 'function') {
    throw new RapidError(E.INVALID_OPTION, 'fetchHandler() needs a (request) => Response function');
  }
  if (options.overrideGlobalResponse !== false) installFastResponse();
  return (req, res) => run(fn, options, req, res, requestUrl(req));
}

/**
 * A native handler serving a fetch function below `prefix`: `/api/users` reaches the function
 * as `/users` (the prefix itself as `/`); other paths get a 404. Use it as the handler of a
 * wildcard route (`app.all('/api/*', mountFetch('/api', hono.fetch))`) or on its own.
 */
export function mountFetch(
  prefix: string,
  fn: FetchFunction,
  options: FetchHandlerOptions = {},
): Handler {
  if (typeof prefix !== 'string' || prefix.charCodeAt(0) !== 0x2f) {
    throw new RapidError(E.INVALID_OPTION, `mountFetch() prefix must start with "/": ${prefix}`);
  }
  if (typeof fn !== 'function') {
    throw new RapidError(E.INVALID_OPTION, 'mountFetch() needs a (request) => Response function');
  }
  const base = prefix.length > 1 && prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  if (base === '/') return fetchHandler(fn, options);
  if (options.overrideGlobalResponse !== false) installFastResponse();
  return (req, res) => {
    const path = req.path;
    if (path === base) return run(fn, options, req, res, requestUrl(req, '/'));
    if (path.startsWith(base) && path.charCodeAt(base.length) === 0x2f) {
      return run(fn, options, req, res, requestUrl(req, path.slice(base.length)));
    }
    res.statusCode = 404;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.send('Not Found\n');
    return undefined;
  };
}
