/**
 * HTTP/2 sessions on node:http2 (nghttp2). One unlistened Http2Server holds the settings; each
 * socket that negotiated h2 (ALPN on TLS, or the h2c preface on cleartext) is handed to it with
 * `emit('connection')`, and every stream becomes an H2Request/H2Response pair given to the same
 * Handler as HTTP/1.1. Node's compatibility API (http2 'request') is never set up.
 *
 * Limits and defences, set explicitly:
 * - SETTINGS_MAX_CONCURRENT_STREAMS = limits.http2MaxConcurrentStreams, SETTINGS_MAX_HEADER_LIST_SIZE
 *   = limits.maxHeaderBytes, at most limits.maxHeaderCount fields; server push off.
 * - Rapid reset (CVE-2023-44487): streams the client resets (or abandons) before their response
 *   is done are counted per session per 10 s; past limits.http2MaxResets the session is ended
 *   with GOAWAY ENHANCE_YOUR_CALM. PING and SETTINGS floods are counted the same way
 *   (http2MaxPings, http2MaxSettings); nghttp2 also caps queued control-frame replies.
 * - CONTINUATION floods: the header list size bound, and nghttp2 >= 1.61 (Node >= 20.12) caps
 *   CONTINUATION frames per header block.
 * - Sessions count as connections in the registry: an idle session (no open stream) is closed
 *   after limits.keepAliveTimeout, a handler that does not answer within responseTimeout gets a
 *   503 (or its stream reset), shutdown() sends GOAWAY and lets open streams finish.
 */
import http2, {
  type Http2Server,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { E, RapidError } from '../core/errors.js';
import type { Handler, Limits, RapidRequest, ResponseObserver } from '../core/types.js';
import { answerFailure, runHandler } from '../http1/connection.js';
import type { ConnectionRegistry, TrackedConnection } from '../net/registry.js';
import { clock } from '../util/clock.js';
import { FloodCounter } from './flood.js';
import { H2Request, type H2RequestContext } from './request.js';
import { H2Response, type H2ResponseOwner } from './response.js';

export interface H2Options {
  handler: Handler;
  limits: Limits;
  onError: (err: unknown, req: RapidRequest | null) => void;
  /**
   * Told about every stream once it closes (access log, metrics; see ResponseObserver and
   * docs/logging.md); read when a connection is accepted. null or absent costs nothing.
   */
  onResponse?: ResponseObserver | null;
}

interface Peer {
  remoteAddress: string;
  remotePort: number;
}

export { FLOOD_WINDOW_MS } from './flood.js';

const { NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_FLAG_END_STREAM, NGHTTP2_NO_ERROR } = http2.constants;

/** The HTTP/2 side of a server: settings, and the sessions it has accepted. */
export class H2Engine {
  readonly server: Http2Server;
  private readonly sessions = new WeakMap<ServerHttp2Session, H2Session>();
  /** The peer of the socket being accepted ('session' is emitted synchronously by accept()). */
  private peer: Peer = { remoteAddress: '', remotePort: 0 };

  constructor(
    private readonly opts: H2Options,
    private readonly registry: ConnectionRegistry<TrackedConnection>,
  ) {
    const l = opts.limits;
    this.server = http2.createServer({
      maxHeaderListPairs: l.maxHeaderCount + 8, // + the pseudo-headers
      maxSessionMemory: 16, // MB
      maxOutstandingPings: 10,
      maxSettings: 32,
      maxSessionInvalidFrames: 100,
      maxSessionRejectedStreams: 100,
      peerMaxConcurrentStreams: 100,
      unknownProtocolTimeout: 10_000,
      settings: {
        enablePush: false,
        maxConcurrentStreams: l.http2MaxConcurrentStreams,
        maxHeaderListSize: l.maxHeaderBytes,
      },
    });
    this.server.on('session', (session: ServerHttp2Session) => {
      const s = new H2Session(session, this.peer, this.opts, this.registry);
      this.sessions.set(session, s);
    });
    this.server.on(
      'stream',
      (stream: ServerHttp2Stream, _h: unknown, flags: number, raw: string[]) => {
        const s = this.sessions.get(stream.session as ServerHttp2Session);
        if (s !== undefined) s.onStream(stream, (flags & NGHTTP2_FLAG_END_STREAM) !== 0, raw);
        else stream.close();
      },
    );
  }

  /** Serve HTTP/2 on a socket (a TLS socket that chose h2, or cleartext after the preface). */
  accept(socket: Socket | Duplex): void {
    const p = socket as Partial<Peer>;
    this.peer = { remoteAddress: p.remoteAddress ?? '', remotePort: p.remotePort ?? 0 };
    this.server.emit('connection', socket);
  }
}

/** One HTTP/2 connection, tracked by the registry like an H1Connection. */
export class H2Session implements TrackedConnection, H2ResponseOwner {
  private readonly session: ServerHttp2Session;
  private readonly opts: H2Options;
  private readonly limits: Limits;
  private readonly ctx: H2RequestContext;
  /** Responses whose stream is still open. */
  private readonly open = new Set<H2Response>();
  private idleSince = clock.now;
  private readonly floods = new FloodCounter(clock.now);
  private calmed = false;
  /** opts.onResponse when this session was accepted. */
  private readonly observer: ResponseObserver | null;
  /** Streams opened so far (the observer's `seq`); counted only while observed. */
  private requests = 0;

  constructor(
    session: ServerHttp2Session,
    peer: Peer,
    opts: H2Options,
    registry: ConnectionRegistry<TrackedConnection>,
  ) {
    this.session = session;
    this.opts = opts;
    this.limits = opts.limits;
    this.ctx = {
      remoteAddress: peer.remoteAddress,
      remotePort: peer.remotePort,
      secure: session.encrypted === true,
      maxBodyBytes: opts.limits.maxBodyBytes,
    };
    this.observer = opts.onResponse ?? null;
    registry.add(this);
    session.on('error', () => {
      // 'close' follows; a session error is the client's or the network's, not ours.
    });
    session.on('frameError', () => {
      // A frame could not be sent (the stream is gone); nothing to do but not crash.
    });
    session.on('ping', () => {
      if (this.floods.hit('pings', this.limits.http2MaxPings)) this.calm();
    });
    session.on('remoteSettings', () => {
      if (this.floods.hit('settings', this.limits.http2MaxSettings)) this.calm();
    });
    session.once('close', () => {
      registry.delete(this);
    });
  }

  /** End an abusive session: GOAWAY ENHANCE_YOUR_CALM, then the socket closes. */
  private calm(): void {
    if (this.calmed || this.session.destroyed) return;
    this.calmed = true;
    const err = new RapidError(E.HTTP2_ABUSE, this.ctx.remoteAddress);
    this.opts.onError(err, null);
    // GOAWAY first and on its own: destroying at once could close the socket before the frame
    // is written, or reset it while the abuser is still sending so that its kernel drops the
    // GOAWAY unread. No new streams are accepted after it (nghttp2 ignores them cheaply); the
    // session is destroyed after a short grace period in which the client can read the GOAWAY.
    const session = this.session;
    session.goaway(NGHTTP2_ENHANCE_YOUR_CALM);
    const kill = setTimeout(() => session.destroy(), 1000);
    kill.unref();
    session.once('close', () => clearTimeout(kill));
  }

  onStream(stream: ServerHttp2Stream, endStream: boolean, raw: string[]): void {
    stream.on('error', ignore);
    const req = new H2Request(stream, raw, endStream, this.ctx);
    const res = new H2Response(req, this);
    const rt = this.limits.responseTimeout;
    res.deadline = rt > 0 ? clock.now + rt : 0;
    if (this.observer !== null) {
      res.startMs = performance.now();
      res.seq = ++this.requests;
    }
    this.open.add(res);
    stream.once('close', () => this.onStreamClose(res));
    if (req.contentLength > this.limits.maxBodyBytes) {
      // Like HTTP/1.1, a declared body over the limit is refused before the handler runs.
      res.sendError(E.BODY_TOO_LARGE.status, E.BODY_TOO_LARGE.message);
      return;
    }
    runHandler(this.opts.handler, req, res, this);
  }

  /** The handler threw or rejected (see runHandler). */
  handlerFailed(res: H2Response, err: unknown): void {
    this.opts.onError(err, res.req);
    if (!res.gone) answerFailure(res, err);
  }

  finish(res: H2Response): void {
    res.deadline = 0;
    const req = res.req;
    if (!req.complete && !res.gone) {
      // The response is complete before the request body: read and drop the rest (up to the
      // body limit, then end the stream) so the client is not left blocked on flow control.
      const stream = req.h2stream;
      let dropped = 0;
      stream.on('data', (chunk: Buffer) => {
        dropped += chunk.length;
        if (dropped > this.limits.maxBodyBytes) stream.close(NGHTTP2_NO_ERROR);
      });
      stream.resume();
    }
  }

  private onStreamClose(res: H2Response): void {
    this.open.delete(res);
    if (this.open.size === 0) this.idleSince = clock.now;
    const observer = this.observer;
    if (observer !== null) {
      // nghttp2 encodes the head out of sight: its size is the header list's (RFC 9113 §6.5.2).
      const stream = res.req.h2stream;
      const sent = stream.headersSent;
      const head = sent ? headerListSize(stream.sentHeaders) : 0;
      observer(
        res.req,
        sent ? res.statusCode : 499,
        head + res.bodyBytes,
        head,
        res.startMs,
        this.ctx.remoteAddress,
        res.seq,
      );
    }
    // Reset by the client (RST_STREAM with an error code we did not send): counted whether or
    // not the response was already written, since rapid reset is about the work each costs.
    const code = res.req.h2stream.rstCode;
    if (code !== undefined && code !== NGHTTP2_NO_ERROR && !res.aborted) {
      if (this.floods.hit('resets', this.limits.http2MaxResets)) this.calm();
    }
  }

  get openStreams(): number {
    return this.open.size;
  }

  checkTimeout(now: number): void {
    if (this.open.size === 0) {
      const ka = this.limits.keepAliveTimeout;
      if (ka > 0 && now - this.idleSince >= ka) this.shutdown();
      return;
    }
    for (const res of this.open) {
      if (res.deadline === 0 || now < res.deadline) continue;
      res.deadline = 0;
      this.opts.onError(new RapidError(E.RESPONSE_TIMEOUT), res.req);
      if (!res.headersSent && !res.finished) {
        res.sendError(E.RESPONSE_TIMEOUT.status, E.RESPONSE_TIMEOUT.message);
      } else res.abort();
    }
  }

  /** GOAWAY: no new streams; open ones finish, then the session closes. */
  shutdown(): void {
    if (this.session.closed || this.session.destroyed) return;
    this.session.close();
  }

  destroy(): void {
    this.session.destroy();
  }
}

function ignore(): void {}

/**
 * The size of a header list as RFC 9113 §6.5.2 defines it (SETTINGS_MAX_HEADER_LIST_SIZE): each
 * field's name and value length in octets plus 32. Values are ASCII here (what Rapid sends).
 */
function headerListSize(headers: Readonly<Record<string, unknown>> | undefined): number {
  if (headers === undefined || headers === null) return 0;
  let n = 0;
  for (const name of Object.keys(headers)) {
    const v = headers[name];
    if (Array.isArray(v)) for (const x of v) n += name.length + String(x).length + 32;
    else if (v !== undefined) n += name.length + String(v).length + 32;
  }
  return n;
}
