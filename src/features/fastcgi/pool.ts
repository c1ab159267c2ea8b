/**
 * Keep-alive connections to one FastCGI server. A connection carries one request at a time (FPM
 * does not multiplex); up to `maxConnections` are open, further requests wait in FIFO order. A
 * connection goes back to the idle list only when its request ended cleanly (END_REQUEST received,
 * every record consumed, nothing written left unfinished); anything else destroys it, so a broken
 * connection is never reused. Idle connections are unref'd (they never keep the process alive)
 * and closed after `idleTimeout`.
 */
import net from 'node:net';
import { RecordParser } from './protocol.js';

export type FcgiAddress = { host: string; port: number } | { path: string };

/** Why a connection could not be had. */
export class ConnectError extends Error {
  readonly timedOut: boolean;
  constructor(message: string, timedOut: boolean, cause?: unknown) {
    super(message, { cause });
    this.timedOut = timedOut;
  }
}

export class FcgiConnection {
  readonly socket: net.Socket;
  readonly parser = new RecordParser();
  /** Requests this connection has carried (0 while the first is in flight). */
  served = 0;
  /** Called with each read while a request is in flight. */
  onData: ((buf: Buffer) => void) | null = null;
  /** Called once when the socket closes or fails while a request is in flight. */
  onGone: ((err: Error | null) => void) | null = null;
  /** Called when the socket was inactive for the timeout set on it while a request is in flight. */
  onTimeout: (() => void) | null = null;
  gone = false;

  constructor(socket: net.Socket) {
    this.socket = socket;
  }
}

interface Waiter {
  resolve: (c: FcgiConnection) => void;
  reject: (e: Error) => void;
}

export interface PoolOptions {
  address: FcgiAddress;
  maxConnections: number;
  connectTimeout: number;
  idleTimeout: number;
}

export class FcgiPool {
  private readonly o: PoolOptions;
  private readonly idle: FcgiConnection[] = [];
  private readonly waiters: Waiter[] = [];
  private open = 0;
  private closed = false;

  constructor(o: PoolOptions) {
    this.o = o;
  }

  /** Connections open now (busy and idle). */
  get size(): number {
    return this.open;
  }

  get idleCount(): number {
    return this.idle.length;
  }

  acquire(): Promise<FcgiConnection> {
    if (this.closed) return Promise.reject(new ConnectError('pool closed', false));
    const c = this.idle.pop();
    if (c !== undefined) {
      c.socket.setTimeout(0);
      c.socket.ref();
      return Promise.resolve(c);
    }
    if (this.open < this.o.maxConnections) return this.connect();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Hand a connection back: reusable ones to the next waiter or the idle list. */
  release(c: FcgiConnection, reusable: boolean): void {
    c.onData = null;
    c.onGone = null;
    c.onTimeout = null;
    if (!reusable || c.gone || this.closed) {
      this.discard(c);
      return;
    }
    c.served++;
    c.socket.resume();
    const w = this.waiters.shift();
    if (w !== undefined) {
      w.resolve(c);
      return;
    }
    this.idle.push(c);
    c.socket.unref();
    if (this.o.idleTimeout > 0) c.socket.setTimeout(this.o.idleTimeout);
  }

  /** Destroy a connection; a waiter gets a fresh one in its place. */
  discard(c: FcgiConnection): void {
    c.onData = null;
    c.onGone = null;
    c.onTimeout = null;
    if (!c.socket.destroyed) c.socket.destroy();
    // The count drops in the 'close' listener, once, whichever way the socket ended.
  }

  private connect(): Promise<FcgiConnection> {
    this.open++;
    const a = this.o.address;
    return new Promise((resolve, reject) => {
      const socket = 'path' in a ? net.connect({ path: a.path }) : net.connect(a.port, a.host);
      const c = new FcgiConnection(socket);
      let connected = false;
      socket.setNoDelay(true);
      socket.setTimeout(this.o.connectTimeout);
      socket.once('connect', () => {
        connected = true;
        socket.setTimeout(0);
        resolve(c);
      });
      socket.on('timeout', () => {
        if (!connected) {
          socket.destroy(new ConnectError('connect timed out', true));
          return;
        }
        // An idle connection's timer (a busy one's request timer is the handler's).
        if (c.onTimeout !== null) c.onTimeout();
        else socket.destroy();
      });
      socket.on('data', (buf: Buffer) => {
        if (c.onData !== null) c.onData(buf);
        // Bytes on an idle connection are a protocol breach: it cannot be trusted any more.
        else socket.destroy();
      });
      socket.on('error', (err) => {
        if (!connected) {
          reject(err instanceof ConnectError ? err : new ConnectError(err.message, false, err));
        }
        this.gone(c, err);
      });
      socket.on('end', () => socket.destroy());
      socket.on('close', () => {
        if (!connected) reject(new ConnectError('connection closed', false));
        this.gone(c, null);
        this.open--;
        const i = this.idle.indexOf(c);
        if (i !== -1) this.idle.splice(i, 1);
        // A slot is free: start a connection for the first waiter.
        const w = this.waiters.shift();
        if (w !== undefined && !this.closed) this.connect().then(w.resolve, w.reject);
      });
    });
  }

  private gone(c: FcgiConnection, err: Error | null): void {
    if (c.gone) return;
    c.gone = true;
    const f = c.onGone;
    c.onGone = null;
    c.onData = null;
    if (f !== null) f(err);
  }

  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(new ConnectError('pool closed', false));
    for (const c of this.idle.splice(0)) c.socket.destroy();
  }
}
