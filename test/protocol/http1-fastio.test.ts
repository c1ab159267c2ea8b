// The engine's direct socket I/O (src/net/fastio.ts: writes to the libuv handle, reads into one
// shared buffer) and its fallback (socket.write / 'data' events) must behave the same. Every
// scenario runs on both paths; the fallback is forced with setFastIo(false), as RAPID_NO_FAST_IO=1
// does for a whole process.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { test, type TestContext } from 'node:test';
import { DEFAULT_LIMITS, type Handler, type Limits } from '../../src/core/types.js';
import { H1Connection } from '../../src/http1/connection.js';
import { fastIoEnabled, setFastIo } from '../../src/net/fastio.js';
import { RawClient, eventually, req, settled } from '../helpers/raw.js';

interface Harness {
  port: number;
  conns: H1Connection[];
}

/** A net.Server whose sockets become H1Connections, closed with the test. */
async function harness(
  t: TestContext,
  handler: Handler,
  opts: {
    limits?: Partial<Limits>;
    onUpgrade?: ConstructorParameters<typeof H1Connection>[1]['onUpgrade'];
  } = {},
): Promise<Harness> {
  const conns: H1Connection[] = [];
  const owner = { delete: (c: H1Connection) => conns.splice(conns.indexOf(c) >>> 0, 1) };
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    conns.push(
      new H1Connection(
        socket,
        { handler, limits, onUpgrade: opts.onUpgrade ?? null, onError: () => {}, secure: false },
        owner,
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    // Upgraded sockets are no connection's any more: destroy every socket.
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as net.AddressInfo).port, conns };
}

for (const fast of [true, false]) {
  const mode = fast ? 'direct I/O' : 'stream fallback';

  test(`${mode}: the connection uses the path it was told to`, async (t) => {
    setFastIo(fast);
    t.after(() => setFastIo(true));
    const h = await harness(t, (_rq, res) => res.send('ok'));
    const c = await RawClient.connect(h.port);
    t.after(() => c.destroy());
    await c.send(req('GET', '/'));
    const [r] = await c.waitResponses(1);
    assert.equal(r!.status, 200);
    const conn = h.conns[0]!;
    const expect = fast && fastIoEnabled();
    assert.equal(conn.directWrites, expect);
    assert.equal(conn.userBufferReads, expect);
    assert.equal(conn.socket.listenerCount('data'), expect ? 0 : 1);
  });

  test(`${mode}: pipelined requests from two connections at once, bodies included, in order`, async (t) => {
    setFastIo(fast);
    t.after(() => setFastIo(true));
    // Asynchronous answers and a pipeline limit of 2: most requests wait in the held input while
    // the other connection's reads go through the same shared buffer.
    const h = await harness(
      t,
      async (rq, res) => {
        const body = rq.hasBody ? (await rq.body()).toString('latin1') : '';
        await new Promise((r) => setImmediate(r));
        res.send(`${rq.url}:${body}`);
      },
      { limits: { maxPipelinedRequests: 2 } },
    );
    const clients = await Promise.all([RawClient.connect(h.port), RawClient.connect(h.port)]);
    t.after(() => clients.forEach((c) => c.destroy()));
    const batch = (tag: string): Buffer =>
      Buffer.concat(
        Array.from({ length: 30 }, (_, i) =>
          i % 3 === 0
            ? req('POST', `/${tag}${i}`, {}, `body-${tag}-${i}`)
            : req('GET', `/${tag}${i}`),
        ),
      );
    await Promise.all([clients[0]!.send(batch('a')), clients[1]!.send(batch('b'))]);
    for (const [k, c] of clients.entries()) {
      const tag = k === 0 ? 'a' : 'b';
      const rs = await c.waitResponses(30);
      rs.forEach((r, i) => {
        assert.equal(r.status, 200);
        assert.equal(r.body.toString(), `/${tag}${i}:${i % 3 === 0 ? `body-${tag}-${i}` : ''}`);
      });
    }
  });

  test(`${mode}: a streamed upload read slowly arrives intact`, async (t) => {
    setFastIo(fast);
    t.after(() => setFastIo(true));
    const h = await harness(
      t,
      async (rq, res) => {
        const hash = createHash('sha256');
        for await (const chunk of rq.stream()) {
          hash.update(chunk as Buffer);
          await new Promise((r) => setImmediate(r));
        }
        res.send(hash.digest('hex'));
      },
      { limits: { maxBodyBytes: 8 * 1024 * 1024 } },
    );
    const body = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7 + (i >> 11)) & 0xff;
    const c = await RawClient.connect(h.port);
    t.after(() => c.destroy());
    // Meanwhile another connection keeps the shared read buffer busy.
    const other = await RawClient.connect(h.port);
    t.after(() => other.destroy());
    const noise = (async () => {
      for (let i = 0; i < 50; i++) {
        await other.send(req('POST', '/n', {}, 'x'.repeat(5000)));
        await other.waitResponses(i + 1);
      }
    })();
    await c.send(req('POST', '/up', {}, body));
    const [r] = await c.waitResponses(1);
    await noise;
    assert.equal(r!.body.toString(), createHash('sha256').update(body).digest('hex'));
  });

  test(`${mode}: a response larger than the socket buffers waits for a slow reader`, async (t) => {
    setFastIo(fast);
    t.after(() => setFastIo(true));
    const big = Buffer.alloc(16 * 1024 * 1024, 0x61);
    const h = await harness(t, (rq, res) => res.send(rq.url === '/big' ? big : 'small'));
    const c = await RawClient.connect(h.port);
    t.after(() => c.destroy());
    c.socket.pause();
    // The big response and two more requests behind it, which must wait for it.
    await c.send(Buffer.concat([req('GET', '/big'), req('GET', '/a'), req('GET', '/b')]));
    const conn = await (async () => {
      await eventually(() => h.conns.length === 1, 'the connection');
      return h.conns[0]!;
    })();
    // The server is stuck on the full socket: its buffered bytes stop changing.
    await settled(() => conn.socket.bytesRead);
    c.socket.resume();
    const rs = await c.waitResponses(3);
    assert.equal(rs[0]!.body.length, big.length);
    assert.ok(rs[0]!.body.equals(big));
    assert.equal(rs[1]!.body.toString(), 'small');
    assert.equal(rs[2]!.body.toString(), 'small');
    // Still usable afterwards.
    await c.send(req('GET', '/c'));
    const more = await c.waitResponses(4);
    assert.equal(more[3]!.body.toString(), 'small');
  });

  test(`${mode}: an upgraded socket gets the head bytes and later data as ordinary 'data'`, async (t) => {
    setFastIo(fast);
    t.after(() => setFastIo(true));
    const h = await harness(t, (_rq, res) => res.send('plain'), {
      onUpgrade: (_rq, socket, head) => {
        socket.write(
          'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n',
        );
        socket.write(head.toString('latin1').toUpperCase());
        socket.on('data', (d: Buffer) => socket.write(d.toString('latin1').toUpperCase()));
        socket.on('end', () => socket.end());
        socket.on('error', () => socket.destroy());
      },
    });
    const c = await RawClient.connect(h.port);
    t.after(() => c.destroy());
    c.rawMode = true;
    await c.send(
      'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\nhead-bytes ',
    );
    await c.until((x) => x.received.includes('HEAD-BYTES '), 'the head echoed');
    // Plenty of later data, so reads after the upgrade really go through the socket again.
    const chunk = 'abcdefghij'.repeat(20000);
    await c.send(chunk);
    await c.until(
      (x) => x.received.toString('latin1').endsWith(chunk.toUpperCase()),
      'the later data echoed',
    );
  });
}
