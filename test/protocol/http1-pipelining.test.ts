// Pipelining (RFC 9112 §9.3.2): requests handled in order, responses written in request order
// whatever order handlers finish in, and reading paused (memory bounded) while a client sends
// without reading.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RawClient, chunked, exchange, req, settled } from '../helpers/raw.js';
import { startServer } from '../helpers/server.js';

test('20 requests in one write: handled in order, answered in order', async (t) => {
  const order: string[] = [];
  const s = await startServer(
    (rq, res) => {
      order.push(rq.url);
      res.send(`r${rq.url}`);
    },
    { t },
  );
  const batch = Buffer.concat(Array.from({ length: 20 }, (_, i) => req('GET', `/${i}`)));
  const { client, responses } = await exchange(s.port, batch, { responses: 20 });
  assert.deepEqual(
    responses.map((r) => r.text()),
    Array.from({ length: 20 }, (_, i) => `r/${i}`),
  );
  assert.deepEqual(
    order,
    Array.from({ length: 20 }, (_, i) => `/${i}`),
  );
  client.destroy();
});

test('responses stay in request order when earlier handlers are slower', async (t) => {
  const s = await startServer(
    async (rq, res) => {
      const i = Number(rq.path.slice(1));
      // The first request is the slowest; the last is immediate.
      await sleep((20 - i) * 3);
      res.setHeader('X-Index', i);
      if (i % 3 === 0) {
        // A streamed response in the middle of the pipeline.
        res.write(`s${i}-`);
        await sleep(1);
        res.end('end');
      } else res.send(`r${i}`);
    },
    { t },
  );
  const batch = Buffer.concat(Array.from({ length: 20 }, (_, i) => req('GET', `/${i}`)));
  const { client, responses } = await exchange(s.port, batch, { responses: 20 });
  for (let i = 0; i < 20; i++) {
    const r = responses[i]!;
    assert.equal(r.header('x-index'), String(i));
    assert.equal(r.text(), i % 3 === 0 ? `s${i}-end` : `r${i}`);
  }
  client.destroy();
});

test('pipelined requests mixed with Content-Length and chunked bodies', async (t) => {
  const s = await startServer(
    async (rq, res) => {
      const body = await rq.text();
      await sleep(body.length % 5);
      res.send(`${rq.method} ${rq.url} [${body}]`);
    },
    { t },
  );
  const parts: Buffer[] = [];
  const expected: string[] = [];
  for (let i = 0; i < 20; i++) {
    if (i % 3 === 0) {
      parts.push(req('GET', `/g${i}`));
      expected.push(`GET /g${i} []`);
    } else if (i % 3 === 1) {
      const body = `cl-body-${i}`.repeat(i);
      parts.push(req('POST', `/c${i}`, {}, body));
      expected.push(`POST /c${i} [${body}]`);
    } else {
      const pieces = [`chunk${i}`, 'x'.repeat(i * 10), 'ü'];
      parts.push(
        req('PUT', `/t${i}`, { 'Transfer-Encoding': 'chunked' }, chunked(pieces, ['X-T: 1'])),
      );
      expected.push(`PUT /t${i} [${pieces.join('')}]`);
    }
  }
  const all = Buffer.concat(parts);
  // One write, then the same bytes one at a time.
  for (const pieceSize of [undefined, 1]) {
    const { client, responses } = await exchange(s.port, all, { responses: 20, pieceSize });
    assert.deepEqual(
      responses.map((r) => r.text()),
      expected,
    );
    client.destroy();
  }
});

test('a client that sends thousands of requests and never reads: reading pauses, memory stays bounded, others are served', async (t) => {
  const BODY = 'x'.repeat(16 * 1024);
  let handled = 0;
  const s = await startServer(
    (_rq, res) => {
      handled++;
      res.send(BODY);
    },
    { t },
  );
  const serverSockets: net.Socket[] = [];
  s.server.netServer.on('connection', (sock: net.Socket) => serverSockets.push(sock));

  const N = 4000;
  // ~256 bytes a request: 1 MB in all, far more than the socket's read buffer.
  const one = req('GET', '/flood', { 'X-Pad': 'p'.repeat(200) });
  const flood = Buffer.concat(Array.from({ length: N }, () => one));
  const lazy = net.connect({ port: s.port, host: '127.0.0.1' });
  lazy.pause(); // never read
  t.after(() => lazy.destroy());
  await new Promise<void>((resolve) => lazy.once('connect', () => resolve()));
  lazy.write(flood);

  // The server stops reading: what it has accepted from the socket stops growing, well short of
  // what was sent, and the handler has run for a bounded number of requests.
  await settled(() => handled, { ms: 50, stable: 6 });
  const readBytes = await settled(() => serverSockets[0]!.bytesRead, { ms: 50, stable: 4 });
  assert.equal(serverSockets.length, 1);
  assert.ok(
    readBytes < flood.length,
    `server read ${readBytes} of ${flood.length} bytes although the client reads nothing`,
  );
  assert.ok(handled < N, `handled ${handled} of ${N}`);
  assert.equal(s.server.connections, 1);

  // Meanwhile another client is served normally.
  const other = await fetch(`${s.origin}/other`);
  assert.equal(other.status, 200);
  assert.equal((await other.text()).length, BODY.length);

  // Once the client reads, every response arrives, in full.
  let received = 0;
  let firstLength = 0;
  const done = new Promise<void>((resolve, reject) => {
    lazy.on('data', (chunk: Buffer) => {
      if (firstLength === 0) {
        const headEnd = chunk.indexOf('\r\n\r\n');
        assert.ok(headEnd > 0);
        firstLength = headEnd + 4 + BODY.length;
      }
      received += chunk.length;
      if (received === firstLength * N) resolve();
      else if (firstLength > 0 && received > firstLength * N) reject(new Error('too many bytes'));
    });
    lazy.on('close', () => reject(new Error(`closed after ${received} bytes`)));
  });
  lazy.resume();
  await done;
  assert.equal(handled, N + 1);
});

test('a Connection: close request in the middle of a pipeline ends it there', async (t) => {
  const calls: string[] = [];
  const s = await startServer(
    (rq, res) => {
      calls.push(rq.url);
      res.send(rq.url);
    },
    { t },
  );
  const batch = Buffer.concat([
    req('GET', '/1'),
    req('POST', '/2', {}, 'body'),
    req('GET', '/3', { Connection: 'close' }),
    req('GET', '/4'),
    req('GET', '/5'),
  ]);
  const { client, responses } = await exchange(s.port, batch);
  assert.deepEqual(
    responses.map((r) => r.text()),
    ['/1', '/2', '/3'],
  );
  assert.equal(responses[2]!.header('connection'), 'close');
  assert.deepEqual(calls, ['/1', '/2', '/3']);
  assert.ok(client.closed);
});

test('a pipeline sent, then half-closed: every request is still answered', async (t) => {
  // Answers on a later turn, so the pipeline limit is reached and reading pauses.
  const s = await startServer((rq, res) => void setImmediate(() => res.send(rq.url)), { t });
  // Enough bytes for several socket reads, so the end of input arrives while reading is paused
  // for the pipeline limit.
  const N = 3000;
  const batch = Buffer.concat(Array.from({ length: N }, (_, i) => req('GET', `/${i}`)));
  const c = await RawClient.connect(s.port, { allowHalfOpen: true });
  await c.send(batch);
  c.end();
  await c.waitClose();
  assert.equal(c.finals.length, N);
  assert.deepEqual(
    c.finals.map((r) => r.text()),
    Array.from({ length: N }, (_, i) => `/${i}`),
  );
});

test('a streamed response waiting behind a slow one is not buffered without bound', async (t) => {
  const CHUNK = Buffer.alloc(16 * 1024, 's');
  const TOTAL = 2000; // 32 MB if it were all pulled
  let pulled = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const s = await startServer(
    async (rq, res) => {
      if (rq.path === '/slow') {
        await gate;
        res.send('slow');
        return;
      }
      await res.stream(
        (async function* () {
          for (let i = 0; i < TOTAL; i++) {
            pulled++;
            yield CHUNK;
          }
        })(),
      );
    },
    { t },
  );
  const c = await RawClient.connect(s.port);
  await c.send(Buffer.concat([req('GET', '/slow'), req('GET', '/stream')]));
  // The second handler runs while the first has not answered: it may fill a small buffer,
  // then must wait for its turn instead of pulling its whole source into memory.
  const stalled = await settled(() => pulled, { ms: 40, stable: 5 });
  assert.ok(stalled < 16, `pulled ${stalled} of ${TOTAL} chunks while waiting behind /slow`);
  release();
  const [slow, streamed] = await c.waitResponses(2);
  assert.equal(slow!.text(), 'slow');
  assert.equal(streamed!.body.length, CHUNK.length * TOTAL);
  c.destroy();
});
