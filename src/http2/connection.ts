/**
 * Rapid's own HTTP/2 engine (RFC 9113), the default (`http2Engine: 'rapid'`; 'node' keeps the
 * node:http2 engine of src/http2/session.ts). Frames are parsed from the socket's bytes in
 * JavaScript, streams are plain objects (H2StreamRequest/H2StreamResponse, src/http2/stream.ts),
 * HPACK is src/http2/hpack.ts, and everything a connection produces while handling one read (or
 * within one tick, for handlers that answer later) goes out as one socket write.
 *
 * Protocol: client preface then SETTINGS first; SETTINGS ACK, PING ACK; stream states and id
 * rules (odd, increasing; HEADERS on a closed stream is STREAM_CLOSED); CONTINUATION assembly;
 * padding; flow control both ways (connection and stream windows; INITIAL_WINDOW_SIZE changes
 * applied to open streams; DATA beyond the peer's window waits and resumes on WINDOW_UPDATE);
 * request pseudo-header validation (§8.3) and connection-specific fields (§8.2.2) -> RST_STREAM
 * PROTOCOL_ERROR; content-length vs DATA; trailers; CONNECT is answered 501. Connection errors
 * end with GOAWAY (last stream id, code) and the socket closing after a short grace period.
 *
 * Limits and defences (the same Limits as the node engine):
 * - SETTINGS_MAX_CONCURRENT_STREAMS = http2MaxConcurrentStreams (REFUSED_STREAM past it),
 *   SETTINGS_MAX_HEADER_LIST_SIZE = maxHeaderBytes and maxHeaderCount fields (431 past them),
 *   server push off.
 * - Rapid reset: RST_STREAM from the client counted per FLOOD_WINDOW_MS, past http2MaxResets
 *   GOAWAY ENHANCE_YOUR_CALM (RAPID_ERR_HTTP2_ABUSE); PING and SETTINGS floods the same way.
 * - CONTINUATION floods: a header block may span at most MAX_CONTINUATIONS frames and
 *   4 x maxHeaderBytes encoded bytes, else GOAWAY ENHANCE_YOUR_CALM.
 * - Outbound bound: past MAX_OUTBOUND bytes waiting in the socket the connection stops reading
 *   (a peer that does not read cannot make it queue replies); stalled longer than bodyTimeout it
 *   is destroyed. Request bodies are bounded by the stream windows.
 * - Idle (no stream) for keepAliveTimeout -> GOAWAY and close; no preface/SETTINGS within
 *   headersTimeout -> close; responseTimeout -> 503 or RST_STREAM; shutdown() sends GOAWAY and
 *   lets open streams finish.
 */
import type { Socket } from 'node:net';
import { E, RapidError } from '../core/errors.js';
import type { Handler, Limits, RapidRequest, ResponseObserver } from '../core/types.js';
import { answerFailure, runHandler } from '../http1/connection.js';
import type { ConnectionRegistry, TrackedConnection } from '../net/registry.js';
import { clock } from '../util/clock.js';
import { httpDate } from '../util/date.js';
import * as F from './frames.js';
import { ByteWriter, HPACK_ERROR, HPACK_TOO_LARGE, HpackDecoder, HpackEncoder } from './hpack.js';
import { PREFACE } from './preface.js';
import type { H2RequestContext } from './request.js';
import { FloodCounter } from './flood.js';
import type { H2Options } from './session.js';
import { H2StreamRequest, H2StreamResponse, type StreamOwner } from './stream.js';

/** Our connection receive window (announced with a WINDOW_UPDATE after SETTINGS). */
const CONN_WINDOW = 16 * 1024 * 1024;
/** Bytes waiting in the socket past which reading stops until it drains. */
const MAX_OUTBOUND = 1024 * 1024;
/** Bytes waiting past which a streaming handler is told to wait (write() returns false). */
const STREAM_HWM = 64 * 1024;
const MAX_CONTINUATIONS = 32;
const SLAB = 128 * 1024;
const GRACE_MS = 1000;

/** Fields that make a request malformed on HTTP/2 (RFC 9113 §8.2.2). */
const FORBIDDEN = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);

/** The HTTP/2 side of a server on Rapid's own engine. */
export class H2OwnEngine {
  constructor(
    private readonly opts: H2Options,
    private readonly registry: ConnectionRegistry<TrackedConnection>,
  ) {}

  /** Serve HTTP/2 on a socket; `head` = bytes already read from it (h2c: the preface). */
  accept(socket: Socket, head?: Buffer): void {
    const c = new H2Connection(socket, this.opts, this.registry);
    if (head !== undefined && head.length > 0) c.onData(head);
  }
}

class H2Connection implements TrackedConnection, StreamOwner {
  private readonly socket: Socket;
  private readonly opts: H2Options;
  private readonly limits: Limits;
  private readonly handler: Handler;
  private readonly registry: ConnectionRegistry<TrackedConnection>;
  private readonly ctx: H2RequestContext;
  private readonly decoder = new HpackDecoder(4096);
  private readonly encoder = new HpackEncoder();
  private readonly hw = new ByteWriter(1024);

  private readonly streams = new Map<number, H2StreamResponse>();
  /** The last few stream ids closed (a ring), to tell STREAM_CLOSED from PROTOCOL_ERROR. */
  private readonly recentlyClosed: number[] = new Array<number>(16).fill(0);
  private closedAt = 0;
  private lastStreamId = 0;
  /** Bytes carried to the next read: fewer than a frame header, or part of the preface. */
  private input: Buffer | null = null;
  /**
   * A frame (header and payload) that straddles reads, filled in place: its size is known from
   * its header, so each read copies only its own bytes (joining the whole partial frame again on
   * every read would cost up to 16 KB per byte to a client that sends one byte at a time).
   */
  private partial: Buffer | null = null;
  private partialFill = 0;
  private prefaceSeen = false;
  private settingsSeen = false;
  private readonly started = clock.now;

  // Peer settings.
  private peerMaxFrame = F.DEFAULT_MAX_FRAME;
  private peerInitialWindow = F.DEFAULT_WINDOW;
  private connSendWindow = F.DEFAULT_WINDOW;
  private connRecvWindow = F.DEFAULT_WINDOW;

  // Header block being assembled from CONTINUATION frames.
  private contStream = 0;
  private contParts: Buffer[] = [];
  private contBytes = 0;
  private contFrames = 0;
  private contEndStream = false;
  private contBadPriority = false;

  // Output: frames are appended to a slab and written once per read / tick.
  private slab = Buffer.allocUnsafe(SLAB);
  private outStart = 0;
  private outEnd = 0;
  private flushQueued = false;
  private inRead = false;
  /** Streams with DATA waiting for window. */
  private readonly blocked = new Set<H2StreamResponse>();
  /** Streams whose handler waits in drain(). */
  private readonly waiters = new Map<H2StreamResponse, () => void>();

  private goawaySent = false;
  private peerGoaway = false;
  private dead = false;
  private readPaused = false;
  private pausedSince = 0;
  private idleSince = clock.now;
  private readonly floods = new FloodCounter(Date.now());
  /** opts.onResponse when this connection was accepted: told about each stream as it closes. */
  private readonly observer: ResponseObserver | null;
  /** Streams opened so far (the observer's `seq`); counted only while observed. */
  private requests = 0;

  constructor(socket: Socket, opts: H2Options, registry: ConnectionRegistry<TrackedConnection>) {
    this.socket = socket;
    this.opts = opts;
    this.limits = opts.limits;
    this.handler = opts.handler;
    this.registry = registry;
    this.ctx = {
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      secure: (socket as { encrypted?: boolean }).encrypted === true,
      maxBodyBytes: opts.limits.maxBodyBytes,
    };
    this.observer = opts.onResponse ?? null;
    registry.add(this);
    if (typeof socket.setNoDelay === 'function') socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', () => {
      // 'close' follows
    });
    socket.on('end', () => {
      if (!this.dead) this.closeNow();
      else socket.destroy();
    });
    socket.once('close', () => this.onSocketClose());
    this.sendSettings();
    this.flush();
  }

  // --- input ------------------------------------------------------------------------------

  onData(chunk: Buffer): void {
    if (this.dead) return;
    let data = chunk;
    const part = this.partial;
    if (part !== null) {
      const n = Math.min(part.length - this.partialFill, chunk.length);
      chunk.copy(part, this.partialFill, 0, n);
      this.partialFill += n;
      if (this.partialFill < part.length) return;
      // A new Buffer per straddling frame: handlers may keep views of its payload (body chunks).
      this.partial = null;
      this.inRead = true;
      const sid = part.readUInt32BE(5) & 0x7fffffff;
      this.onFrame(part[3] as number, part[4] as number, sid, part, F.FRAME_HEADER, part.length);
      this.inRead = false;
      if (this.dead || n === chunk.length) {
        this.flush();
        return;
      }
      data = chunk.subarray(n);
    }
    if (this.input !== null) {
      data = Buffer.concat([this.input, data]);
      this.input = null;
    }
    let p = 0;
    if (!this.prefaceSeen) {
      const n = Math.min(data.length, PREFACE.length);
      if (data.compare(PREFACE, 0, n, 0, n) !== 0) {
        this.socket.destroy();
        return;
      }
      if (data.length < PREFACE.length) {
        this.input = Buffer.from(data);
        return;
      }
      this.prefaceSeen = true;
      p = PREFACE.length;
    }
    this.inRead = true;
    const len = data.length;
    let flen = 0;
    while (len - p >= F.FRAME_HEADER) {
      flen = ((data[p] as number) << 16) | ((data[p + 1] as number) << 8) | (data[p + 2] as number);
      if (flen > F.DEFAULT_MAX_FRAME) {
        this.connError(F.FRAME_SIZE_ERROR);
        break;
      }
      if (len - p - F.FRAME_HEADER < flen) break;
      const type = data[p + 3] as number;
      const flags = data[p + 4] as number;
      const sid = data.readUInt32BE(p + 5) & 0x7fffffff;
      const s = p + F.FRAME_HEADER;
      p = s + flen;
      this.onFrame(type, flags, sid, data, s, p);
      if (this.dead) break;
    }
    this.inRead = false;
    if (!this.dead && p < len) {
      if (len - p >= F.FRAME_HEADER) {
        // The loop stopped at a frame whose header (length checked) is here but not all of it.
        const f = Buffer.allocUnsafe(F.FRAME_HEADER + flen);
        this.partialFill = data.copy(f, 0, p, len);
        this.partial = f;
      } else this.input = Buffer.from(data.subarray(p));
    }
    this.flush();
  }

  private onFrame(type: number, flags: number, sid: number, b: Buffer, s: number, e: number): void {
    if (!this.settingsSeen) {
      if (type !== F.T_SETTINGS || (flags & F.F_ACK) !== 0) {
        this.connError(F.PROTOCOL_ERROR);
        return;
      }
      this.settingsSeen = true;
    }
    if (this.contStream !== 0 && (type !== F.T_CONTINUATION || sid !== this.contStream)) {
      this.connError(F.PROTOCOL_ERROR);
      return;
    }
    switch (type) {
      case F.T_DATA:
        this.onDataFrame(flags, sid, b, s, e);
        return;
      case F.T_HEADERS:
        this.onHeaders(flags, sid, b, s, e);
        return;
      case F.T_PRIORITY:
        if (sid === 0) this.connError(F.PROTOCOL_ERROR);
        else if (e - s !== 5) this.streamError(sid, F.FRAME_SIZE_ERROR);
        else if ((b.readUInt32BE(s) & 0x7fffffff) === sid) this.streamError(sid, F.PROTOCOL_ERROR);
        return;
      case F.T_RST_STREAM:
        this.onRstStream(sid, b, s, e);
        return;
      case F.T_SETTINGS:
        this.onSettings(flags, sid, b, s, e);
        return;
      case F.T_PUSH_PROMISE:
        this.connError(F.PROTOCOL_ERROR);
        return;
      case F.T_PING:
        if (e - s !== 8) this.connError(F.FRAME_SIZE_ERROR);
        else if (sid !== 0) this.connError(F.PROTOCOL_ERROR);
        else if ((flags & F.F_ACK) === 0) {
          if (this.floods.hit('pings', this.limits.http2MaxPings)) {
            this.calm();
            return;
          }
          this.frameHeader(8, F.T_PING, F.F_ACK, 0);
          this.reserve(8);
          b.copy(this.slab, this.outEnd, s, e);
          this.outEnd += 8;
        }
        return;
      case F.T_GOAWAY:
        if (sid !== 0) this.connError(F.PROTOCOL_ERROR);
        else if (e - s < 8) this.connError(F.FRAME_SIZE_ERROR);
        else {
          this.peerGoaway = true;
          if (this.streams.size === 0) this.endGracefully();
        }
        return;
      case F.T_WINDOW_UPDATE:
        this.onWindowUpdate(sid, b, s, e);
        return;
      case F.T_CONTINUATION:
        this.onContinuation(flags, sid, b, s, e);
        return;
      default:
        return; // unknown frame types are ignored (§4.1)
    }
  }

  private onDataFrame(flags: number, sid: number, b: Buffer, s: number, e: number): void {
    if (sid === 0) {
      this.connError(F.PROTOCOL_ERROR);
      return;
    }
    const flen = e - s;
    if (flen > this.connRecvWindow) {
      this.connError(F.FLOW_CONTROL_ERROR);
      return;
    }
    this.connRecvWindow -= flen;
    if (this.connRecvWindow < CONN_WINDOW / 2) {
      this.sendWindowUpdate(0, CONN_WINDOW - this.connRecvWindow);
      this.connRecvWindow = CONN_WINDOW;
    }
    let ds = s;
    let de = e;
    if ((flags & F.F_PADDED) !== 0) {
      if (flen < 1) {
        this.connError(F.FRAME_SIZE_ERROR);
        return;
      }
      const pad = b[s] as number;
      if (pad >= flen) {
        this.connError(F.PROTOCOL_ERROR);
        return;
      }
      ds = s + 1;
      de = e - pad;
    }
    const res = this.streams.get(sid);
    if (res === undefined) {
      if (sid > this.lastStreamId) this.connError(F.PROTOCOL_ERROR);
      else this.streamError(sid, F.STREAM_CLOSED);
      return;
    }
    if (res.remoteClosed) {
      this.streamError(sid, F.STREAM_CLOSED);
      return;
    }
    if (flen > res.recvWindow) {
      this.streamError(sid, F.FLOW_CONTROL_ERROR);
      return;
    }
    res.recvWindow -= flen;
    const req = res.req;
    const padding = flen - (de - ds);
    if (padding > 0) this.credit(res, padding);
    const declared = req.declared;
    if (declared >= 0 && req.received + (de - ds) > declared) {
      this.malformed(res);
      return;
    }
    if (de > ds) req.onData(b.subarray(ds, de));
    if ((flags & F.F_END_STREAM) !== 0) {
      if (declared >= 0 && req.received !== declared) {
        this.malformed(res);
        return;
      }
      res.remoteClosed = true;
      req.onBodyEnd();
      this.maybeClose(res);
    }
  }

  /** A request that breaks §8.1.1 after its head was accepted: RST_STREAM PROTOCOL_ERROR. */
  private malformed(res: H2StreamResponse): void {
    res.req.onAbort(new RapidError(E.HTTP2_BODY_LENGTH_MISMATCH));
    this.resetStream(res, F.PROTOCOL_ERROR);
  }

  private onHeaders(flags: number, sid: number, b: Buffer, s: number, e: number): void {
    if (sid === 0 || (sid & 1) === 0) {
      this.connError(F.PROTOCOL_ERROR);
      return;
    }
    let fs = s;
    let fe = e;
    if ((flags & F.F_PADDED) !== 0) {
      if (e - s < 1) {
        this.connError(F.FRAME_SIZE_ERROR);
        return;
      }
      const pad = b[s] as number;
      fs++;
      if (pad > fe - fs) {
        this.connError(F.PROTOCOL_ERROR);
        return;
      }
      fe -= pad;
    }
    let badPriority = false;
    if ((flags & F.F_PRIORITY) !== 0) {
      if (fe - fs < 5) {
        this.connError(F.FRAME_SIZE_ERROR);
        return;
      }
      badPriority = (b.readUInt32BE(fs) & 0x7fffffff) === sid;
      fs += 5;
    }
    const endStream = (flags & F.F_END_STREAM) !== 0;
    if ((flags & F.F_END_HEADERS) !== 0) {
      this.onHeaderBlock(sid, b, fs, fe, endStream, badPriority);
      return;
    }
    this.contStream = sid;
    this.contParts = [Buffer.from(b.subarray(fs, fe))];
    this.contBytes = fe - fs;
    this.contFrames = 0;
    this.contEndStream = endStream;
    this.contBadPriority = badPriority;
  }

  private onContinuation(flags: number, sid: number, b: Buffer, s: number, e: number): void {
    if (this.contStream === 0 || sid !== this.contStream) {
      this.connError(F.PROTOCOL_ERROR);
      return;
    }
    this.contBytes += e - s;
    if (
      ++this.contFrames > MAX_CONTINUATIONS ||
      this.contBytes > 4 * this.limits.maxHeaderBytes + 1024
    ) {
      this.calm();
      return;
    }
    this.contParts.push(Buffer.from(b.subarray(s, e)));
    if ((flags & F.F_END_HEADERS) === 0) return;
    const block = Buffer.concat(this.contParts, this.contBytes);
    this.contStream = 0;
    this.contParts = [];
    this.onHeaderBlock(sid, block, 0, block.length, this.contEndStream, this.contBadPriority);
  }

  private onHeaderBlock(
    sid: number,
    b: Buffer,
    s: number,
    e: number,
    endStream: boolean,
    badPriority: boolean,
  ): void {
    const l = this.limits;
    const fields: string[] = [];
    const r = this.decoder.decode(b, s, e, fields, l.maxHeaderBytes, l.maxHeaderCount + 8);
    if (r === HPACK_ERROR) {
      this.connError(F.COMPRESSION_ERROR);
      return;
    }
    const existing = this.streams.get(sid);
    if (existing !== undefined) {
      // Trailers: END_STREAM required, no pseudo-headers.
      if (existing.remoteClosed) this.streamError(sid, F.STREAM_CLOSED);
      else if (!endStream || hasPseudo(fields)) this.malformed(existing);
      else {
        existing.remoteClosed = true;
        existing.req.trailers = fields;
        if (existing.req.declared >= 0 && existing.req.received !== existing.req.declared) {
          this.malformed(existing);
          return;
        }
        existing.req.onBodyEnd();
        this.maybeClose(existing);
      }
      return;
    }
    if (sid <= this.lastStreamId) {
      // HEADERS on a stream that was closed is STREAM_CLOSED; an id below the last one that was
      // never used is a PROTOCOL_ERROR (§5.1, §5.1.1).
      this.connError(this.recentlyClosed.includes(sid) ? F.STREAM_CLOSED : F.PROTOCOL_ERROR);
      return;
    }
    this.lastStreamId = sid;
    if (this.goawaySent || this.peerGoaway) return; // after GOAWAY: ignored
    if (badPriority) {
      this.sendRst(sid, F.PROTOCOL_ERROR);
      return;
    }
    if (this.streams.size >= l.http2MaxConcurrentStreams) {
      this.sendRst(sid, F.REFUSED_STREAM);
      return;
    }
    if (r !== HPACK_TOO_LARGE && !validRequest(fields)) {
      this.sendRst(sid, F.PROTOCOL_ERROR);
      return;
    }
    const req = new H2StreamRequest(fields, endStream, this.ctx);
    const res = new H2StreamResponse(sid, req, this, this.peerInitialWindow, F.DEFAULT_WINDOW);
    this.streams.set(sid, res);
    const rt = l.responseTimeout;
    res.deadline = rt > 0 ? clock.now + rt : 0;
    if (this.observer !== null) {
      res.startMs = performance.now();
      res.seq = ++this.requests;
    }
    if (r === HPACK_TOO_LARGE) {
      const tooMany = fields.length >= (l.maxHeaderCount + 8) * 2;
      const spec = tooMany ? E.HTTP2_TOO_MANY_HEADERS : E.HTTP2_HEADERS_TOO_LARGE;
      res.sendError(spec.status, spec.message);
      return;
    }
    if (req.method === 'CONNECT') {
      res.sendError(E.HTTP2_CONNECT_UNSUPPORTED.status, E.HTTP2_CONNECT_UNSUPPORTED.message);
      return;
    }
    if (req.contentLength > l.maxBodyBytes) {
      res.sendError(E.BODY_TOO_LARGE.status, E.BODY_TOO_LARGE.message);
      return;
    }
    runHandler(this.handler, req as RapidRequest, res, this);
  }

  private onRstStream(sid: number, b: Buffer, s: number, e: number): void {
    if (e - s !== 4) {
      this.connError(F.FRAME_SIZE_ERROR);
      return;
    }
    if (sid === 0 || sid > this.lastStreamId) {
      this.connError(F.PROTOCOL_ERROR);
      return;
    }
    const code = b.readUInt32BE(s);
    const res = this.streams.get(sid);
    if (res !== undefined) this.closeStream(res, new RapidError(E.REQUEST_ABORTED));
    if (code !== F.NO_ERROR) {
      if (this.floods.hit('resets', this.limits.http2MaxResets)) this.calm();
    }
  }

  private onSettings(flags: number, sid: number, b: Buffer, s: number, e: number): void {
    if (sid !== 0) {
      this.connError(F.PROTOCOL_ERROR);
      return;
    }
    if ((flags & F.F_ACK) !== 0) {
      if (e !== s) this.connError(F.FRAME_SIZE_ERROR);
      return;
    }
    if ((e - s) % 6 !== 0) {
      this.connError(F.FRAME_SIZE_ERROR);
      return;
    }
    if (this.floods.hit('settings', this.limits.http2MaxSettings)) {
      this.calm();
      return;
    }
    for (let p = s; p < e; p += 6) {
      const id = b.readUInt16BE(p);
      const v = b.readUInt32BE(p + 2);
      switch (id) {
        case F.S_HEADER_TABLE_SIZE:
          this.encoder.setMaxTableSize(v);
          break;
        case F.S_ENABLE_PUSH:
          if (v > 1) {
            this.connError(F.PROTOCOL_ERROR);
            return;
          }
          break;
        case F.S_INITIAL_WINDOW_SIZE: {
          if (v > F.MAX_WINDOW) {
            this.connError(F.FLOW_CONTROL_ERROR);
            return;
          }
          const delta = v - this.peerInitialWindow;
          this.peerInitialWindow = v;
          if (delta !== 0) {
            for (const res of this.streams.values()) {
              res.sendWindow += delta;
              if (res.sendWindow > F.MAX_WINDOW) {
                this.connError(F.FLOW_CONTROL_ERROR);
                return;
              }
            }
          }
          break;
        }
        case F.S_MAX_FRAME_SIZE:
          if (v < F.DEFAULT_MAX_FRAME || v > F.MAX_FRAME_LIMIT) {
            this.connError(F.PROTOCOL_ERROR);
            return;
          }
          this.peerMaxFrame = v;
          break;
        default:
          break; // MAX_CONCURRENT_STREAMS (push only), MAX_HEADER_LIST_SIZE, unknown
      }
    }
    this.frameHeader(0, F.T_SETTINGS, F.F_ACK, 0);
    this.resumeBlocked();
  }

  private onWindowUpdate(sid: number, b: Buffer, s: number, e: number): void {
    if (e - s !== 4) {
      this.connError(F.FRAME_SIZE_ERROR);
      return;
    }
    const inc = b.readUInt32BE(s) & 0x7fffffff;
    if (sid === 0) {
      if (inc === 0) {
        this.connError(F.PROTOCOL_ERROR);
        return;
      }
      this.connSendWindow += inc;
      if (this.connSendWindow > F.MAX_WINDOW) {
        this.connError(F.FLOW_CONTROL_ERROR);
        return;
      }
      this.resumeBlocked();
      return;
    }
    const res = this.streams.get(sid);
    if (res === undefined) {
      if (sid > this.lastStreamId) this.connError(F.PROTOCOL_ERROR);
      return;
    }
    if (inc === 0) {
      this.streamError(sid, F.PROTOCOL_ERROR);
      return;
    }
    res.sendWindow += inc;
    if (res.sendWindow > F.MAX_WINDOW) {
      this.streamError(sid, F.FLOW_CONTROL_ERROR);
      return;
    }
    if (res.pending !== null) this.pushPending(res);
    this.wake();
  }

  // --- floods and errors --------------------------------------------------------------------

  private calm(): void {
    if (this.dead) return;
    this.opts.onError(new RapidError(E.HTTP2_ABUSE, this.ctx.remoteAddress), null);
    this.connError(F.ENHANCE_YOUR_CALM);
  }

  /** A connection error: GOAWAY with the code, streams gone, the socket closes. */
  private connError(code: number): void {
    if (this.dead) return;
    this.goaway(code);
    this.dead = true;
    this.abortAll();
    this.flush();
    // Half-close and keep reading (discarding) for a moment, so the peer reads the GOAWAY
    // instead of a reset of a socket it is still writing to.
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), GRACE_MS);
    t.unref();
    if (this.readPaused) this.socket.resume();
  }

  /** A stream error: RST_STREAM; the stream (if open) is closed. */
  private streamError(sid: number, code: number): void {
    const res = this.streams.get(sid);
    if (res !== undefined) this.resetStream(res, code);
    else this.sendRst(sid, code);
  }

  private goaway(code: number): void {
    this.goawaySent = true;
    this.frameHeader(8, F.T_GOAWAY, 0, 0);
    this.reserve(8);
    this.slab.writeUInt32BE(this.lastStreamId, this.outEnd);
    this.slab.writeUInt32BE(code, this.outEnd + 4);
    this.outEnd += 8;
  }

  private abortAll(): void {
    const err = new RapidError(E.REQUEST_ABORTED);
    for (const res of [...this.streams.values()]) this.closeStream(res, err);
  }

  // --- streams --------------------------------------------------------------------------------

  /** Remove a stream (reset or done); its request learns why if the body was still coming. */
  private closeStream(res: H2StreamResponse, err: Error | null): void {
    if (res.closed) return;
    res.closed = true;
    this.streams.delete(res.id);
    this.recentlyClosed[this.closedAt] = res.id;
    this.closedAt = (this.closedAt + 1) & 15;
    this.blocked.delete(res);
    res.pending = null;
    res.pendingBytes = 0;
    res.deadline = 0;
    // A stream both sides ended (err null) closes inside the response's own send, before it is
    // marked responded: that is no abort, so req.signal is left alone.
    if (err !== null) {
      if (!res.req.complete) res.req.onAbort(err);
      else res.req.onClosed();
    }
    const observer = this.observer;
    if (observer !== null) {
      // Once per stream, done or reset: 499 when none of the response was sent (as HTTP/1.1).
      const head = res.headBytes;
      observer(
        res.req,
        res.headersSent ? res.statusCode : 499,
        head + res.dataBytes,
        head,
        res.startMs,
        this.ctx.remoteAddress,
        res.seq,
      );
    }
    const w = this.waiters.get(res);
    if (w !== undefined) {
      this.waiters.delete(res);
      w();
    }
    if (this.streams.size === 0) {
      this.idleSince = clock.now;
      if ((this.goawaySent || this.peerGoaway) && !this.dead) this.endGracefully();
    }
  }

  /** Closed when both sides have ended it. */
  private maybeClose(res: H2StreamResponse): void {
    if (res.localClosed && res.remoteClosed && res.pending === null) this.closeStream(res, null);
  }

  resetStream(res: H2StreamResponse, code: number): void {
    if (res.closed) return;
    this.sendRst(res.id, code);
    this.closeStream(res, new RapidError(E.REQUEST_ABORTED));
    this.schedule();
  }

  private sendRst(sid: number, code: number): void {
    this.frameHeader(4, F.T_RST_STREAM, 0, sid);
    this.reserve(4);
    this.slab.writeUInt32BE(code, this.outEnd);
    this.outEnd += 4;
  }

  /** runHandler's owner: the handler threw or rejected. */
  handlerFailed(res: H2StreamResponse, err: unknown): void {
    this.opts.onError(err, res.req);
    if (!res.closed) answerFailure(res, err);
  }

  finished(res: H2StreamResponse): void {
    res.deadline = 0;
    const req = res.req;
    if (!req.complete && !res.closed) {
      // The response is complete before the request body: drop the rest (credited, so the
      // client is not stuck on flow control), up to the body limit, then end the stream.
      req.discard();
      if (req.received > this.limits.maxBodyBytes) this.resetStream(res, F.NO_ERROR);
    }
    this.schedule();
  }

  credit(res: H2StreamResponse, n: number): void {
    if (res.closed || res.remoteClosed) return;
    if (res.req.discarding && res.req.received > this.limits.maxBodyBytes) {
      this.resetStream(res, F.NO_ERROR);
      return;
    }
    res.unacked += n;
    // Half a window at a time: whatever is consumed but not yet credited is less than half, so
    // a client that sent everything we consumed still has half a window to send more.
    if (res.unacked >= F.DEFAULT_WINDOW / 2) {
      res.recvWindow += res.unacked;
      this.sendWindowUpdate(res.id, res.unacked);
      res.unacked = 0;
      this.schedule();
    }
  }

  // --- output ---------------------------------------------------------------------------------

  private reserve(n: number): void {
    if (this.slab.length - this.outEnd >= n) return;
    const used = this.outEnd - this.outStart;
    const next = Buffer.allocUnsafe(Math.max(SLAB, used + n));
    this.slab.copy(next, 0, this.outStart, this.outEnd);
    this.slab = next;
    this.outStart = 0;
    this.outEnd = used;
  }

  private frameHeader(len: number, type: number, flags: number, sid: number): void {
    this.reserve(F.FRAME_HEADER + len);
    F.writeFrameHeader(this.slab, this.outEnd, len, type, flags, sid);
    this.outEnd += F.FRAME_HEADER;
  }

  private sendSettings(): void {
    const l = this.limits;
    this.frameHeader(18, F.T_SETTINGS, 0, 0);
    const b = this.slab;
    let o = this.outEnd;
    b.writeUInt16BE(F.S_MAX_CONCURRENT_STREAMS, o);
    b.writeUInt32BE(l.http2MaxConcurrentStreams, o + 2);
    b.writeUInt16BE(F.S_MAX_HEADER_LIST_SIZE, o + 6);
    b.writeUInt32BE(l.maxHeaderBytes, o + 8);
    b.writeUInt16BE(F.S_ENABLE_PUSH, o + 12);
    b.writeUInt32BE(0, o + 14);
    o += 18;
    this.outEnd = o;
    this.sendWindowUpdate(0, CONN_WINDOW - F.DEFAULT_WINDOW);
    this.connRecvWindow = CONN_WINDOW;
  }

  private sendWindowUpdate(sid: number, inc: number): void {
    this.frameHeader(4, F.T_WINDOW_UPDATE, 0, sid);
    this.slab.writeUInt32BE(inc, this.outEnd);
    this.outEnd += 4;
  }

  beginHead(status: number): void {
    const w = this.hw;
    w.reset();
    this.encoder.begin(w);
    this.encoder.status(w, status);
    this.encoder.field(w, 'date', httpDate());
  }

  headField(name: string, value: string): void {
    this.encoder.field(this.hw, name, value);
  }

  headLength(length: number): void {
    this.encoder.field(this.hw, 'content-length', String(length));
  }

  endHead(res: H2StreamResponse, endStream: boolean): void {
    const w = this.hw;
    const block = w.buf;
    const total = w.len;
    res.headBytes = total;
    const max = this.peerMaxFrame;
    let off = 0;
    let type = F.T_HEADERS;
    let flags = endStream ? F.F_END_STREAM : 0;
    do {
      const n = Math.min(max, total - off);
      const last = off + n === total;
      this.frameHeader(n, type, last ? flags | F.F_END_HEADERS : flags, res.id);
      block.copy(this.slab, this.outEnd, off, off + n);
      this.outEnd += n;
      off += n;
      type = F.T_CONTINUATION;
      flags = 0;
    } while (off < total);
    if (endStream) {
      res.localClosed = true;
      this.maybeClose(res);
    }
    this.schedule();
  }

  sendData(res: H2StreamResponse, data: Buffer, end: boolean): void {
    if (res.closed) return;
    if (end) res.localClosed = true;
    if (res.pending !== null) {
      if (data.length > 0) {
        res.pending.push(data);
        res.pendingBytes += data.length;
      }
      if (end) res.pendingEnd = true;
      return;
    }
    const sent = this.writeData(res, data, 0, end);
    if (sent < data.length) {
      res.pending = [data];
      res.pendingOffset = sent;
      res.pendingBytes = data.length - sent;
      res.pendingEnd = end;
      this.blocked.add(res);
    } else if (end) this.maybeClose(res);
    this.schedule();
  }

  /**
   * Write DATA frames for data[from..] as far as both windows allow; END_STREAM on the last
   * frame when `end` and everything fit (always, for an empty rest: it needs no window).
   * Returns the offset reached.
   */
  private writeData(res: H2StreamResponse, data: Buffer, from: number, end: boolean): number {
    let off = from;
    const len = data.length;
    if (len === off) {
      if (end) this.frameHeader(0, F.T_DATA, F.F_END_STREAM, res.id);
      return off;
    }
    const max = this.peerMaxFrame;
    while (off < len) {
      const window = Math.min(this.connSendWindow, res.sendWindow);
      if (window <= 0) return off;
      const n = Math.min(max, len - off, window);
      const last = off + n === len;
      this.frameHeader(n, F.T_DATA, last && end ? F.F_END_STREAM : 0, res.id);
      data.copy(this.slab, this.outEnd, off, off + n);
      this.outEnd += n;
      off += n;
      this.connSendWindow -= n;
      res.sendWindow -= n;
      res.dataBytes += n;
    }
    return off;
  }

  /** Send what a blocked stream has queued, as the windows allow. */
  private pushPending(res: H2StreamResponse): void {
    const q = res.pending;
    if (q === null) return;
    while (q.length > 0) {
      const data = q[0] as Buffer;
      const isLast = q.length === 1;
      const reached = this.writeData(res, data, res.pendingOffset, isLast && res.pendingEnd);
      res.pendingBytes -= reached - res.pendingOffset;
      if (reached < data.length) {
        res.pendingOffset = reached;
        return;
      }
      q.shift();
      res.pendingOffset = 0;
    }
    res.pending = null;
    res.pendingBytes = 0;
    this.blocked.delete(res);
    if (res.localClosed) this.maybeClose(res);
  }

  private resumeBlocked(): void {
    for (const res of this.blocked) {
      if (this.connSendWindow <= 0) break;
      this.pushPending(res);
    }
    this.wake();
  }

  private outbound(): number {
    return this.socket.writableLength + (this.outEnd - this.outStart);
  }

  writable(res: H2StreamResponse): boolean {
    return res.closed || (res.pendingBytes < STREAM_HWM && this.outbound() < STREAM_HWM * 4);
  }

  waitWritable(res: H2StreamResponse): Promise<void> {
    return new Promise((resolve) => {
      const prev = this.waiters.get(res);
      this.waiters.set(res, () => {
        prev?.();
        resolve();
      });
    });
  }

  /** Resolve drain() waiters that may write again. */
  private wake(): void {
    if (this.waiters.size === 0) return;
    for (const [res, w] of this.waiters) {
      if (this.writable(res)) {
        this.waiters.delete(res);
        w();
      }
    }
  }

  private schedule(): void {
    if (this.inRead || this.flushQueued) return;
    this.flushQueued = true;
    process.nextTick(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.outEnd === this.outStart) return;
    const chunk = this.slab.subarray(this.outStart, this.outEnd);
    if (this.slab.length - this.outEnd < 4096) {
      this.slab = Buffer.allocUnsafe(SLAB);
      this.outStart = 0;
      this.outEnd = 0;
    } else this.outStart = this.outEnd;
    if (this.socket.destroyed) return;
    this.socket.write(chunk);
    if (this.socket.writableLength > MAX_OUTBOUND && !this.readPaused && !this.dead) {
      this.readPaused = true;
      this.pausedSince = clock.now;
      this.socket.pause();
    }
    this.wake();
  }

  private onDrain(): void {
    if (this.readPaused) {
      this.readPaused = false;
      this.socket.resume();
    }
    this.wake();
  }

  // --- lifecycle ------------------------------------------------------------------------------

  private endGracefully(): void {
    this.flush();
    this.dead = true;
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), GRACE_MS);
    t.unref();
  }

  private closeNow(): void {
    this.dead = true;
    this.abortAll();
    this.socket.destroy();
  }

  private onSocketClose(): void {
    this.dead = true;
    this.abortAll();
    for (const w of this.waiters.values()) w();
    this.waiters.clear();
    this.registry.delete(this);
  }

  get openStreams(): number {
    return this.streams.size;
  }

  checkTimeout(now: number): void {
    if (this.dead) return;
    const l = this.limits;
    if (!this.settingsSeen) {
      if (l.headersTimeout > 0 && now - this.started >= l.headersTimeout) this.socket.destroy();
      return;
    }
    if (this.readPaused && l.bodyTimeout > 0 && now - this.pausedSince >= l.bodyTimeout) {
      this.socket.destroy();
      return;
    }
    if (this.streams.size === 0) {
      const ka = l.keepAliveTimeout;
      if (ka > 0 && now - this.idleSince >= ka) this.shutdown();
      return;
    }
    for (const res of [...this.streams.values()]) {
      if (res.deadline === 0 || now < res.deadline) continue;
      res.deadline = 0;
      this.opts.onError(new RapidError(E.RESPONSE_TIMEOUT), res.req);
      if (!res.headersSent && !res.finished) {
        res.sendError(E.RESPONSE_TIMEOUT.status, E.RESPONSE_TIMEOUT.message);
      } else res.abort();
    }
    this.flush();
  }

  /** GOAWAY: no new streams; open ones finish, then the connection closes. */
  shutdown(): void {
    if (this.dead) return;
    if (!this.goawaySent) this.goaway(F.NO_ERROR);
    if (this.streams.size === 0) this.endGracefully();
    else this.flush();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function hasPseudo(fields: string[]): boolean {
  for (let i = 0; i < fields.length; i += 2) {
    if ((fields[i] as string).charCodeAt(0) === 0x3a) return true;
  }
  return false;
}

/**
 * RFC 9113 §8.3.1 and §8.2: the request pseudo-headers once each and before the fields,
 * :method :scheme :path (:path not empty) or, for CONNECT, :method and :authority only;
 * no response or unknown pseudo-header; lowercase names; no connection-specific field; te only
 * "trailers"; no CR, LF or NUL in values.
 */
export function validRequest(fields: string[]): boolean {
  let method = '';
  let scheme = false;
  let path = false;
  let authority = false;
  let regular = false;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i] as string;
    const value = fields[i + 1] as string;
    if (name.length === 0) return false;
    if (name.charCodeAt(0) === 0x3a) {
      if (regular) return false;
      switch (name) {
        case ':method':
          if (method !== '' || value === '') return false;
          method = value;
          break;
        case ':scheme':
          if (scheme || value === '') return false;
          scheme = true;
          break;
        case ':path':
          if (path || value === '') return false;
          path = true;
          break;
        case ':authority':
          if (authority) return false;
          authority = true;
          break;
        default:
          return false;
      }
    } else {
      regular = true;
      for (let j = 0; j < name.length; j++) {
        const c = name.charCodeAt(j);
        if ((c >= 0x41 && c <= 0x5a) || c <= 0x20 || c >= 0x7f || c === 0x3a) return false;
      }
      if (FORBIDDEN.has(name)) return false;
      if (name === 'te' && value !== 'trailers') return false;
    }
    for (let j = 0; j < value.length; j++) {
      const c = value.charCodeAt(j);
      if (c === 0 || c === 0x0a || c === 0x0d) return false;
    }
  }
  if (method === 'CONNECT') return authority && !scheme && !path;
  return method !== '' && scheme && path;
}
