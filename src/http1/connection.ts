/**
 * One HTTP/1.1 connection: the state machine between socket bytes and handler calls.
 *
 * - Requests are parsed as bytes arrive and dispatched at once, in order; responses are written
 *   in request order (pipelining, RFC 9112 §9.3.2): a response that is ready before the ones
 *   ahead of it waits in `pending` until it reaches the front of `queue`.
 * - Writes made while a socket read is being processed are batched and leave in one write when
 *   the read is done; writes made later are batched until the end of the current tick.
 * - Reading pauses while (a) more than maxPipelinedRequests responses are outstanding, (b) the
 *   socket's write buffer is over its high-water mark (a client that never reads), or (c) a body
 *   is not being consumed; it resumes when the reason goes. Memory per connection stays bounded.
 * - Timeouts are deadlines checked by the registry's sweep (no timer per request).
 * - After a framing error or `Connection: close`, nothing more is parsed: the response goes out
 *   with `Connection: close`, the socket is ended, and bytes still arriving are read and dropped
 *   for a short lingering period so the client can read the response (RFC 9112 §9.6).
 */
import type { Socket } from 'node:net';
import { E, RapidError, type ErrorSpec } from '../core/errors.js';
import { statusText } from '../core/status.js';
import type {
  Handler,
  Limits,
  RapidRequest,
  ResponseObserver,
  RapidResponse,
  UpgradeHandler,
} from '../core/types.js';
import {
  directWrite,
  inReadBuffer,
  rawHandle,
  restoreStreamReads,
  startUserBufferReads,
  writeAll,
  W_ERROR,
  W_FALLBACK,
  W_PENDING,
  type RawHandle,
} from '../net/fastio.js';
import type { TrackedConnection } from '../net/registry.js';
import { clock } from '../util/clock.js';
import { EV_BODY_DONE, EV_HEAD, EV_NEED_MORE, MessageParser } from './parser.js';
import { H1Request, type BodySource } from './request.js';
import { H1Response, type ResponseSink } from './response.js';
import { CONTINUE_100 } from './serializer.js';

export interface H1Options {
  handler: Handler;
  limits: Limits;
  onUpgrade: UpgradeHandler | null;
  /** Told about every handler failure (the client gets a 500 without details). */
  onError: (err: unknown, req: RapidRequest | null) => void;
  secure: boolean;
  /** Told about every finished response (access log, metrics); null or absent costs nothing. */
  onResponse?: ResponseObserver | null;
}

/** What the connection needs from whoever tracks it. */
export interface ConnectionOwner {
  delete(conn: H1Connection): void;
}

// What the deadline is for.
const T_NONE = 0;
const T_IDLE = 1;
const T_HEADERS = 2;
const T_BODY = 3;
const T_RESPONSE = 4;
const T_LINGER = 5;

/** How long an ended connection keeps reading (and dropping) what the client still sends. */
const LINGER_MS = 5000;

export class H1Connection implements TrackedConnection, ResponseSink, BodySource {
  readonly socket: Socket;
  closed = false;

  private readonly opts: H1Options;
  private readonly limits: Limits;
  private readonly owner: ConnectionOwner;
  private readonly parser: MessageParser;
  private readonly remoteAddress: string;
  private readonly remotePort: number;

  /** Responses in request order; queue[0] is the one being written. */
  private queue: H1Response[] = [];
  /** The request whose body is being received. */
  private current: H1Request | null = null;
  private currentRes: H1Response | null = null;
  private requests = 0;

  private outStr = '';
  private outList: (string | Buffer)[] | null = null;
  private inData = false;
  private processing = false;
  private flushScheduled = false;

  private pendingInput: Buffer | null = null;
  private pendingOff = 0;
  /** The client half-closed while `pendingInput` was waiting to be parsed. */
  private eofPending = false;
  private bodyPaused = false;
  private pipelinePaused = false;
  private writePaused = false;
  /** No more requests are parsed (close requested, framing error, shutdown, upgrade). */
  private stopParsing = false;
  private shuttingDown = false;
  private ending = false;
  /**
   * The client announced the end: a request without keep-alive (Connection: close, or HTTP/1.0
   * without keep-alive, after which it MUST NOT send more, RFC 9112 §9.6), or its FIN (`eof`).
   * `unread`: bytes came after the last request we took, so the client may still be sending.
   * Together they decide whether an ending connection needs the lingering close (endSocket).
   */
  private clientClose = false;
  private eof = false;
  private unread = false;

  private deadline = 0;
  private timerKind = T_NONE;
  /** Responses waiting in waitDrain() until they may write again (see blocked()). */
  private drainWaiters: DrainWaiter[] | null = null;
  /** opts.onResponse; cleared once the socket closed and the rest of the queue was reported. */
  private observer: ResponseObserver | null;
  /** The libuv handle for direct writes (src/net/fastio.ts), or null: socket.write(). */
  private readonly handle: RawHandle | null;
  /** True when responses are written to the libuv handle directly (src/net/fastio.ts). */
  get directWrites(): boolean {
    return this.handle !== null;
  }
  /** Reads land in the shared read buffer instead of 'data' events (src/net/fastio.ts). */
  readonly userBufferReads: boolean;
  /** Direct writes libuv is still finishing (the kernel buffer was full). */
  private rawPending = 0;
  private readonly onRawDone = (): void => {
    this.rawPending--;
    if (this.rawPending === 0 && !this.socket.writableNeedDrain) this.onDrain();
  };

  constructor(socket: Socket, opts: H1Options, owner: ConnectionOwner) {
    this.socket = socket;
    this.opts = opts;
    this.limits = opts.limits;
    this.owner = owner;
    this.parser = new MessageParser(opts.limits);
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.observer = opts.onResponse ?? null;
    this.handle = rawHandle(socket);
    this.parser.onBody = (chunk) => {
      if (this.timerKind === T_BODY) this.deadline = clock.now + this.limits.bodyTimeout;
      const req = this.current;
      // A view of the shared read buffer is only valid during this read: keep a copy.
      if (req !== null) req.push(inReadBuffer(chunk) ? Buffer.from(chunk) : chunk);
    };
    const h = this.handle;
    this.userBufferReads =
      h !== null && startUserBufferReads(socket, h, (n, buf) => this.onData(buf.subarray(0, n)));
    if (!this.userBufferReads) socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('end', () => this.onEnd());
    socket.on('error', () => {
      // 'close' follows; resets and broken pipes are a normal part of a server's life.
    });
    socket.on('close', () => this.onClose());
    this.setDeadline(T_HEADERS, this.limits.headersTimeout);
  }

  // ---- reading ----

  private onData(chunk: Buffer): void {
    if (this.stopParsing) {
      this.unread = true; // lingering after close: drop
      return;
    }
    if (this.timerKind === T_IDLE) this.setDeadline(T_HEADERS, this.limits.headersTimeout);
    this.inData = true;
    this.process(chunk, 0);
    this.inData = false;
    if (this.outStr !== '' || this.outList !== null || this.ending) this.flush();
  }

  private process(buf: Buffer, off: number): void {
    const p = this.parser;
    this.processing = true;
    while (off < buf.length) {
      if (this.bodyPaused || this.pipelinePaused || this.writePaused) {
        // Held until reading resumes: a view of the shared read buffer must become a copy.
        const own = inReadBuffer(buf);
        this.pendingInput = own ? Buffer.from(buf.subarray(off)) : buf;
        this.pendingOff = own ? 0 : off;
        this.socket.pause();
        break;
      }
      off = p.execute(buf, off);
      const ev = p.event;
      if (ev === EV_NEED_MORE) break;
      if (ev === EV_HEAD) {
        if (!this.onHead(buf, off)) break;
      } else if (ev === EV_BODY_DONE) {
        this.onBodyDone();
      } else {
        this.onParseError(p.error as ErrorSpec);
        break;
      }
      if (this.stopParsing) break;
    }
    if (this.stopParsing && off < buf.length) this.unread = true;
    this.processing = false;
  }

  /** A request head is complete. Returns false when parsing must stop here. */
  private onHead(buf: Buffer, off: number): boolean {
    const p = this.parser;
    this.requests++;
    if (p.expectUnsupported) {
      // RFC 9110 §10.1.1: an expectation we cannot meet gets 417.
      this.queueError(E.HTTP1_EXPECTATION_FAILED);
      return false;
    }
    const req = new H1Request(p, this, this.remoteAddress, this.remotePort, this.opts.secure);
    if (p.upgrade && this.opts.onUpgrade !== null && this.queue.length === 0) {
      const head = buf.subarray(off);
      this.upgrade(req, inReadBuffer(head) ? Buffer.from(head) : head);
      return false;
    }
    const max = this.limits.maxRequestsPerConnection;
    const keepAlive =
      p.keepAlive &&
      !this.shuttingDown &&
      p.method !== 'CONNECT' &&
      (max === 0 || this.requests < max);
    const res = new H1Response(this, req, keepAlive);
    if (this.observer !== null) {
      res.startMs = performance.now();
      res.seq = this.requests;
    }
    this.queue.push(res);
    if (p.hasBody) {
      this.current = req;
      this.currentRes = res;
      this.setDeadline(T_BODY, this.limits.bodyTimeout);
    } else if (this.queue.length === 1) {
      this.setDeadline(T_RESPONSE, this.limits.responseTimeout);
    }
    if (!keepAlive) this.stopParsing = !p.hasBody;
    if (!p.keepAlive) this.clientClose = true;
    if (this.queue.length >= this.limits.maxPipelinedRequests) this.pipelinePaused = true;
    this.dispatch(req, res);
    return true;
  }

  private dispatch(req: H1Request, res: H1Response): void {
    runHandler(this.opts.handler, req, res, this);
  }

  /** The handler threw or rejected (see runHandler). */
  handlerFailed(res: H1Response, err: unknown): void {
    this.opts.onError(err, res.req);
    if (!this.closed) answerFailure(res, err);
  }

  private onBodyDone(): void {
    const req = this.current;
    const res = this.currentRes;
    this.current = null;
    this.currentRes = null;
    if (req !== null) {
      req.trailers = this.parser.trailers;
      req.end();
    }
    if (res !== null && !res.done && !res.keepAlive) this.stopParsing = true;
    // The one deadline slot goes back from the body to the response at the front of the queue,
    // which may be an earlier request than this one (pipelining), or to idle. Leaving the body
    // deadline armed would later fire with no body in progress.
    if (this.queue.length > 0) this.setDeadline(T_RESPONSE, this.limits.responseTimeout);
    else this.idle();
  }

  private onParseError(spec: ErrorSpec): void {
    this.stopParsing = true;
    const req = this.current;
    const res = this.currentRes;
    this.current = null;
    this.currentRes = null;
    if (req !== null && res !== null) {
      // The error is inside a body: the handler learns it from body()/stream(); if nobody is
      // reading the body and no response started, answer for it.
      const consumer = !req.bodyIdle;
      req.fail(new RapidError(spec));
      res.keepAlive = false;
      if (!consumer && !res.headersSent && !res.finished) res.sendError(spec.status, spec.message);
      else if (res.done) this.endSocket();
      return;
    }
    this.queueError(spec);
  }

  /** Answer with a catalog error after the responses already queued, then close. */
  private queueError(spec: ErrorSpec): void {
    this.stopParsing = true;
    const res = new H1Response(this, null, false);
    if (this.observer !== null) {
      res.startMs = performance.now();
      res.seq = this.requests;
    }
    this.queue.push(res);
    res.sendError(spec.status, spec.message);
  }

  private upgrade(req: H1Request, head: Buffer): void {
    this.stopParsing = true;
    this.detach();
    const socket = this.socket;
    if (this.outStr !== '' || this.outList !== null) this.flush();
    socket.removeAllListeners('data');
    socket.removeAllListeners('drain');
    socket.removeAllListeners('end');
    socket.removeAllListeners('close');
    socket.removeAllListeners('error');
    restoreStreamReads(socket);
    (this.opts.onUpgrade as UpgradeHandler)(req, socket, head);
  }

  // ---- BodySource ----

  pauseBody(): void {
    if (!this.bodyPaused) {
      this.bodyPaused = true;
      this.socket.pause();
    }
  }

  resumeBody(): void {
    if (this.bodyPaused) {
      this.bodyPaused = false;
      this.tryResume();
    }
  }

  bodyWanted(req: H1Request): void {
    if (req.expectContinue && req === this.current && this.currentRes !== null) {
      req.expectContinue = false;
      this.write(this.currentRes, CONTINUE_100);
    }
  }

  private tryResume(): void {
    if (this.processing || this.closed || this.stopParsing) return;
    if (this.bodyPaused || this.pipelinePaused || this.writePaused) return;
    this.socket.resume();
    const buf = this.pendingInput;
    if (buf !== null) {
      this.pendingInput = null;
      const wasInData = this.inData;
      this.inData = true;
      this.process(buf, this.pendingOff);
      if (this.eofPending && this.pendingInput === null) {
        this.eofPending = false;
        this.onEnd();
      }
      this.inData = wasInData;
      if (!wasInData && (this.outStr !== '' || this.outList !== null || this.ending)) this.flush();
    }
  }

  // ---- ResponseSink ----

  /**
   * A response may not write more while the socket's buffer is full or while it is not at the
   * front of the pipeline: what it writes then is held in memory (`pending`) until its turn, so
   * a streamed response behind a slow one must wait rather than pull its whole source in.
   */
  blocked(res: H1Response): boolean {
    return res !== this.queue[0] || this.socket.writableNeedDrain || this.rawPending > 0;
  }

  write(res: H1Response, piece: string | Buffer): void {
    if (this.closed) return;
    // Strings are latin1 here, so their length is their byte count.
    res.bytes += piece.length;
    if (res !== this.queue[0]) {
      (res.pending ??= []).push(piece);
      return;
    }
    this.out(piece);
  }

  private out(piece: string | Buffer): void {
    if (typeof piece === 'string') {
      this.outStr = this.outStr === '' ? piece : this.outStr + piece;
    } else {
      const list = (this.outList ??= []);
      if (this.outStr !== '') {
        list.push(this.outStr);
        this.outStr = '';
      }
      list.push(piece);
    }
    if (!this.inData && !this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(flushTick, this);
    }
  }

  /** Write everything batched so far in one socket write (writev when there are buffers). */
  flush(): void {
    this.flushScheduled = false;
    if (this.closed) {
      this.outStr = '';
      this.outList = null;
      return;
    }
    const socket = this.socket;
    // Nothing to write is no reason to skip the end below: a closing response whose last bytes
    // left on an earlier turn still has to end the socket (close-delimited bodies).
    if (this.outStr !== '' || this.outList !== null) {
      const handle = this.handle;
      const r =
        handle === null || this.rawPending > 0
          ? W_FALLBACK
          : directWrite(socket, handle, this.outStr, this.outList, this.onRawDone);
      if (r === W_FALLBACK) writeAll(socket, this.outStr, this.outList);
      else if (r === W_PENDING) {
        this.rawPending++;
        this.writePaused = true;
      } else if (r === W_ERROR) socket.destroy();
      this.outStr = '';
      this.outList = null;
    }
    if (socket.writableNeedDrain) this.writePaused = true;
    if (this.ending && this.queue.length === 0) this.endSocket();
  }

  abort(): void {
    this.socket.destroy();
  }

  finish(res: H1Response): void {
    res.done = true;
    if (res === this.queue[0]) this.advance();
  }

  /** Retire finished responses from the front of the queue and start the next one. */
  private advance(): void {
    const queue = this.queue;
    while (queue.length > 0 && (queue[0] as H1Response).done) {
      const res = queue.shift() as H1Response;
      const req = res.req;
      if (this.observer !== null) {
        this.observer(
          req,
          res.statusCode,
          res.bytes,
          res.headBytes,
          res.startMs,
          this.remoteAddress,
          res.seq,
        );
      }
      if (req !== null && !req.complete) req.discard();
      if (!res.keepAlive) {
        this.stopParsing = true;
        for (const r of queue) r.pending = null;
        queue.length = 0;
        this.ending = true;
        if (!this.inData && !this.flushScheduled) this.flush();
        return;
      }
      const next = queue[0];
      if (next !== undefined && next.pending !== null) {
        const pending = next.pending;
        next.pending = null;
        for (const piece of pending) this.out(piece);
      }
    }
    // A new front of the queue may write now.
    if (this.drainWaiters !== null) this.wakeDrainWaiters();
    if (queue.length > 0) {
      // While a body is arriving its deadline stays armed (onBodyDone re-arms the response one).
      if (this.current === null) this.setDeadline(T_RESPONSE, this.limits.responseTimeout);
    } else if (this.current === null) {
      this.idle();
    }
    if (this.pipelinePaused && queue.length < this.limits.maxPipelinedRequests) {
      this.pipelinePaused = false;
      this.tryResume();
    }
  }

  /** Nothing in flight: wait for the next request, or close when shutting down. */
  private idle(): void {
    if (this.shuttingDown) {
      this.endSocket();
      return;
    }
    if (this.parser.inMessage) this.setDeadline(T_HEADERS, this.limits.headersTimeout);
    else this.setDeadline(T_IDLE, this.limits.keepAliveTimeout);
  }

  waitDrain(res: H1Response): Promise<void> {
    if (this.closed || !this.blocked(res)) return Promise.resolve();
    return new Promise((resolve) => (this.drainWaiters ??= []).push({ res, resolve }));
  }

  /** Wake the drain waiters that may write now (all of them once the socket is gone). */
  private wakeDrainWaiters(): void {
    const waiters = this.drainWaiters;
    if (waiters === null) return;
    let still: DrainWaiter[] | null = null;
    for (const w of waiters) {
      if (this.closed || !this.blocked(w.res)) w.resolve();
      else (still ??= []).push(w);
    }
    this.drainWaiters = still;
  }

  private onDrain(): void {
    this.wakeDrainWaiters();
    if (this.writePaused) {
      this.writePaused = false;
      this.tryResume();
    }
  }

  // ---- closing ----

  private endSocket(): void {
    this.ending = false;
    this.stopParsing = true;
    // Nothing more can arrive: the client sent its FIN, or it said this request is its last and
    // everything it sent has been read (the whole body, no bytes after it).
    const quiet =
      this.eof ||
      (this.clientClose &&
        !this.unread &&
        this.current === null &&
        this.pendingInput === null &&
        !this.parser.inMessage);
    this.parser.kill();
    if (this.closed) return;
    const socket = this.socket;
    if (this.outStr !== '' || this.outList !== null) this.flush();
    if (quiet && !this.opts.secure) {
      if (this.rawPending === 0 && socket.writableLength === 0 && !socket.destroyed) {
        // Every byte of the response is in the kernel and the client sends nothing more:
        // close(2) sends them and then the FIN, as shutdown(2) would, and no RST can follow
        // (there is no unread input). This skips the half-close round trip (a shutdown on the
        // next loop turn, then waiting for the client's FIN to wake us again), which made a
        // connection cost more than node:http's; node:http (destroySoon), nginx
        // (lingering_close on) and h2o close the same way. TLS keeps end() for close_notify.
        socket.destroy();
        return;
      }
      // Still writing: close once the last byte and the FIN have left (node:http's destroySoon).
      if (!socket.writableEnded) socket.once('finish', () => socket.destroy());
    }
    // Keep reading (and dropping) so a client still sending does not get a reset that destroys
    // the response in its receive buffer; destroy after the lingering period.
    socket.resume();
    // Once only: this runs again when the client's FIN arrives while lingering, and a second
    // end() makes Node construct an ERR_STREAM_ALREADY_FINISHED error (with its stack trace)
    // just to drop it, which was a tenth of a Connection: close request's CPU time.
    if (!socket.writableEnded) socket.end();
    this.setDeadline(T_LINGER, LINGER_MS);
  }

  private onEnd(): void {
    this.eof = true;
    // Requests already read but held back while reading is paused (pipeline limit, backpressure)
    // were sent before the FIN: a half-close ends the client's sending, not its requests (RFC
    // 9112 §9.6). Handle them first; tryResume() comes back here once they are parsed.
    if (this.pendingInput !== null && !this.stopParsing) {
      this.eofPending = true;
      return;
    }
    // The client will send nothing more. Finish what is in flight, then close.
    if (!this.parser.finish() && this.current !== null) {
      this.current.fail(new RapidError(E.HTTP1_INCOMPLETE_MESSAGE));
    }
    this.stopParsing = true;
    if (this.queue.length === 0) this.endSocket();
    else (this.queue[this.queue.length - 1] as H1Response).keepAlive = false;
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopParsing = true;
    this.parser.kill();
    this.detach();
    if (this.current !== null) this.current.fail(new RapidError(E.REQUEST_ABORTED));
    this.current = null;
    this.currentRes = null;
    this.pendingInput = null;
    this.outStr = '';
    this.outList = null;
    const observer = this.observer;
    if (observer !== null) {
      // What never finished is reported now, once: 499 when nothing of it was sent.
      this.observer = null;
      for (const r of this.queue) {
        const status = r.headersSent ? r.statusCode : 499;
        observer(r.req, status, r.bytes, r.headBytes, r.startMs, this.remoteAddress, r.seq);
      }
    }
    this.wakeDrainWaiters();
  }

  private detach(): void {
    this.timerKind = T_NONE;
    this.deadline = 0;
    this.owner.delete(this);
  }

  private setDeadline(kind: number, ms: number): void {
    this.timerKind = kind;
    this.deadline = ms > 0 ? clock.now + ms : 0;
  }

  checkTimeout(now: number): void {
    if (this.deadline === 0 || now < this.deadline) return;
    const kind = this.timerKind;
    this.deadline = 0;
    this.timerKind = T_NONE;
    switch (kind) {
      case T_IDLE:
        this.endSocket();
        return;
      case T_HEADERS:
        if (this.parser.inMessage) this.queueError(E.HTTP1_HEADERS_TIMEOUT);
        else this.endSocket();
        return;
      case T_BODY: {
        const req = this.current;
        const res = this.currentRes;
        this.current = null;
        this.currentRes = null;
        this.stopParsing = true;
        const idleBody = req !== null && req.bodyIdle;
        if (req !== null) req.fail(new RapidError(E.HTTP1_BODY_TIMEOUT));
        if (res !== null && !res.headersSent && !res.finished && idleBody) {
          res.keepAlive = false;
          res.sendError(E.HTTP1_BODY_TIMEOUT.status, E.HTTP1_BODY_TIMEOUT.message);
        } else if (res !== null) {
          res.keepAlive = false;
          // Give the handler the response timeout to answer after its body failed.
          this.setDeadline(T_RESPONSE, this.limits.responseTimeout);
        }
        return;
      }
      case T_RESPONSE: {
        const res = this.queue[0];
        if (res === undefined) return;
        this.opts.onError(new RapidError(E.RESPONSE_TIMEOUT), res.req);
        if (!res.headersSent && !res.finished) {
          res.keepAlive = false;
          res.sendError(E.RESPONSE_TIMEOUT.status, E.RESPONSE_TIMEOUT.message);
        } else this.socket.destroy();
        return;
      }
      case T_LINGER:
        this.socket.destroy();
        return;
    }
  }

  shutdown(idleGraceMs = 0): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    if (this.queue.length === 0 && this.current === null && !this.parser.inMessage) {
      // Idle: close now, or let a request already on the wire arrive and be answered first
      // (onHead turns keep-alive off while shutting down; idle() then ends the socket).
      if (idleGraceMs > 0) this.setDeadline(T_IDLE, idleGraceMs);
      else this.endSocket();
      return;
    }
    // Only ever set here, never cleared: a connection already ending (lingering after its last
    // response, maybe with a body still arriving) must not start parsing again; its parser is
    // dead, and reading on would crash the process.
    if (this.current === null) this.stopParsing = true;
    const last = this.queue[this.queue.length - 1];
    if (last !== undefined) last.keepAlive = false;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

interface DrainWaiter {
  res: H1Response;
  resolve: () => void;
}

function flushTick(conn: H1Connection): void {
  conn.flush();
}

/** What a response must offer to answer for a failed handler (H1Response, H2Response). */
export interface FailableResponse {
  readonly headersSent: boolean;
  readonly finished: boolean;
  readonly done: boolean;
  sendError(status: number, message: string): void;
  abort(): void;
}

/**
 * Call a handler; a throw or a rejection goes to `owner.handlerFailed` (no closure is made for a
 * handler that answers synchronously).
 */
export function runHandler<Q extends RapidRequest, R extends RapidResponse>(
  handler: Handler,
  req: Q,
  res: R,
  owner: { handlerFailed(res: R, err: unknown): void },
): void {
  let r: void | Promise<void>;
  try {
    r = handler(req, res);
  } catch (err) {
    owner.handlerFailed(res, err);
    return;
  }
  if (r !== undefined && typeof (r as Promise<void>).then === 'function') {
    (r as Promise<void>).then(undefined, (err: unknown) => owner.handlerFailed(res, err));
  }
}

/**
 * Answer for a failed handler: its error's 4xx with the message (unless expose is false), else a
 * 500 without details; mid-body the only honest signal left is to cut the stream/connection.
 */
export function answerFailure(res: FailableResponse, err: unknown): void {
  if (!res.headersSent && !res.finished) {
    const status = errorStatus(err);
    const exposed =
      status < 500 && err instanceof Error && (err as { expose?: boolean }).expose !== false;
    res.sendError(status, exposed ? (err as Error).message : statusText(status));
  } else if (!res.done) {
    res.abort();
  }
}

/** The status for a failed handler: a catalog/HTTP error's own 4xx/5xx status, else 500. */
export function errorStatus(err: unknown): number {
  if (typeof err === 'object' && err !== null) {
    const s =
      (err as { statusCode?: unknown; status?: unknown }).statusCode ??
      (err as { status?: unknown }).status;
    if (typeof s === 'number' && Number.isInteger(s) && s >= 400 && s <= 599) return s;
  }
  return 500;
}
