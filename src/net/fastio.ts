/**
 * Socket I/O below the stream machinery, for plain TCP/Unix sockets (TLS never comes here).
 *
 * Writes. `socket.write()` goes through Writable (state, a callback, an afterWrite tick) before
 * it reaches the libuv handle, and that is most of the cost of a small response. When the
 * Writable holds nothing, Rapid calls the handle's own `writeLatin1String` / `writeBuffer` /
 * `writev` directly, with a `WriteWrap` request as Node's lib/internal/stream_base_commons does.
 * libuv keeps writes on one handle in order, so a later `socket.write()` (streams, `end()`) still
 * lands after these bytes. A write that does not complete at once (the kernel buffer is full) is
 * finished by libuv in the background; `onDone` runs when it is, and the caller treats the socket
 * as needing a drain until then.
 *
 * Reads. A socket given `onread: { buffer, callback }` reads into that one buffer and calls back
 * with the byte count: no Buffer per read and no Readable `push`/'data' path. Accepted server
 * sockets do not take the option, so it is applied the way net.Socket's constructor applies it
 * (the same private fields, found by value on a probe socket, and `handle.useUserBuffer`).
 *
 * Both need Node internals: everything is feature-detected once, and any mismatch (or
 * RAPID_NO_FAST_IO=1, or setFastIo(false)) leaves the ordinary socket.write()/'data' path.
 */
import net from 'node:net';

interface WriteReq {
  handle: unknown;
  oncomplete: ((status: number) => void) | null;
  async: boolean;
  bytes: number;
  buffer: unknown;
}

export interface RawHandle {
  writeQueueSize: number;
  writeLatin1String(req: WriteReq, data: string): number;
  writeBuffer(req: WriteReq, data: Uint8Array): number;
  writev(req: WriteReq, chunks: unknown[], allBuffers: boolean): number;
  useUserBuffer(buf: Uint8Array): void;
}

type WriteWrapCtor = new () => WriteReq;

/** undefined: not learned yet; null: not available in this Node. */
let WriteWrap: WriteWrapCtor | null | undefined;
let learnTries = 0;
let enabled = process.env.RAPID_NO_FAST_IO !== '1';

/** Turn the direct socket I/O on or off for connections created from now on (tests). */
export function setFastIo(on: boolean): void {
  enabled = on && process.env.RAPID_NO_FAST_IO !== '1';
}

export function fastIoEnabled(): boolean {
  return enabled;
}

/** The socket's libuv stream handle when direct I/O may be used on it, else null. */
export function rawHandle(socket: net.Socket): RawHandle | null {
  if (!enabled || Object.getPrototypeOf(socket) !== net.Socket.prototype) return null;
  const h = (socket as unknown as { _handle?: Partial<RawHandle> | null })._handle;
  if (
    h === null ||
    h === undefined ||
    typeof h.writeLatin1String !== 'function' ||
    typeof h.writeBuffer !== 'function' ||
    typeof h.writev !== 'function' ||
    typeof h.writeQueueSize !== 'number'
  ) {
    return null;
  }
  return h as RawHandle;
}

// ---- reads ----

/** The one read buffer of every socket read this way (reads run one at a time, to completion). */
const READ_BUFFER_SIZE = 64 * 1024;
let readBuffer: Buffer | null = null;
/** net.Socket's private fields for `onread` (undefined: not learned yet; null: not found). */
let kBuffer: symbol | null | undefined;
let kBufferCb: symbol | null = null;

export type ReadCallback = (nread: number, buf: Buffer) => void;

/**
 * Switch an accepted socket to reads into the shared buffer: `onRead(n, buf)` gets the bytes in
 * buf[0, n), valid only during the call (copy what must be kept: see inReadBuffer()). No 'data'
 * events are emitted; pause(), resume(), 'end' and 'close' work as before. False (nothing
 * changed) when this Node does not support it; the caller then listens for 'data'.
 */
export function startUserBufferReads(
  socket: net.Socket,
  handle: RawHandle,
  onRead: ReadCallback,
): boolean {
  if (kBuffer === undefined) learnReadFields();
  const kb = kBuffer;
  const kc = kBufferCb;
  if (!enabled || kb == null || kc === null || typeof handle.useUserBuffer !== 'function') {
    return false;
  }
  const s = socket as unknown as Record<symbol, unknown>;
  // A socket that already has a read buffer or has read anything is left alone.
  if (s[kb] !== null || socket.bytesRead !== 0) return false;
  readBuffer ??= Buffer.allocUnsafe(READ_BUFFER_SIZE);
  s[kb] = readBuffer;
  s[kc] = onRead;
  handle.useUserBuffer(readBuffer);
  return true;
}

/**
 * Give a socket read with startUserBufferReads() back to ordinary stream reads (an upgrade hands
 * the socket to code that expects 'data' and Readable): each read is copied and pushed.
 */
export function restoreStreamReads(socket: net.Socket): void {
  if (kBufferCb === null || kBufferCb === undefined) return;
  const s = socket as unknown as Record<symbol, unknown>;
  if (s[kBuffer as symbol] !== readBuffer || readBuffer === null) return;
  s[kBufferCb] = (n: number, buf: Buffer): boolean => socket.push(Buffer.from(buf.subarray(0, n)));
}

/** True when `buf` is a view of the shared read buffer (its bytes change with the next read). */
export function inReadBuffer(buf: Buffer): boolean {
  return readBuffer !== null && buf.buffer === readBuffer.buffer;
}

/** Find net.Socket's onread fields by value on a probe socket that never connects. */
function learnReadFields(): void {
  kBuffer = null;
  const buffer = Buffer.alloc(1);
  const callback = (): void => {};
  let probe: net.Socket;
  try {
    probe = new net.Socket({ onread: { buffer, callback } } as net.SocketConstructorOpts);
  } catch {
    return;
  }
  const p = probe as unknown as Record<symbol, unknown>;
  let kb: symbol | null = null;
  let kc: symbol | null = null;
  for (const sym of Object.getOwnPropertySymbols(probe)) {
    if (p[sym] === buffer) kb = kb === null ? sym : null;
    else if (p[sym] === callback) kc = kc === null ? sym : null;
  }
  probe.destroy();
  if (kb !== null && kc !== null) {
    kBuffer = kb;
    kBufferCb = kc;
  }
}

// ---- writes ----

/** Result of directWrite(). */
export const W_DONE = 0;
export const W_PENDING = 1;
export const W_FALLBACK = 2;
export const W_ERROR = 3;

/** One reusable request for every write that completes synchronously (the common case). */
let spare: WriteReq | null = null;

/**
 * Write `str` (latin1) followed by `list` (strings are latin1) straight to the handle. W_DONE:
 * every byte is in the kernel. W_PENDING: libuv finishes the write later and calls `onDone`.
 * W_FALLBACK: nothing was written, use socket.write(). W_ERROR: the socket is broken (the
 * caller destroys it).
 */
export function directWrite(
  socket: net.Socket,
  handle: RawHandle,
  str: string,
  list: (string | Buffer)[] | null,
  onDone: () => void,
): number {
  if (WriteWrap === undefined) {
    learn(socket, handle, str, list);
    return W_DONE;
  }
  if (WriteWrap === null || socket.writableLength !== 0 || socket.destroyed) return W_FALLBACK;
  const req = spare ?? newReq(WriteWrap, handle);
  req.handle = handle;
  let err: number;
  let keep: unknown = null;
  if (list === null) {
    err = handle.writeLatin1String(req, str);
  } else if (str === '' && list.length === 1 && typeof list[0] !== 'string') {
    // One Buffer (a prepared response's head and body): a plain write, no writev array.
    keep = list[0];
    err = handle.writeBuffer(req, keep as Buffer);
  } else {
    const chunks: unknown[] = [];
    if (str !== '') list.push(str);
    for (const p of list) {
      if (typeof p === 'string') chunks.push(p, 'latin1');
      else chunks.push(p, 'buffer');
    }
    err = handle.writev(req, chunks, false);
    keep = chunks;
  }
  if (err !== 0) {
    spare = null;
    return W_ERROR;
  }
  if (handle.writeQueueSize === 0) {
    // Done synchronously: libuv never took the request, it can serve the next write.
    spare = req;
    return W_DONE;
  }
  // libuv holds this request (and must keep the buffers alive) until the write completes.
  spare = null;
  req.buffer = keep;
  req.oncomplete = () => {
    req.buffer = null;
    onDone();
  };
  return W_PENDING;
}

function newReq(Ctor: WriteWrapCtor, handle: RawHandle): WriteReq {
  const req = new Ctor();
  req.handle = handle;
  req.oncomplete = null;
  req.async = false;
  req.bytes = 0;
  req.buffer = null;
  return req;
}

/**
 * Learn Node's WriteWrap constructor from one ordinary socket.write(): the handle's write methods
 * are shadowed on this one handle for the duration of the call, see the request Node passes and
 * are removed again. The bytes go out exactly as they would without this.
 */
function learn(
  socket: net.Socket,
  handle: RawHandle,
  str: string,
  list: (string | Buffer)[] | null,
) {
  let seen: unknown = null;
  const h = handle as unknown as Record<string, unknown>;
  const names = ['writeLatin1String', 'writeBuffer', 'writev', 'writeUtf8String'];
  const saved = names.map((n) => h[n]);
  names.forEach((n, i) => {
    const orig = saved[i] as (...a: unknown[]) => number;
    h[n] = function (this: unknown, ...args: unknown[]): number {
      if (seen === null) seen = args[0];
      return orig.apply(this, args);
    };
  });
  try {
    writeAll(socket, str, list);
  } finally {
    for (const n of names) delete h[n];
  }
  const ctor = (seen as { constructor?: unknown } | null)?.constructor;
  const ok =
    typeof ctor === 'function' &&
    ctor.name === 'WriteWrap' &&
    names.every((n, i) => h[n] === saved[i]);
  if (ok) WriteWrap = ctor as WriteWrapCtor;
  else if (++learnTries >= 8) WriteWrap = null;
}

/** The ordinary path: socket.write (under cork when there are several pieces). */
export function writeAll(socket: net.Socket, str: string, list: (string | Buffer)[] | null): void {
  if (list === null) {
    if (str !== '') socket.write(str, 'latin1');
    return;
  }
  if (str !== '') list.push(str);
  socket.cork();
  for (const p of list) {
    if (typeof p === 'string') socket.write(p, 'latin1');
    else socket.write(p);
  }
  socket.uncork();
}
