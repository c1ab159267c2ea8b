/**
 * A reverse proxy as a feature handler: `createProxyHandler(options)` forwards requests to one or
 * more HTTP/1.1 upstreams over undici keep-alive pools and streams both bodies with backpressure.
 *
 * - Hop-by-hop fields (RFC 9110 §7.6.1: Connection and every field it names, Keep-Alive, TE,
 *   Trailer, Transfer-Encoding, Upgrade, Proxy-*) are removed in both directions; the body is
 *   re-framed by each hop. Expect is removed too (Rapid already answered it to the client).
 * - X-Forwarded-For (appended), X-Forwarded-Proto, X-Forwarded-Host and Forwarded (RFC 7239,
 *   appended) are added unless `xForwarded: false`; Host is the upstream's unless `preserveHost`.
 * - Several upstreams are used round-robin. One that refuses or times out its connection is
 *   skipped for `failTimeout` ms; a request without a body moves on to the next one.
 * - Unreachable: 502; connect or header timeout: 504; a body cut mid-way cuts the client's
 *   connection too. A client that goes away cancels the upstream request.
 * - `handler.upgrade` passes WebSocket (any Upgrade) connections through as bytes; give it to
 *   serve({ onUpgrade }).
 */
import net from 'node:net';
import tls from 'node:tls';
import { Pool, type Dispatcher } from 'undici';
import { E, RapidError, type ErrorSpec } from '../../core/errors.js';
import type { RapidRequest, RapidResponse } from '../../core/types.js';
import { onClientGone } from '../../app/fetch.js';
import { defaultLog, sendErrorSpec, type InteropLog } from '../cgi-response.js';

export interface ProxyOptions {
  /** "http://127.0.0.1:3000", optionally with a base path ("http://app:3000/api"); or a list. */
  upstream: string | readonly string[];
  /** Send the client's Host instead of the upstream's (default false). */
  preserveHost?: boolean;
  /** Remove this path prefix before forwarding ("/api": "/api/users" goes out as "/users"). */
  stripPrefix?: string;
  /** Time in ms for the upstream's response head, and between body reads (default 60000): 504. */
  timeout?: number;
  /** Time in ms to connect (default 10000): 504. */
  connectTimeout?: number;
  /** Add X-Forwarded-For/-Proto/-Host and Forwarded (default true). */
  xForwarded?: boolean;
  /** Request header changes, applied last. */
  headers?: { set?: Readonly<Record<string, string>>; remove?: readonly string[] };
  /** Pass Upgrade (WebSocket) requests through handler.upgrade (default true). */
  websocket?: boolean;
  /** Keep-alive connections per upstream (default 128). */
  maxConnections?: number;
  /** An upstream that failed to connect is skipped for this many ms (default 10000). */
  failTimeout?: number;
  /** Where upstream failures are reported (default: stderr). */
  log?: InteropLog;
}

export interface ProxyHandler {
  (req: RapidRequest, res: RapidResponse, next?: () => void | Promise<void>): Promise<void>;
  /** The onUpgrade hook for serve(): passes the connection through to an upstream. */
  upgrade(req: RapidRequest, socket: net.Socket, head: Buffer): void;
  close(): Promise<void>;
}

/** RFC 9110 §7.6.1 hop-by-hop fields, and the framing fields every hop sets itself. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'expect',
]);

function isHopByHop(name: string, listed: ReadonlySet<string> | null): boolean {
  return HOP_BY_HOP.has(name) || name.startsWith('proxy-') || (listed !== null && listed.has(name));
}

/** The field names a Connection header lists (lowercased), or null. */
function connectionListed(values: readonly string[]): Set<string> | null {
  let out: Set<string> | null = null;
  for (const v of values) {
    for (const part of v.split(',')) {
      const name = part.trim().toLowerCase();
      if (name.length > 0) (out ??= new Set()).add(name);
    }
  }
  return out;
}

interface Upstream {
  readonly origin: string;
  readonly url: URL;
  /** Path prefix of the upstream URL, without trailing slash ("" for none). */
  readonly base: string;
  readonly host: string;
  readonly pool: Pool;
  downUntil: number;
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new RapidError(E.PROXY_INVALID_OPTION, what);
}

function isMs(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A node in Forwarded: IPv6 addresses quoted in brackets (RFC 7239 §6). */
function forwardedNode(addr: string): string {
  return net.isIPv6(addr) ? `"[${addr}]"` : addr;
}

function quoteIfNeeded(v: string): string {
  return TOKEN.test(v) ? v : `"${v.replace(/["\\]/g, '\\$&')}"`;
}

/** Connect-phase failures: the request never reached the upstream, so it may try another. */
const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function errorCode(err: unknown): string {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null;
  const code = e?.code ?? e?.cause?.code;
  return typeof code === 'string' ? code : '';
}

/**
 * One request to one upstream through undici's dispatcher API: the response head is applied to
 * the Rapid response as it arrives and body chunks are written straight through, with
 * backpressure (onData returning false pauses the upstream socket until the client drains).
 * No Readable and no header object are built per request.
 */
class Exchange {
  /** The response head went to the client (or is being buffered by it). */
  started = false;
  gone = false;
  private abort: ((err?: Error) => void) | null = null;
  private body: ReturnType<RapidRequest['stream']> | null = null;
  private readonly req: RapidRequest;
  private readonly res: RapidResponse;

  constructor(req: RapidRequest, res: RapidResponse) {
    this.req = req;
    this.res = res;
  }

  clientGone(): void {
    this.gone = true;
    if (this.abort !== null) this.abort(new RapidError(E.REQUEST_ABORTED));
  }

  /** Resolves null when the response is complete, or the error (nothing thrown). */
  run(u: Upstream, path: string, headers: string[]): Promise<Error | null> {
    const req = this.req;
    const res = this.res;
    if (req.hasBody) this.body ??= req.stream();
    return new Promise<Error | null>((resolve) => {
      let done = false;
      const finish = (err: Error | null): void => {
        if (done) return;
        done = true;
        this.abort = null;
        resolve(err);
      };
      try {
        u.pool.dispatch(
          {
            path,
            method: req.method as Dispatcher.HttpMethod,
            headers,
            body: this.body,
            // Never replayed by undici: a retry is the caller's decision.
            idempotent: false,
          },
          {
            onConnect: (abort) => {
              this.abort = abort;
              if (this.gone) abort(new RapidError(E.REQUEST_ABORTED));
            },
            onHeaders: (status, raw, resume) => {
              if (status < 200) return true; // 1xx: informational, not forwarded
              this.started = true;
              u.downUntil = 0;
              applyHead(res, status, raw);
              this.resume = resume;
              return true;
            },
            onData: (chunk) => {
              if (res.finished) return true;
              if (res.write(chunk)) return true;
              const resume = this.resume;
              void res.drain().then(() => resume?.());
              return false;
            },
            onComplete: () => {
              try {
                if (!res.finished) res.end();
                finish(null);
              } catch (err) {
                finish(err as Error);
              }
            },
            onError: (err) => finish(err),
          },
        );
      } catch (err) {
        // Arguments undici refuses (a method it cannot send): an error like any other.
        finish(err as Error);
      }
    });
  }

  private resume: (() => void) | null = null;
}

/** The upstream's status and fields on the Rapid response, hop-by-hop ones removed. */
function applyHead(res: RapidResponse, status: number, raw: Buffer[]): void {
  const names: string[] = [];
  const values: string[] = [];
  const connection: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as Buffer).toString('latin1').toLowerCase();
    const value = (raw[i + 1] as Buffer).toString('latin1');
    if (name === 'connection') connection.push(value);
    names.push(name);
    values.push(value);
  }
  const listed = connectionListed(connection);
  res.status(status);
  let length: string | undefined;
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    if (isHopByHop(name, listed)) continue;
    const value = values[i] as string;
    if (name === 'content-length') {
      if (/^\d{1,15}$/.test(value)) length = value;
      continue;
    }
    res.appendHeader(name, value);
  }
  if (length !== undefined) {
    res.setHeader('Content-Length', length);
    // Commit the head with the upstream's length even when no body bytes follow (HEAD, 304).
    res.write('');
  }
}

class Proxy {
  private readonly upstreams: Upstream[];
  private next = 0;
  private readonly preserveHost: boolean;
  private readonly strip: string;
  private readonly xForwarded: boolean;
  private readonly setHeaders: [string, string][];
  private readonly removeHeaders: Set<string>;
  private readonly connectTimeout: number;
  private readonly failTimeout: number;
  readonly websocket: boolean;
  private readonly log: InteropLog;

  constructor(o: ProxyOptions) {
    check(typeof o === 'object' && o !== null, 'options must be an object');
    const list = typeof o.upstream === 'string' ? [o.upstream] : o.upstream;
    check(Array.isArray(list) && list.length > 0, 'upstream must be a URL or a list of URLs');
    const timeout = o.timeout ?? 60_000;
    const connectTimeout = o.connectTimeout ?? 10_000;
    const failTimeout = o.failTimeout ?? 10_000;
    const maxConnections = o.maxConnections ?? 128;
    check(isMs(timeout), 'timeout must be a number of ms');
    check(isMs(connectTimeout), 'connectTimeout must be a number of ms');
    check(isMs(failTimeout), 'failTimeout must be a number of ms');
    check(
      Number.isInteger(maxConnections) && maxConnections >= 1,
      'maxConnections must be a positive integer',
    );
    this.upstreams = list.map((u) => {
      let url: URL;
      try {
        url = new URL(u);
      } catch {
        throw new RapidError(E.PROXY_INVALID_OPTION, `upstream ${JSON.stringify(u)} is not a URL`);
      }
      check(
        (url.protocol === 'http:' || url.protocol === 'https:') &&
          url.search === '' &&
          url.hash === '' &&
          url.username === '',
        `upstream ${JSON.stringify(u)} must be an http:// or https:// URL without query or credentials`,
      );
      const pool = new Pool(url.origin, {
        connections: maxConnections,
        pipelining: 1,
        connectTimeout,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      return {
        origin: url.origin,
        url,
        base: url.pathname.replace(/\/+$/, ''),
        host: url.host,
        pool,
        downUntil: 0,
      };
    });
    const strip = o.stripPrefix ?? '';
    check(
      typeof strip === 'string' && (strip === '' || strip.startsWith('/')),
      'stripPrefix must start with "/"',
    );
    this.strip = strip.replace(/\/+$/, '');
    this.preserveHost = o.preserveHost ?? false;
    this.xForwarded = o.xForwarded ?? true;
    const set = o.headers?.set ?? {};
    const remove = o.headers?.remove ?? [];
    check(
      typeof set === 'object' &&
        Object.entries(set).every(
          ([k, v]) => TOKEN.test(k) && typeof v === 'string' && !/[\r\n\0]/.test(v),
        ),
      'headers.set must map header names to values',
    );
    check(
      Array.isArray(remove) && remove.every((k) => typeof k === 'string' && TOKEN.test(k)),
      'headers.remove must list header names',
    );
    this.setHeaders = Object.entries(set).map(([k, v]) => [k.toLowerCase(), v]);
    this.removeHeaders = new Set(remove.map((k) => k.toLowerCase()));
    for (const [k] of this.setHeaders) this.removeHeaders.add(k);
    this.connectTimeout = connectTimeout;
    this.failTimeout = failTimeout;
    this.websocket = o.websocket ?? true;
    check(o.log === undefined || typeof o.log === 'function', 'log must be a function');
    this.log = o.log ?? defaultLog('proxy');
  }

  /** The path to forward, or null when the request is outside stripPrefix. */
  private targetPath(req: RapidRequest): string | null {
    let path = req.path;
    const strip = this.strip;
    if (strip !== '') {
      if (!path.startsWith(strip)) return null;
      const rest = path.slice(strip.length);
      if (rest.length !== 0 && rest.charCodeAt(0) !== 0x2f) return null;
      path = rest.length === 0 ? '/' : rest;
    }
    return path + req.search;
  }

  /** Upstreams in the order to try: round-robin, the ones marked down last. */
  private order(): Upstream[] {
    const n = this.upstreams.length;
    const start = this.next;
    this.next = (start + 1) % n;
    const now = Date.now();
    const up: Upstream[] = [];
    const down: Upstream[] = [];
    for (let i = 0; i < n; i++) {
      const u = this.upstreams[(start + i) % n] as Upstream;
      (u.downUntil > now ? down : up).push(u);
    }
    // When every upstream is marked down, try them anyway: one may be back.
    return up.length > 0 ? up : down;
  }

  /** The request's header list for the upstream (flat name, value pairs). */
  private forwardHeaders(req: RapidRequest, u: Upstream, upgrade: boolean): string[] {
    const raw = req.rawHeaders;
    const connection: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i] === 'connection') connection.push(raw[i + 1] as string);
    }
    const listed = connectionListed(connection);
    const out: string[] = [];
    let xff: string | undefined;
    let forwarded: string | undefined;
    const remove = this.removeHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i] as string;
      const value = raw[i + 1] as string;
      if (name === 'host') continue;
      if (upgrade && name === 'upgrade') {
        out.push(name, value);
        continue;
      }
      if (isHopByHop(name, listed) || remove.has(name)) continue;
      if (this.xForwarded) {
        if (name === 'x-forwarded-for') {
          xff = xff === undefined ? value : `${xff}, ${value}`;
          continue;
        }
        if (name === 'forwarded') {
          forwarded = forwarded === undefined ? value : `${forwarded}, ${value}`;
          continue;
        }
        if (name === 'x-forwarded-proto' || name === 'x-forwarded-host') continue;
      }
      out.push(name, value);
    }
    out.push('host', this.preserveHost && req.host !== '' ? req.host : u.host);
    if (upgrade) out.push('connection', 'upgrade');
    if (this.xForwarded) {
      const addr = req.remoteAddress;
      const proto = req.secure ? 'https' : 'http';
      out.push('x-forwarded-for', xff === undefined ? addr : `${xff}, ${addr}`);
      out.push('x-forwarded-proto', proto);
      if (req.host !== '') out.push('x-forwarded-host', req.host);
      let node = `for=${forwardedNode(addr)};proto=${proto}`;
      if (req.host !== '') node += `;host=${quoteIfNeeded(req.host)}`;
      out.push('forwarded', forwarded === undefined ? node : `${forwarded}, ${node}`);
    }
    for (const [k, v] of this.setHeaders) out.push(k, v);
    return out;
  }

  async handle(
    req: RapidRequest,
    res: RapidResponse,
    next?: () => void | Promise<void>,
  ): Promise<void> {
    const path = this.targetPath(req);
    if (path === null) {
      if (next !== undefined) return next();
      sendErrorSpec(res, E.ROUTER_NOT_FOUND);
      return;
    }
    const candidates = this.order();
    const exchange = new Exchange(req, res);
    const stopWatch = onClientGone(req, () => exchange.clientGone(), true);
    try {
      for (let i = 0; i < candidates.length; i++) {
        const u = candidates[i] as Upstream;
        const err = await exchange.run(u, u.base + path, this.forwardHeaders(req, u, false));
        if (err === null || exchange.gone) return;
        const code = errorCode(err);
        if (!exchange.started && CONNECT_ERRORS.has(code)) {
          u.downUntil = Date.now() + this.failTimeout;
          this.log('error', `${req.method} ${req.url}: ${u.origin} unreachable (${code})`);
          // A body that has not started streaming can go to the next upstream.
          if (!req.hasBody && i + 1 < candidates.length) continue;
          sendErrorSpec(
            res,
            code === 'UND_ERR_CONNECT_TIMEOUT' ? E.PROXY_CONNECT_TIMEOUT : E.PROXY_UNAVAILABLE,
          );
          return;
        }
        const spec =
          code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT'
            ? E.PROXY_TIMEOUT
            : E.PROXY_BAD_RESPONSE;
        this.log(
          'error',
          `${req.method} ${req.url}: ${u.origin}: ${spec.message} (${code || err.message})`,
        );
        if (!sendErrorSpec(res, spec)) throw new RapidError(spec, code, { cause: err });
        return;
      }
    } finally {
      stopWatch();
    }
  }

  // ---- Upgrade pass-through ----

  upgrade(req: RapidRequest, socket: net.Socket, head: Buffer): void {
    const fail = (status: number, spec: ErrorSpec): void => {
      const text = `${spec.message}\n`;
      socket.end(
        `HTTP/1.1 ${status} ${status === 504 ? 'Gateway Timeout' : 'Bad Gateway'}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
      );
    };
    const path = this.targetPath(req);
    if (!this.websocket || path === null) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const u = this.order()[0] as Upstream;
    const lines = [`${req.method} ${u.base + path} HTTP/1.1`];
    const h = this.forwardHeaders(req, u, true);
    for (let i = 0; i < h.length; i += 2) lines.push(`${h[i]}: ${h[i + 1]}`);
    const port = Number(u.url.port) || (u.url.protocol === 'https:' ? 443 : 80);
    const host = u.url.hostname.replace(/^\[|\]$/g, '');
    const upstream =
      u.url.protocol === 'https:'
        ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host })
        : net.connect(port, host);
    let connected = false;
    upstream.setTimeout(this.connectTimeout);
    upstream.once('timeout', () => {
      if (!connected) {
        upstream.destroy();
        this.log('error', `upgrade ${req.url}: ${u.origin} connect timed out`);
        fail(504, E.PROXY_CONNECT_TIMEOUT);
      }
    });
    upstream.once(u.url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      connected = true;
      upstream.setTimeout(0);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', (err) => {
      if (!connected) {
        u.downUntil = Date.now() + this.failTimeout;
        this.log('error', `upgrade ${req.url}: ${u.origin} unreachable (${errorCode(err)})`);
        fail(502, E.PROXY_UNAVAILABLE);
      } else socket.destroy();
    });
    upstream.on('close', () => {
      if (connected) socket.destroy();
    });
    socket.on('error', () => upstream.destroy());
    socket.on('close', () => upstream.destroy());
  }

  async close(): Promise<void> {
    await Promise.all(this.upstreams.map((u) => u.pool.destroy()));
  }
}

export function createProxyHandler(options: ProxyOptions): ProxyHandler {
  const p = new Proxy(options);
  const handler = ((req, res, next) => p.handle(req, res, next)) as ProxyHandler;
  handler.upgrade = (req, socket, head) => p.upgrade(req, socket, head);
  handler.close = () => p.close();
  return handler;
}
