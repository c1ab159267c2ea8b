// The ceiling for any server on Node's sockets: a node:net server that parses nothing. For every
// "\r\n\r\n" it sees it writes one canned response (with a Date refreshed once a second), so what
// it measures is the cost of the event loop, libuv and the socket syscalls alone.
//
// BARE_ROUTE=json makes the canned response the JSON one (still built once, not serialized per
// request); BARE_CLOSE=1 sends "Connection: close" and ends the socket after the first response,
// for the no-keep-alive scenario.
import net from 'node:net';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const json = process.env.BARE_ROUTE === 'json';
const closeAfter = process.env.BARE_CLOSE === '1';
const body = json ? '{"message":"Hello, World!"}' : 'Hello, World!';
const type = json ? 'application/json' : 'text/plain';

// Prebuilt runs of 1..MAX responses, so a pipelined batch of n is one write of one buffer.
const MAX = 64;
let batches = [];
function build() {
  const one =
    'HTTP/1.1 200 OK\r\nServer: bare\r\n' +
    `Date: ${new Date().toUTCString()}\r\n` +
    `Content-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    (closeAfter ? 'Connection: close\r\n' : '') +
    `\r\n${body}`;
  batches = [Buffer.alloc(0)];
  for (let n = 1; n <= MAX; n++) batches.push(Buffer.from(one.repeat(n), 'latin1'));
}
build();
setInterval(build, 1000).unref();

const CR = 13;
const LF = 10;

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  // How many bytes of "\r\n\r\n" the previous chunk ended with, so a terminator split across two
  // reads is still counted once.
  let carry = 0;
  socket.on('data', (chunk) => {
    const n = chunk.length;
    let count = 0;
    let i = 0;
    if (carry > 0) {
      // Continue the partial match: the pattern is CR LF CR LF, so after `c` matched bytes the
      // next expected byte is CR for even c and LF for odd.
      let c = carry;
      let j = 0;
      carry = 0;
      while (j < n && c < 4 && chunk[j] === (c % 2 === 0 ? CR : LF)) {
        c++;
        j++;
      }
      if (c === 4) {
        count++;
        i = j;
      } else if (j === n) {
        carry = c;
        return;
      }
    }
    for (;;) {
      const at = chunk.indexOf('\r\n\r\n', i, 'latin1');
      if (at === -1) break;
      count++;
      i = at + 4;
    }
    // Remember a trailing partial terminator ("\r\n\r", "\r\n" or "\r") after the last match.
    for (let k = 3; k >= 1; k--) {
      if (n - k < i) continue;
      let ok = true;
      for (let m = 0; m < k; m++) if (chunk[n - k + m] !== (m % 2 === 0 ? CR : LF)) ok = false;
      if (ok) {
        carry = k;
        break;
      }
    }
    if (count === 0) return;
    if (closeAfter) {
      socket.end(batches[1]);
      return;
    }
    while (count > MAX) {
      socket.write(batches[MAX]);
      count -= MAX;
    }
    socket.write(batches[count]);
  });
  socket.on('error', () => socket.destroy());
});
server.listen(port, host, () => {
  console.log(`bare net listening on http://${host}:${server.address().port}`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
