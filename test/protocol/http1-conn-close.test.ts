// How a connection ends after its last response (RFC 9112 §9.6). When the client said the request
// is its last (Connection: close, or HTTP/1.0 without keep-alive) and nothing else came from it,
// the server closes at once, as node:http and nginx do: no half-close round trip. Whenever the
// client may still be sending (bytes after the last request, a body not read to its end, a close
// the server decided on its own), the server half-closes and keeps reading and dropping for the
// lingering period, so the response is never destroyed by a reset. Either way every byte of the
// response arrives, followed by a FIN, never an RST.
import assert from 'node:assert/strict';
import type net from 'node:net';
import { test, type TestContext } from 'node:test';
import { RawClient, req } from '../helpers/raw.js';
import { startServer, type TestServer } from '../helpers/server.js';

const BIG = Buffer.alloc(4 * 1024 * 1024, 'z');

/** The server side of the next accepted connection. */
function nextServerSocket(s: TestServer): Promise<net.Socket> {
  return new Promise((resolve) => s.server.netServer.once('connection', resolve));
}

/** A client that keeps its own side open after the server's FIN (it never closes first). */
async function halfOpenClient(s: TestServer): Promise<{ c: RawClient; server: net.Socket }> {
  const accepted = nextServerSocket(s);
  const c = await RawClient.connect(s.port, { allowHalfOpen: true });
  return { c, server: await accepted };
}

function serverFin(c: RawClient): Promise<void> {
  return c.until((x) => x.ended, "the server's FIN");
}

async function plainServer(t: TestContext): Promise<TestServer> {
  return startServer(
    async (rq, res) => {
      if (rq.path === '/big') {
        res.send(BIG);
        return;
      }
      if (rq.path === '/unread') {
        res.send('not reading your body');
        return;
      }
      if (rq.path === '/bye') res.setHeader('Connection', 'close');
      if (rq.hasBody) await rq.body();
      res.send(`hello ${rq.url}`);
    },
    { t, limits: { maxBodyBytes: 64 * 1024 * 1024 } },
  );
}

test('Connection: close with nothing after it: closed at once, response and FIN, no reset', async (t) => {
  const s = await plainServer(t);
  const { c, server } = await halfOpenClient(s);
  await c.send(req('GET', '/last', { Connection: 'close' }));
  await serverFin(c);
  // The server did not wait for the client's FIN: its socket was gone when ours saw the end.
  assert.equal(server.destroyed, true);
  assert.equal(c.finals.length, 1);
  assert.equal(c.finals[0]!.text(), 'hello /last');
  assert.equal(c.finals[0]!.header('connection'), 'close');
  c.end();
  await c.waitClose();
  assert.equal(c.resetError, null);
  assert.equal(s.server.connections, 0);
});

test('HTTP/1.0 without keep-alive: closed at once as well', async (t) => {
  const s = await plainServer(t);
  const { c, server } = await halfOpenClient(s);
  await c.send('GET /old HTTP/1.0\r\n\r\n');
  await serverFin(c);
  assert.equal(server.destroyed, true);
  assert.equal(c.finals[0]!.text(), 'hello /old');
  c.end();
  await c.waitClose();
  assert.equal(c.resetError, null);
});

test('Connection: close after a body that was read to its end: closed at once', async (t) => {
  const s = await plainServer(t);
  const { c, server } = await halfOpenClient(s);
  await c.send(req('POST', '/post', { Connection: 'close' }, 'x'.repeat(100_000)));
  await serverFin(c);
  assert.equal(server.destroyed, true);
  assert.equal(c.finals[0]!.text(), 'hello /post');
  c.end();
  await c.waitClose();
  assert.equal(c.resetError, null);
});

test('a large response with Connection: close arrives whole, then the server closes', async (t) => {
  const s = await plainServer(t);
  const { c, server } = await halfOpenClient(s);
  await c.send(req('GET', '/big', { Connection: 'close' }));
  await serverFin(c);
  // Too big for one write: the socket was closed once the last byte and the FIN had left, not
  // after waiting for the client's FIN.
  assert.equal(server.destroyed, true);
  c.end();
  await c.waitClose();
  assert.equal(c.resetError, null);
  assert.equal(c.finals.length, 1);
  assert.equal(c.finals[0]!.body.length, BIG.length);
});

test('bytes after the Connection: close request: lingering close, a client still sending gets no reset', async (t) => {
  const s = await plainServer(t);
  const { c, server } = await halfOpenClient(s);
  await c.send(Buffer.concat([req('GET', '/last', { Connection: 'close' }), req('GET', '/never')]));
  await serverFin(c);
  assert.equal(server.destroyed, false, 'still reading what the client sends');
  // A client that goes on sending after the server's FIN: read and dropped, not reset.
  await new Promise<void>((resolve) => c.socket.write(BIG, () => resolve()));
  c.end();
  await c.waitClose();
  assert.equal(c.resetError, null);
  assert.equal(c.finals.length, 1);
  assert.equal(c.finals[0]!.text(), 'hello /last');
});

test('a body not read to its end: lingering close, the rest of the body is dropped, no reset', async (t) => {
  const s = await plainServer(t);
  const { c, server } = await halfOpenClient(s);
  // Only the head and a little of the body: the handler answers without reading it.
  const head = req('POST', '/unread', { Connection: 'close', 'Content-Length': BIG.length + 10 });
  await c.send(Buffer.concat([head, Buffer.from('0123456789')]));
  await serverFin(c);
  assert.equal(server.destroyed, false);
  await new Promise<void>((resolve) => c.socket.write(BIG, () => resolve()));
  c.end();
  await c.waitClose();
  assert.equal(c.resetError, null);
  assert.equal(c.finals[0]!.text(), 'not reading your body');
});

test('a close the server decides on a keep-alive request: lingering close', async (t) => {
  const s = await plainServer(t);
  const { c, server } = await halfOpenClient(s);
  // Counts end() calls: the client's FIN arriving while lingering must not end the socket again
  // (Node would build an ERR_STREAM_ALREADY_FINISHED error for nothing).
  let ends = 0;
  const end = server.end.bind(server);
  server.end = ((...args: Parameters<typeof end>) => {
    ends++;
    return end(...args);
  }) as typeof server.end;
  // The client did not ask to close, so it may already be sending its next request.
  await c.send(req('GET', '/bye'));
  await serverFin(c);
  assert.equal(server.destroyed, false);
  await new Promise<void>((resolve) => c.socket.write(req('GET', '/next'), () => resolve()));
  c.end();
  await c.waitClose();
  if (!server.destroyed) await new Promise((resolve) => server.once('close', resolve));
  assert.equal(ends, 1);
  assert.equal(c.resetError, null);
  assert.equal(c.finals.length, 1);
  assert.equal(c.finals[0]!.header('connection'), 'close');
});

test('a client that half-closes after its request: answered, then closed at once', async (t) => {
  const s = await plainServer(t);
  const { c, server } = await halfOpenClient(s);
  await c.send(req('GET', '/half'));
  c.end();
  await serverFin(c);
  assert.equal(c.finals[0]!.text(), 'hello /half');
  await c.waitClose();
  assert.equal(server.destroyed, true);
  assert.equal(c.resetError, null);
});

test('server.close() while a lingering connection still receives a body: dropped, no crash', async (t) => {
  const s = await plainServer(t);
  const { c } = await halfOpenClient(s);
  const head = req('POST', '/unread', { Connection: 'close', 'Content-Length': BIG.length + 10 });
  await c.send(Buffer.concat([head, Buffer.from('0123456789')]));
  await serverFin(c);
  // The rest of the body is on its way when the graceful close asks the connection to stop: it
  // must stay stopped (it used to parse again, with its parser already dead, and throw).
  const written = new Promise<void>((resolve) => c.socket.write(BIG, () => resolve()));
  const closing = s.close(10_000);
  await written;
  c.end();
  await Promise.all([c.waitClose(), closing]);
  assert.equal(c.finals.length, 1);
  assert.equal(c.finals[0]!.text(), 'not reading your body');
  assert.deepEqual(s.errors, []);
});
