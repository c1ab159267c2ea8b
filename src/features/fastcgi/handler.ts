/**
 * PHP (or any FastCGI Responder) behind Rapid: `createFastCgiHandler(options)` returns a feature
 * handler `(req, res, next?)` that finds the script below `root`, sends the request to the
 * FastCGI server over a pooled keep-alive connection, and streams the CGI response back.
 *
 * One request, step by step:
 *  1. The path names a script (a segment ending in `.php`, or a directory with `index.php`) that
 *     exists inside the root; else 404 (or `next()` for paths that are not the handler's).
 *  2. A connection from the pool; BEGIN_REQUEST (KEEP_CONN), the CGI variables as PARAMS, then
 *     the body as STDIN, streamed with backpressure (a chunked body is read whole first: PHP
 *     needs CONTENT_LENGTH, as nginx does).
 *  3. STDOUT goes through CgiOutput (header block, then the body streamed with backpressure);
 *     STDERR lines go to `log`; END_REQUEST ends the response and returns the connection.
 *  4. Failures: unreachable 502, connect timeout 504, no answer within `timeout` 504, anything
 *     malformed 502; after the head went out, the client connection is cut instead.
 *
 * docs/interop.md documents the options.
 */
import { realpathSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { E, RapidError, type ErrorSpec } from '../../core/errors.js';
import type { RapidRequest, RapidResponse } from '../../core/types.js';
import { onClientGone } from '../../app/fetch.js';
import {
  scriptRequest,
  isStringRecord,
  pathsAsBytes,
  ScriptCache,
  type ScriptLookup,
} from '../cgi-env.js';
import { CgiOutput, defaultLog, sendErrorSpec, type InteropLog } from '../cgi-response.js';
import { ConnectError, FcgiPool, type FcgiAddress, type FcgiConnection } from './pool.js';
import {
  beginRequest,
  CANT_MPX_CONN,
  encodeParams,
  END_REQUEST,
  OVERLOADED,
  PARAMS,
  parseEndRequest,
  REQUEST_COMPLETE,
  STDERR,
  STDIN,
  STDOUT,
  streamRecords,
  UNKNOWN_ROLE,
} from './protocol.js';

export interface FastCgiOptions {
  /** "127.0.0.1:9000", "[::1]:9000", "localhost:9000" or "unix:/run/php/php-fpm.sock". */
  address: string;
  /** The document root: scripts are found (and must stay) below it. */
  root: string;
  /** Base for relative `root` and unix socket paths (default process.cwd()). */
  baseDir?: string;
  /** Script tried for a directory request (default "index.php"); a list tries each. */
  index?: string | readonly string[];
  /** Extensions that make a path segment a script (default [".php"]). */
  extensions?: readonly string[];
  /** Extra or overriding FastCGI params (e.g. { PHP_VALUE: "max_execution_time=5" }). */
  params?: Readonly<Record<string, string>>;
  /** Time in ms the server may stay silent while a request is in flight (default 60000): 504. */
  timeout?: number;
  /** Time in ms to connect (default 10000): 504. */
  connectTimeout?: number;
  /**
   * Most connections open at once; further requests wait for a free one (default 5, php-fpm's
   * pm.max_children on Debian). With keep-alive each open connection holds one php-fpm child, so
   * this must not exceed pm.max_children: a connection beyond it would wait in php-fpm's backlog
   * while the others are reused.
   */
  maxConnections?: number;
  /** An idle pooled connection is closed after this many ms (default 30000; 0 keeps it). */
  idleTimeout?: number;
  /** "/app.php/extra" runs app.php with PATH_INFO "/extra" (default true). */
  splitPathInfo?: boolean;
  /** Where STDERR output and upstream failures are reported (default: stderr). */
  log?: InteropLog;
}

export interface FastCgiHandler {
  (req: RapidRequest, res: RapidResponse, next?: () => void | Promise<void>): Promise<void>;
  /** Connections open now. */
  readonly connections: number;
  /** Close pooled connections; waiting requests get 502. */
  close(): void;
}

const EMPTY = Buffer.alloc(0);
const REQUEST_ID = 1;
const RETRY = 1;
const DONE = 0;

function check(ok: boolean, what: string): void {
  if (!ok) throw new RapidError(E.FCGI_INVALID_OPTION, what);
}

function isMs(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

/** Parse the address option (see FastCgiOptions.address). */
export function parseFcgiAddress(address: string, baseDir: string): FcgiAddress | null {
  if (typeof address !== 'string' || address.length === 0) return null;
  if (address.startsWith('unix:')) {
    const path = address.slice(5);
    return path.length === 0 ? null : { path: resolve(baseDir, path) };
  }
  let host: string;
  let port: string;
  if (address.startsWith('[')) {
    const close = address.indexOf(']:');
    if (close === -1) return null;
    host = address.slice(1, close);
    port = address.slice(close + 2);
    if (isIP(host) !== 6) return null;
  } else {
    const colon = address.lastIndexOf(':');
    if (colon <= 0) return null;
    host = address.slice(0, colon);
    port = address.slice(colon + 1);
    if (host.includes(':')) return null;
  }
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) return null;
  return { host, port: Number(port) };
}

/** Write `records` to the socket; false when its buffer is full. */
function writeAll(socket: FcgiConnection['socket'], records: Buffer[]): boolean {
  let ok = true;
  for (const r of records) ok = socket.write(r);
  return ok;
}

function drainOrClose(socket: FcgiConnection['socket']): Promise<void> {
  return new Promise((resolveFn) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolveFn();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

class FastCgi {
  readonly pool: FcgiPool;
  private readonly lookup: ScriptLookup;
  private readonly scripts: ScriptCache;
  private readonly params: Readonly<Record<string, string>> | undefined;
  private readonly timeout: number;
  private readonly log: InteropLog;

  constructor(o: FastCgiOptions) {
    check(typeof o === 'object' && o !== null, 'options must be an object');
    const baseDir = o.baseDir ?? process.cwd();
    const address = parseFcgiAddress(o.address, baseDir);
    check(
      address !== null,
      `address must be "host:port" or "unix:/path", got ${JSON.stringify(o.address)}`,
    );
    check(typeof o.root === 'string' && o.root.length > 0, 'root must be a path');
    let root: string;
    try {
      root = realpathSync(resolve(baseDir, o.root));
      if (!statSync(root).isDirectory()) throw new Error('not a directory');
    } catch {
      throw new RapidError(E.FCGI_INVALID_OPTION, `root ${o.root} is not a directory`);
    }
    const index =
      o.index === undefined ? ['index.php'] : typeof o.index === 'string' ? [o.index] : o.index;
    check(
      Array.isArray(index) &&
        index.every((n) => typeof n === 'string' && n.length > 0 && !/[/\\\0]/.test(n)),
      'index must be a file name or a list of file names',
    );
    const extensions = o.extensions ?? ['.php'];
    check(
      Array.isArray(extensions) &&
        extensions.length > 0 &&
        extensions.every((e) => typeof e === 'string' && /^\.[^/\\\0]+$/.test(e)),
      'extensions must be a non-empty list like [".php"]',
    );
    check(o.params === undefined || isStringRecord(o.params), 'params must map names to strings');
    const timeout = o.timeout ?? 60_000;
    const connectTimeout = o.connectTimeout ?? 10_000;
    const idleTimeout = o.idleTimeout ?? 30_000;
    const maxConnections = o.maxConnections ?? 5;
    check(isMs(timeout), 'timeout must be a number of ms');
    check(isMs(connectTimeout), 'connectTimeout must be a number of ms');
    check(isMs(idleTimeout), 'idleTimeout must be a number of ms');
    check(
      Number.isInteger(maxConnections) && maxConnections >= 1,
      'maxConnections must be a positive integer',
    );
    check(
      o.splitPathInfo === undefined || typeof o.splitPathInfo === 'boolean',
      'splitPathInfo must be a boolean',
    );
    check(o.log === undefined || typeof o.log === 'function', 'log must be a function');
    this.lookup = {
      root,
      index,
      extensions,
      splitPathInfo: o.splitPathInfo ?? true,
    };
    this.scripts = new ScriptCache(this.lookup);
    this.params = o.params;
    this.timeout = timeout;
    this.log = o.log ?? defaultLog('fastcgi');
    this.pool = new FcgiPool({
      address: address as FcgiAddress,
      maxConnections,
      connectTimeout,
      idleTimeout,
    });
  }

  async handle(
    req: RapidRequest,
    res: RapidResponse,
    next?: () => void | Promise<void>,
  ): Promise<void> {
    const target = await this.scripts.find(req.path);
    if (target === 'not-mine' && next !== undefined) return next();
    if (typeof target === 'string') {
      sendErrorSpec(res, E.FCGI_NOT_FOUND);
      return;
    }
    // A chunked body has no length to give PHP: read it whole first (bounded by maxBodyBytes).
    const { body, vars: env } = await scriptRequest(req, target, this.lookup.root, this.params);
    pathsAsBytes(env);
    const params = encodeParams(env);
    // A reused connection the server closed just as we sent on it can be retried once, but only
    // when the body can be sent again.
    const retryable = body !== null || !req.hasBody;
    while ((await this.exchange(req, res, params, body, retryable)) === RETRY) {
      // loop: a fresh attempt
    }
  }

  /** One attempt. Resolves DONE or RETRY; rejects when the response is cut after its head. */
  private exchange(
    req: RapidRequest,
    res: RapidResponse,
    params: Buffer,
    body: Buffer | null,
    retryable: boolean,
  ): Promise<number> {
    const pool = this.pool;
    const timeout = this.timeout;
    return new Promise<number>((resolveFn, reject) => {
      let conn: FcgiConnection | null = null;
      let settled = false;
      let gotBytes = false;
      let stdinDone = false;
      let paused = false;
      const output = new CgiOutput(res, {
        pause: () => {
          if (settled || conn === null) return;
          paused = true;
          conn.socket.pause();
          // Waiting on our client is not the server being silent.
          conn.socket.setTimeout(0);
        },
        resume: () => {
          if (settled || conn === null) return;
          paused = false;
          conn.socket.setTimeout(timeout);
          conn.socket.resume();
        },
      });
      const stopWatch = onClientGone(req, () => fail(null, 'client went away'), true);
      let waitTimer: NodeJS.Timeout | undefined;

      const finish = (reusable: boolean): void => {
        settled = true;
        stopWatch();
        if (conn !== null) pool.release(conn, reusable && !paused);
        resolveFn(DONE);
      };

      const fail = (spec: ErrorSpec | null, detail: string): void => {
        if (settled) return;
        settled = true;
        stopWatch();
        clearTimeout(waitTimer);
        if (conn !== null) pool.discard(conn);
        if (spec === null) {
          resolveFn(DONE); // the client is gone: nobody to answer
          return;
        }
        this.log('error', `${req.method} ${req.url}: ${spec.message} (${detail})`);
        if (sendErrorSpec(res, spec)) resolveFn(DONE);
        else reject(new RapidError(spec, detail));
      };

      const onRecords = (buf: Buffer): void => {
        const c = conn as FcgiConnection;
        const r = c.parser.execute(buf);
        const records = r.records;
        for (let i = 0; i < records.length && !settled; i++) {
          const rec = records[i]!;
          if (rec.requestId !== REQUEST_ID) continue; // management records (id 0)
          if (rec.type === STDOUT) {
            gotBytes = true;
            if (rec.content.length > 0 && !output.push(rec.content)) {
              fail(E.FCGI_BAD_RESPONSE, output.reason);
            }
          } else if (rec.type === STDERR) {
            gotBytes = true;
            if (rec.content.length > 0) this.stderr(req, rec.content);
          } else if (rec.type === END_REQUEST) {
            const end = parseEndRequest(rec.content);
            if (end === null) return fail(E.FCGI_PROTOCOL_ERROR, 'short END_REQUEST');
            const status = end[1];
            if (status !== REQUEST_COMPLETE) {
              const why =
                status === OVERLOADED
                  ? 'overloaded'
                  : status === CANT_MPX_CONN
                    ? 'cannot multiplex'
                    : status === UNKNOWN_ROLE
                      ? 'unknown role'
                      : `protocol status ${status}`;
              return fail(E.FCGI_REJECTED, why);
            }
            if (!output.headersDone)
              return fail(E.FCGI_BAD_RESPONSE, output.reason || 'no header block');
            try {
              output.end();
            } catch (err) {
              return fail(E.FCGI_BAD_RESPONSE, (err as Error).message);
            }
            // Reusable only when nothing is pending: the body was sent whole and this was the
            // last byte the server wrote.
            return finish(
              stdinDone && i === records.length - 1 && c.parser.idle && r.error === null,
            );
          }
        }
        if (r.error !== null && !settled) fail(E.FCGI_PROTOCOL_ERROR, r.error);
      };

      const start = (c: FcgiConnection): void => {
        clearTimeout(waitTimer);
        if (settled) {
          pool.release(c, true); // unused: the client left while we waited
          return;
        }
        conn = c;
        c.onData = onRecords;
        c.onTimeout = () => fail(E.FCGI_TIMEOUT, `no answer in ${timeout} ms`);
        c.onGone = (err) => {
          if (settled) return;
          if (!gotBytes && c.served > 0 && retryable) {
            settled = true;
            stopWatch();
            resolveFn(RETRY);
            return;
          }
          fail(E.FCGI_CONNECTION_LOST, err === null ? 'connection closed' : err.message);
        };
        const socket = c.socket;
        if (timeout > 0) socket.setTimeout(timeout);
        socket.cork();
        socket.write(beginRequest(REQUEST_ID, true));
        writeAll(socket, streamRecords(PARAMS, REQUEST_ID, params));
        socket.write(streamRecords(PARAMS, REQUEST_ID, EMPTY)[0]!);
        if (body !== null || !req.hasBody) {
          if (body !== null && body.length > 0)
            writeAll(socket, streamRecords(STDIN, REQUEST_ID, body));
          socket.write(streamRecords(STDIN, REQUEST_ID, EMPTY)[0]!);
          stdinDone = true;
        }
        socket.uncork();
        if (!stdinDone) {
          this.pumpBody(req, socket, () => settled).then(
            () => {
              if (!settled) stdinDone = true;
            },
            (err: unknown) => fail(null, (err as Error).message),
          );
        }
      };

      if (timeout > 0) {
        waitTimer = setTimeout(() => fail(E.FCGI_TIMEOUT, 'no free connection in time'), timeout);
      }
      pool.acquire().then(start, (err: unknown) => {
        const timedOut = err instanceof ConnectError && err.timedOut;
        fail(timedOut ? E.FCGI_CONNECT_TIMEOUT : E.FCGI_UNAVAILABLE, (err as Error).message);
      });
    });
  }

  /** The request body as STDIN records, with backpressure both ways. */
  private async pumpBody(
    req: RapidRequest,
    socket: FcgiConnection['socket'],
    stopped: () => boolean,
  ): Promise<void> {
    for await (const chunk of req.stream()) {
      if (stopped() || socket.destroyed) return;
      if (!writeAll(socket, streamRecords(STDIN, REQUEST_ID, chunk as Buffer))) {
        await drainOrClose(socket);
      }
    }
    if (stopped() || socket.destroyed) return;
    socket.write(streamRecords(STDIN, REQUEST_ID, EMPTY)[0]!);
  }

  private stderr(req: RapidRequest, content: Buffer): void {
    const text = content.toString('utf8', 0, Math.min(content.length, 8192)).trimEnd();
    if (text.length > 0) this.log('warn', `${req.method} ${req.url}: ${text}`);
  }
}

export function createFastCgiHandler(options: FastCgiOptions): FastCgiHandler {
  const f = new FastCgi(options);
  const handler = ((req, res, next) => f.handle(req, res, next)) as FastCgiHandler;
  Object.defineProperty(handler, 'connections', { get: () => f.pool.size });
  handler.close = () => f.pool.close();
  return handler;
}
