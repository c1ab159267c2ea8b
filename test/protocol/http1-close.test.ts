// Graceful close: server.close() stops accepting, closes idle keep-alive connections at once,
// lets in-flight requests finish (their responses say Connection: close), and destroys what is
// still stuck at the deadline.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { RawClient, req } from '../helpers/raw.js';
import { startServer } from '../helpers/server.js';

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

test(
  'close() with an idle keep-alive connection closes it at once',
  { timeout: 10_000 },
  async (t) => {
    const s = await startServer((_rq, res) => res.send('x'), { t });
    const c = await RawClient.connect(s.port);
    await c.send(req('GET', '/'));
    await c.waitResponses(1);
    // A long deadline: the test only finishes in time if the idle connection is closed at once.
    await s.close(60_000);
    await c.waitClose();
    assert.equal(c.responses.length, 1, 'nothing sent but the one response');
    assert.equal(c.resetError, null, 'closed with FIN, not reset');
    assert.equal(s.server.connections, 0);
    assert.ok(await refused(s.port));
  },
);

test(
  'close() with an in-flight slow request: it completes with Connection: close, then the server closes',
  { timeout: 10_000 },
  async (t) => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    const s = await startServer(
      async (rq, res) => {
        if (rq.path === '/slow') entered();
        if (rq.path !== '/quick') await gate;
        res.send(`done ${rq.url}`);
      },
      { t },
    );
    const busy = await RawClient.connect(s.port);
    const idle = await RawClient.connect(s.port);
    await idle.send(req('GET', '/quick'));
    await idle.waitResponses(1);
    await busy.send(Buffer.concat([req('GET', '/slow'), req('GET', '/queued')]));
    await inHandler;

    let closed = false;
    const closing = s.close(60_000).then(() => (closed = true));
    // The idle one goes at once, the busy one stays; no new connections.
    await idle.waitClose();
    assert.equal(busy.closed, false);
    assert.ok(await refused(s.port));
    assert.equal(closed, false);

    release();
    await busy.waitClose();
    await closing;
    // Both requests that were already received are answered; the last says the connection ends.
    assert.deepEqual(
      busy.finals.map((r) => r.text()),
      ['done /slow', 'done /queued'],
    );
    assert.equal(busy.finals[1]!.header('connection'), 'close');
    assert.equal(s.server.connections, 0);
  },
);

test(
  'close() with a single in-flight request: its response carries Connection: close',
  { timeout: 10_000 },
  async (t) => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    const s = await startServer(
      async (_rq, res) => {
        entered();
        await gate;
        res.send('late');
      },
      { t },
    );
    const c = await RawClient.connect(s.port);
    await c.send(req('GET', '/'));
    await inHandler;
    const closing = s.close(60_000);
    release();
    await c.waitClose();
    await closing;
    assert.equal(c.finals.length, 1);
    assert.equal(c.finals[0]!.text(), 'late');
    assert.equal(c.finals[0]!.header('connection'), 'close');
  },
);

test(
  'close() with a stuck request: the connection is destroyed at the deadline',
  { timeout: 10_000 },
  async (t) => {
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    const s = await startServer(
      () => {
        entered(); // and never answers
      },
      { t },
    );
    const c = await RawClient.connect(s.port);
    await c.send(req('GET', '/stuck'));
    await inHandler;
    await s.close(300);
    await c.waitClose();
    assert.equal(c.finals.length, 0);
    assert.equal(s.server.connections, 0);
  },
);

test(
  'close() while a request head is half received: not answered as a request, closed by the deadline',
  { timeout: 10_000 },
  async (t) => {
    let calls = 0;
    const s = await startServer(
      (_rq, res) => {
        calls++;
        res.send('x');
      },
      { t },
    );
    const c = await RawClient.connect(s.port);
    await c.send('GET / HTTP/1.1\r\nHost: x\r\n');
    await new Promise((r) => setTimeout(r, 20));
    await s.close(300);
    await c.waitClose();
    assert.equal(calls, 0);
  },
);
