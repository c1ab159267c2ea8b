/**
 * One load-client process of bench/c10k.ts (forked with an IPC channel). It holds at most a few
 * thousand sockets, bound round-robin to the source addresses it is given (127.0.0.x), so neither
 * its own file limit nor one address's ephemeral ports run out. Protocol with the parent:
 *
 *   parent: { type: 'start', job }   child: { type: 'ready', open }    (keepalive: all connected)
 *   parent: { type: 'go' }           child: { type: 'done', stats }
 * and in idle mode
 *   parent: { type: 'start', job }   child: { type: 'holding', open }  (all connected, answered once)
 *   parent: { type: 'release' }      child: { type: 'done', stats }
 *
 * Modes: 'keepalive' opens every connection, waits for go, then sends `requests` requests one at a
 * time on each (the last one with Connection: close, so that the server closes first and keeps
 * the TIME_WAIT); 'close' starts `connections` loops at go, each doing `requests` times connect, one
 * request with Connection: close, wait for the server to close; 'idle' opens every connection
 * and sends one request on each right away, and holds them until release (a connection the server closes in
 * between is counted as dropped). Every request ends as ok or exactly one failure counter.
 */
import net from 'node:net';
import { emptyStats, parseResponseHead, type ClientStats } from './c10k.js';

export interface ClientJob {
  host: string;
  port: number;
  path: string;
  localAddresses: string[];
  connections: number;
  requests: number;
  mode: 'keepalive' | 'close' | 'idle';
  timeoutMs: number;
  /** Most connects in progress at once while opening (keepalive and idle). */
  connectConcurrency: number;
}

type Msg = { type: 'start'; job: ClientJob } | { type: 'go' } | { type: 'release' };

const stats: ClientStats = emptyStats();
let open = 0;
const sockets = new Set<net.Socket>();

function note(msg: string): void {
  if (stats.samples.length < 5 && !stats.samples.includes(msg)) stats.samples.push(msg);
}

function send(msg: unknown): void {
  process.send?.(msg);
}

/** A connection that sends requests one at a time and reads their responses. */
class Conn {
  readonly socket: net.Socket;
  private buf: Buffer = Buffer.alloc(0);
  private pending: {
    t0: number;
    resolve: (r: 'ok' | 'fail') => void;
    timer: NodeJS.Timeout;
  } | null = null;
  connected = false;
  ended = false;
  /** The last response said Connection: close. */
  serverWillClose = false;
  onUnexpectedClose: (() => void) | null = null;

  constructor(
    private readonly job: ClientJob,
    localAddress: string,
    private readonly request: Buffer,
  ) {
    this.socket = net.connect({ host: job.host, port: job.port, localAddress });
    this.socket.setNoDelay(true);
    sockets.add(this.socket);
    this.socket.on('data', (d: Buffer) => this.onData(d));
    this.socket.on('error', (err: NodeJS.ErrnoException) => this.fail(err));
    this.socket.on('close', () => {
      sockets.delete(this.socket);
      if (this.connected) open--;
      this.ended = true;
      if (this.pending !== null) {
        this.finish(
          'closed',
          this.buf.length === 0
            ? 'closed by the server before any answer'
            : 'closed by the server in the middle of an answer',
        );
      } else this.onUnexpectedClose?.();
    });
  }

  /** Resolves true once connected, false (counted) when the connect fails or times out. */
  connect(): Promise<boolean> {
    const t0 = performance.now();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        stats.connectErrors++;
        note('connect timeout');
        this.socket.destroy();
        resolve(false);
      }, this.job.timeoutMs);
      this.socket.once('connect', () => {
        clearTimeout(timer);
        this.connected = true;
        (stats.connectMs ??= []).push(performance.now() - t0);
        open++;
        if (open > stats.peakOpen) stats.peakOpen = open;
        resolve(true);
      });
      this.socket.once('error', (err: NodeJS.ErrnoException) => {
        if (this.connected) return;
        clearTimeout(timer);
        stats.connectErrors++;
        note(`connect: ${err.code ?? err.message}`);
        resolve(false);
      });
    });
  }

  /** Send one request (this connection's, or `request`); resolves when it was answered. */
  exchange(request = this.request): Promise<'ok' | 'fail'> {
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => this.finish('timeouts', 'response timeout'),
        this.job.timeoutMs,
      );
      this.pending = { t0: performance.now(), resolve, timer };
      this.buf = Buffer.alloc(0);
      this.socket.write(request);
    });
  }

  private onData(d: Buffer): void {
    if (this.pending === null) {
      stats.other++;
      note('bytes without a request');
      this.socket.destroy();
      return;
    }
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    const head = parseResponseHead(this.buf);
    if (head === null) return;
    if (typeof head === 'string') {
      this.finish('other', head);
      this.socket.destroy();
      return;
    }
    if (head.contentLength === null) {
      this.finish('other', 'response without Content-Length');
      this.socket.destroy();
      return;
    }
    if (this.buf.length < head.headBytes + head.contentLength) return;
    if (this.buf.length > head.headBytes + head.contentLength) {
      this.finish('other', 'more bytes than the response');
      this.socket.destroy();
      return;
    }
    this.serverWillClose = head.close;
    if (head.status === 200) this.finish('ok', '');
    else this.finish('non200', `status ${head.status}`);
  }

  private fail(err: NodeJS.ErrnoException): void {
    if (!this.connected) return; // counted by connect()
    const code = err.code ?? err.message;
    if (this.pending !== null) {
      this.finish(code === 'ECONNRESET' || code === 'EPIPE' ? 'resets' : 'other', code);
    }
  }

  private finish(
    kind: 'ok' | 'non200' | 'resets' | 'closed' | 'timeouts' | 'other',
    message: string,
  ): void {
    const p = this.pending;
    if (p === null) return;
    this.pending = null;
    clearTimeout(p.timer);
    if (kind === 'ok' || kind === 'non200') stats.latencyMs.push(performance.now() - p.t0);
    stats[kind]++;
    if (message !== '') note(message);
    if (kind === 'timeouts') this.socket.destroy();
    p.resolve(kind === 'ok' ? 'ok' : 'fail');
  }

  /** Give the connection up (the loop then opens a new one). */
  kill(): void {
    this.ended = true;
    abort(this.socket);
  }

  /** Wait for the server to close (after a Connection: close answer), then make sure it is gone. */
  closed(): Promise<void> {
    if (this.ended) return Promise.resolve();
    const t0 = performance.now();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.socket.destroy(), this.job.timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        (stats.closeMs ??= []).push(performance.now() - t0);
        resolve();
      });
      this.socket.end();
    });
  }
}

/**
 * Close from our side without leaving a TIME_WAIT socket (an RST where Node can send one). A
 * TIME_WAIT socket keeps its port's bind bucket for 60 s, and ports with a bucket made by bind()
 * (these clients bind to 127.0.0.x) are skipped by connect()'s own port choice: 20,000 of them
 * leave `ab` on 127.0.0.1, run right after, without enough ports (EADDRNOTAVAIL).
 */
function abort(socket: net.Socket): void {
  const s = socket as net.Socket & { resetAndDestroy?: () => void };
  if (typeof s.resetAndDestroy === 'function' && !s.destroyed && s.readyState === 'open')
    s.resetAndDestroy();
  else s.destroy();
}

function requestBytes(job: ClientJob, close: boolean): Buffer {
  return Buffer.from(
    `GET ${job.path} HTTP/1.1\r\nHost: ${job.host}:${job.port}\r\nUser-Agent: rapid-c10k\r\n` +
      `Accept: text/plain\r\nConnection: ${close ? 'close' : 'keep-alive'}\r\n\r\n`,
    'latin1',
  );
}

/** Run `fn` over 0..n-1 with at most `limit` in flight. */
async function pool(n: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, n) }, async () => {
    while (next < n) await fn(next++);
  });
  await Promise.all(lanes);
}

let goResolve: (() => void) | null = null;
let releaseResolve: (() => void) | null = null;
const go = new Promise<void>((r) => (goResolve = r));
const release = new Promise<void>((r) => (releaseResolve = r));

async function runIdle(job: ClientJob): Promise<void> {
  // Connect and ask once per connection right away (no barrier): a connection that never sent a
  // request would meet the servers' header timeouts, not their keep-alive handling.
  const req = requestBytes(job, false);
  const conns: Conn[] = [];
  await pool(job.connections, job.connectConcurrency, async (i) => {
    const c = new Conn(job, job.localAddresses[i % job.localAddresses.length]!, req);
    if (!(await c.connect())) return;
    conns.push(c);
    if ((await c.exchange()) === 'ok' && !c.serverWillClose) {
      c.onUnexpectedClose = () => {
        stats.dropped++;
        note('the server closed an idle connection');
      };
    }
  });
  send({ type: 'holding', open });
  await release;
  for (const c of conns) {
    c.onUnexpectedClose = null;
    abort(c.socket);
  }
}

async function runKeepAlive(job: ClientJob): Promise<void> {
  const req = requestBytes(job, false);
  const closeReq = requestBytes(job, true);
  const conns: Conn[] = [];
  await pool(job.connections, job.connectConcurrency, async (i) => {
    const c = new Conn(job, job.localAddresses[i % job.localAddresses.length]!, req);
    if (await c.connect()) conns.push(c);
  });
  send({ type: 'ready', open });
  await go;
  await Promise.all(
    conns.map(async (first, i) => {
      let c = first;
      for (let r = 0; r < job.requests; r++) {
        if (c.ended || c.serverWillClose) {
          // The server ended the connection between requests (e.g. a per-connection request
          // limit): open a new one, as a browser would.
          if (c.serverWillClose) stats.reconnects++;
          abort(c.socket);
          c = new Conn(job, job.localAddresses[i % job.localAddresses.length]!, req);
          if (!(await c.connect())) continue;
        }
        // The last request asks the server to close, so the TIME_WAIT is the server's.
        const last = r === job.requests - 1;
        const answer = await c.exchange(last ? closeReq : req);
        if (answer !== 'ok') c.kill();
        else if (last && c.serverWillClose) await c.closed();
      }
      abort(c.socket);
    }),
  );
}

async function runClose(job: ClientJob): Promise<void> {
  const req = requestBytes(job, true);
  send({ type: 'ready', open });
  await go;
  await Promise.all(
    Array.from({ length: job.connections }, async (_, i) => {
      const addr = job.localAddresses[i % job.localAddresses.length]!;
      for (let r = 0; r < job.requests; r++) {
        const c = new Conn(job, addr, req);
        if (!(await c.connect())) continue;
        if ((await c.exchange()) === 'ok' && c.serverWillClose) await c.closed();
        else abort(c.socket);
      }
    }),
  );
}

process.on('message', (msg: Msg) => {
  if (msg.type === 'go') goResolve?.();
  else if (msg.type === 'release') releaseResolve?.();
  else if (msg.type === 'start') {
    const job = msg.job;
    const run =
      job.mode === 'close' ? runClose(job) : job.mode === 'idle' ? runIdle(job) : runKeepAlive(job);
    void run
      .catch((err: unknown) => {
        stats.other++;
        note(`client crashed: ${(err as Error).message}`);
      })
      .then(() => {
        for (const s of sockets) abort(s);
        // Stay until the parent has the message and ends this process (disconnecting right after
        // send() can lose it).
        send({ type: 'done', stats });
      });
  }
});
// The parent went away: do not linger holding thousands of sockets.
process.on('disconnect', () => process.exit(0));
