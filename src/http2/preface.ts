/**
 * h2c with prior knowledge (RFC 9113 §3.3) on a cleartext listener: the first bytes of a
 * connection decide. A connection that starts with the HTTP/2 preface goes to HTTP/2, anything
 * else to HTTP/1.1 with the bytes read so far given back to the socket. Only listeners with
 * `h2c: true` pay for the look.
 */
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * Wait for enough bytes to tell; call `h2(stream)` with a stream that yields every byte read
 * (the preface included), or `h1(socket)` with the bytes put back with unshift(); with `h2Raw`,
 * an h2 socket goes to it as is, with the bytes read so far (Rapid's own engine). A socket that
 * sends nothing within `timeoutMs` is destroyed (the HTTP/1.1 engine would close it too).
 */
export function sniffPreface(
  socket: Socket,
  timeoutMs: number,
  h2: (stream: Duplex) => void,
  h1: (socket: Socket) => void,
  h2Raw?: (socket: Socket, head: Buffer) => void,
): void {
  let buf: Buffer | null = null;
  const cleanup = (): void => {
    socket.off('data', onData);
    socket.off('error', onGone);
    socket.off('end', onGone);
    socket.setTimeout(0);
  };
  const onGone = (): void => {
    cleanup();
    socket.destroy();
  };
  const onData = (chunk: Buffer): void => {
    buf = buf === null ? chunk : Buffer.concat([buf, chunk]);
    const n = Math.min(buf.length, PREFACE.length);
    const isH2 = buf.compare(PREFACE, 0, n, 0, n) === 0;
    if (isH2 && buf.length < PREFACE.length) return; // a prefix of the preface: wait for more
    cleanup();
    socket.pause();
    if (isH2 && h2Raw !== undefined) {
      // An engine that reads the socket in JavaScript takes the bytes read so far as they are.
      h2Raw(socket, buf);
      socket.resume();
    } else if (isH2) h2(replay(socket, buf));
    else {
      socket.unshift(buf);
      h1(socket);
      socket.resume();
    }
  };
  socket.on('data', onData);
  socket.on('error', onGone);
  socket.on('end', onGone);
  if (timeoutMs > 0) socket.setTimeout(timeoutMs, onGone);
}

/**
 * A duplex that replays `first` and then the socket. node:http2 reads sockets below JavaScript,
 * so bytes already read from it cannot be unshifted; a stream it does not own the handle of is
 * read through JavaScript instead (only h2c connections take this path).
 */
function replay(socket: Socket, first: Buffer): Duplex {
  const d = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end();
      cb();
    },
    destroy(err, cb) {
      socket.destroy();
      cb(err);
    },
  });
  Object.defineProperty(d, 'remoteAddress', { value: socket.remoteAddress });
  Object.defineProperty(d, 'remotePort', { value: socket.remotePort });
  d.push(first);
  socket.on('data', (chunk: Buffer) => {
    if (!d.push(chunk)) socket.pause();
  });
  socket.on('end', () => d.push(null));
  socket.on('error', () => {
    // 'close' follows
  });
  socket.on('close', () => d.destroy());
  socket.resume();
  return d;
}
