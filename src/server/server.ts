/**
 * The public entry point: listeners + connection registry + the HTTP/1.1 engine + a handler.
 *
 *   const server = await serve({ port: 8080, handler(req, res) { res.send('hi') } });
 *   await server.close(); // graceful: in-flight requests finish, idle connections close now
 */
import type net from 'node:net';
import type tls from 'node:tls';
import { E, RapidError } from '../core/errors.js';
import {
  DEFAULT_LIMITS,
  type Handler,
  type Limits,
  type RapidRequest,
  type ResponseObserver,
  type UpgradeHandler,
} from '../core/types.js';
import { fetchHandler, type FetchFunction } from '../app/fetch.js';
import {
  withHttpsPolicy,
  type HstsOptions,
  type HttpsRedirectOptions,
} from '../features/https/index.js';
import { H1Connection, type H1Options } from '../http1/connection.js';
import { H2Engine, H2OwnEngine, sniffPreface, type H2Options } from '../http2/index.js';
import { listen } from '../net/listener.js';
import { ConnectionRegistry, type TrackedConnection } from '../net/registry.js';
import { observe, type Observability, type ObserveOptions } from './observe.js';
import { TlsSetup, type TlsOptions } from './tls.js';

export interface ServeOptions extends ObserveOptions {
  /** The native handler: (req, res) => void | Promise<void>. Give this or `fetch`. */
  handler?: Handler;
  /** A Web-standard fetch handler, (request: Request) => Response | Promise<Response>, served
   * through fetchHandler() (src/app/fetch.ts, docs/fetch.md). Give this or `handler`. */
  fetch?: FetchFunction;
  /** TCP port (default 8080; 0 picks a free one). */
  port?: number;
  /** Address to bind (default 0.0.0.0). */
  host?: string;
  /** A Unix domain socket path instead of host/port. */
  path?: string;
  backlog?: number;
  /** SO_REUSEPORT where this Node supports it (ignored elsewhere). */
  reusePort?: boolean;
  limits?: Partial<Limits>;
  /** Takes over the socket of Upgrade/CONNECT requests (WebSocket). Without it they are ordinary requests. */
  onUpgrade?: UpgradeHandler;
  /** Told about handler failures; the default prints them to stderr. */
  onError?: (err: unknown, req: RapidRequest | null) => void;
  /** Told about every finished response (see ResponseObserver); runs before the access log. */
  onResponse?: ResponseObserver;
  /** Serve HTTPS: certificates, SNI, versions, ciphers (docs/tls.md). */
  tls?: TlsOptions;
  /** Offer HTTP/2 by ALPN on TLS (default true with tls; docs/http2.md). */
  http2?: boolean;
  /** Accept HTTP/2 with prior knowledge on this cleartext listener (default false). */
  h2c?: boolean;
  /** The HTTP/2 engine: 'rapid' (default, src/http2/connection.ts) or 'node' (node:http2). */
  http2Engine?: 'rapid' | 'node';
  /** Answer cleartext requests with a redirect to HTTPS (301 GET/HEAD, 308 others). */
  redirectToHttps?: boolean | HttpsRedirectOptions;
  /** Strict-Transport-Security on HTTPS responses. */
  hsts?: HstsOptions;
}

function defaultOnError(err: unknown, req: RapidRequest | null): void {
  const where = req === null ? '' : ` (${req.method} ${req.url})`;
  console.error(`rapid: handler failed${where}:`, err);
}

/** Validate and complete the limits; a wrong one is a RAPID_ERR_INVALID_OPTION naming it. */
export function resolveLimits(partial: Partial<Limits> | undefined): Limits {
  const limits: Limits = { ...DEFAULT_LIMITS, ...partial };
  for (const [key, value] of Object.entries(limits)) {
    if (key === 'rejectUnknownMethods') {
      if (typeof value !== 'boolean')
        throw new RapidError(E.INVALID_OPTION, `limits.${key} must be a boolean`);
    } else if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) {
      throw new RapidError(
        E.INVALID_OPTION,
        `limits.${key} must be a non-negative number, got ${String(value)}`,
      );
    }
  }
  if (limits.maxPipelinedRequests < 1) {
    throw new RapidError(E.INVALID_OPTION, 'limits.maxPipelinedRequests must be at least 1');
  }
  return limits;
}

export class RapidServer {
  readonly netServer: net.Server;
  private readonly registry: ConnectionRegistry<TrackedConnection>;
  private readonly limits: Limits;
  /** The certificates of a TLS listener (null for cleartext). */
  private readonly tlsSetup: TlsSetup | null;
  private closing: Promise<void> | null = null;
  /**
   * Sockets handed to onUpgrade and still open. They are the hook's, but net.Server.close()
   * waits for them too, so close() destroys those still open at its deadline.
   */
  readonly upgraded = new Set<net.Socket>();
  /** Access log, error log, metrics and status endpoint, when configured (src/server/observe.ts). */
  observability: Observability | null = null;
  /** The engine options new connections are made with (set by serve()). */
  h1: H1Options | null = null;
  /** The HTTP/2 engine's options new connections are made with (null without HTTP/2). */
  h2: H2Options | null = null;

  constructor(
    netServer: net.Server,
    registry: ConnectionRegistry<TrackedConnection>,
    limits: Limits,
    tlsSetup: TlsSetup | null = null,
  ) {
    this.netServer = netServer;
    this.registry = registry;
    this.limits = limits;
    this.tlsSetup = tlsSetup;
  }

  /** True for a TLS listener. */
  get secure(): boolean {
    return this.tlsSetup !== null;
  }

  /**
   * Re-read every certificate and key from its files (the CLI calls this on SIGHUP). New
   * handshakes get them; open connections are kept. A broken file throws and changes nothing.
   */
  reloadCertificates(opts?: TlsOptions): void {
    if (this.tlsSetup === null) throw new RapidError(E.TLS_INVALID_OPTION, 'not a TLS server');
    this.tlsSetup.reload(opts);
  }

  /** The bound port (0 for a Unix socket). */
  get port(): number {
    const a = this.netServer.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  address(): net.AddressInfo | string | null {
    return this.netServer.address();
  }

  /**
   * Change the limits of this running server (a config reload keeps the listening socket): new
   * requests, and connections as they reach their next timer, use them. Checked like serve()'s.
   */
  setLimits(partial: Partial<Limits>): void {
    Object.assign(this.limits, resolveLimits(partial));
  }

  /** Open connections. */
  get connections(): number {
    return this.registry.size;
  }

  /**
   * Stop accepting, let in-flight requests finish (their responses carry Connection: close),
   * close idle keep-alive connections at once, and destroy what is left after `timeoutMs`
   * (default limits.closeTimeout). `idleGraceMs` keeps idle keep-alive connections open that
   * long so a request already on its way is answered (Connection: close) rather than lost; the
   * cluster's rolling restart uses it.
   */
  close(timeoutMs = this.limits.closeTimeout, { idleGraceMs = 0 } = {}): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.tlsSetup?.close();
    let deadline: NodeJS.Timeout | undefined;
    const closed = new Promise<void>((resolve) =>
      this.netServer.close(() => {
        clearTimeout(deadline);
        resolve();
      }),
    );
    if (this.upgraded.size > 0) {
      deadline = setTimeout(() => {
        for (const socket of this.upgraded) socket.destroy();
      }, timeoutMs);
      deadline.unref();
    }
    const obs = this.observability;
    this.closing = Promise.all([closed, this.registry.drain(timeoutMs, idleGraceMs)]).then(
      async () => {
        // After the drain every response has been logged; then the logs are flushed and closed.
        if (obs !== null) await obs.close();
      },
    );
    return this.closing;
  }

  /**
   * Observe the responses of connections accepted from now on, HTTP/1.1 and HTTP/2 (a config
   * reload that turns the access log or the status endpoint on; connections already open are not
   * observed).
   */
  observeResponses(observer: ResponseObserver): void {
    if (this.h1 !== null) this.h1.onResponse = observer;
    if (this.h2 !== null) this.h2.onResponse = observer;
  }

  /** Reopen the log files (SIGUSR1 after logrotate). */
  async reopenLogs(): Promise<void> {
    await this.observability?.reopen();
  }
}

/** Start a server. Resolves once it listens. */
export async function serve(options: ServeOptions): Promise<RapidServer> {
  if (options?.fetch !== undefined && options.handler !== undefined) {
    throw new RapidError(E.INVALID_OPTION, 'serve() takes a handler or a fetch function, not both');
  }
  const given = withHttpsPolicy(
    typeof options?.fetch === 'function' ? fetchHandler(options.fetch) : options?.handler,
    options?.redirectToHttps,
    options?.hsts,
  ) as Handler | undefined;
  if (typeof given !== 'function') {
    throw new RapidError(E.INVALID_OPTION, 'serve() needs a handler or a fetch function');
  }
  const obs = await observe(options, given);
  const handler = obs === null ? given : obs.handler;
  let onResponse = obs === null ? null : obs.onResponse;
  const extra = options.onResponse;
  if (extra !== undefined) {
    const rest = onResponse;
    onResponse =
      rest === null
        ? extra
        : (req, status, bytes, headBytes, startMs, remote, seq) => {
            extra(req, status, bytes, headBytes, startMs, remote, seq);
            rest(req, status, bytes, headBytes, startMs, remote, seq);
          };
  }
  const limits = resolveLimits(options.limits);
  const registry = new ConnectionRegistry<TrackedConnection>();
  const onUpgrade = options.onUpgrade;
  let server: RapidServer | null = null;
  const h1: H1Options = {
    handler,
    limits,
    onUpgrade:
      onUpgrade === undefined
        ? null
        : (req, socket, head) => {
            // Track the handed-over socket so close() can end it (see RapidServer.upgraded).
            const upgraded = (server as RapidServer).upgraded;
            upgraded.add(socket);
            socket.once('close', () => upgraded.delete(socket));
            onUpgrade(req, socket, head);
          },
    onError: options.onError ?? obs?.onError ?? defaultOnError,
    secure: options.tls !== undefined,
    onResponse,
  };
  const engine = options.http2Engine ?? 'rapid';
  if (engine !== 'rapid' && engine !== 'node') {
    throw new RapidError(E.INVALID_OPTION, `http2Engine must be 'rapid' or 'node'`);
  }
  const tlsSetup = options.tls === undefined ? null : new TlsSetup(options.tls);
  const wantH2 = tlsSetup !== null ? options.http2 !== false : options.h2c === true;
  const h2opts: H2Options = { handler, limits, onError: h1.onError, onResponse };
  const h2 = !wantH2
    ? null
    : engine === 'rapid'
      ? new H2OwnEngine(h2opts, registry)
      : new H2Engine(h2opts, registry);
  const onH1 = (socket: net.Socket): void => registry.add(new H1Connection(socket, h1, registry));
  let onSocket = onH1;
  if (tlsSetup === null && h2 !== null) {
    const raw =
      h2 instanceof H2OwnEngine ? (s: net.Socket, head: Buffer) => h2.accept(s, head) : undefined;
    onSocket = (socket) =>
      sniffPreface(socket, limits.headersTimeout, (s) => h2.accept(s as net.Socket), onH1, raw);
  } else if (h2 !== null) {
    onSocket = (socket) => {
      if ((socket as tls.TLSSocket).alpnProtocol === 'h2') h2.accept(socket);
      else onH1(socket);
    };
  }
  let netServer: net.Server;
  try {
    netServer = await listen(
      {
        host: options.host,
        port: options.port,
        path: options.path,
        backlog: options.backlog,
        reusePort: options.reusePort,
      },
      onSocket,
      tlsSetup === null
        ? undefined
        : (cb) =>
            tlsSetup.createServer(
              h2 !== null ? ['h2', 'http/1.1'] : ['http/1.1'],
              limits.headersTimeout,
              cb,
            ),
    );
  } catch (err) {
    tlsSetup?.close();
    await obs?.close();
    throw err;
  }
  server = new RapidServer(netServer, registry, limits, tlsSetup);
  server.observability = obs;
  server.h1 = h1;
  if (h2 !== null) server.h2 = h2opts;
  if (obs?.metrics != null) {
    const reg = registry;
    const remove = obs.metrics.addSources({ openConnections: () => reg.size });
    netServer.once('close', remove);
  }
  return server;
}
