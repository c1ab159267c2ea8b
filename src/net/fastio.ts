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
