// Persistence (RFC 9112 §9.3): keep-alive by version and Connection header, Connection: close
// honoured in both directions, and limits.maxRequestsPerConnection.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { Pool } from 'undici';
import { RawClient, exchange, req } from '../helpers/raw.js';
import { startServer } from '../helpers/server.js';

const run = promisify(execFile);

/** A handler that answers with the request's method, target and remote port. */
function echoServer(t: TestContext, limits = {}) {
  const calls: string[] = [];
  return startServer(
    (rq, res) => {
      calls.push(`${rq.method} ${rq.url}`);
      res.send(`${rq.method} ${rq.url} ${rq.remotePort}`);
    },
    { t, limits },
  ).then((s) => ({ ...s, calls }));
}

test('HTTP/1.0 without Connection: keep-alive is closed after the response', async (t) => {
  const s = await echoServer(t);
  const { client, responses } = await exchange(s.port, 'GET /a HTTP/1.0\r\n\r\n');
  assert.equal(responses.length, 1);
  const r = responses[0]!;
  assert.equal(r.status, 200);
  assert.equal(r.header('connection'), 'close');
  assert.match(r.text(), /^GET \/a /);
  assert.ok(client.closed);
});

test('HTTP/1.0 with Connection: keep-alive stays open and says so', async (t) => {
  const s = await echoServer(t);
  const c = await RawClient.connect(s.port);
  await c.send('GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
  const [r1] = await c.waitResponses(1);
  assert.equal(r1!.header('connection'), 'keep-alive');
  assert.equal(r1!.framing, 'length');
  await c.send('GET /2 HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n');
  const [, r2] = await c.waitResponses(2);
  assert.match(r2!.text(), /^GET \/2 /);
  assert.equal(c.closed, false);
  // The second request without keep-alive ends the connection.
  await c.send('GET /3 HTTP/1.0\r\n\r\n');
  await c.waitClose();
  assert.equal(c.finals.length, 3);
  assert.equal(c.finals[2]!.header('connection'), 'close');
  assert.deepEqual(s.calls, ['GET /1', 'GET /2', 'GET /3']);
});

test('HTTP/1.1 is persistent by default: several requests on one connection', async (t) => {
  const s = await echoServer(t);
  const c = await RawClient.connect(s.port);
  for (let i = 1; i <= 5; i++) {
    await c.send(req('GET', `/${i}`));
    const rs = await c.waitResponses(i);
    const r = rs[i - 1]!;
    assert.equal(r.status, 200);
    assert.equal(r.header('connection'), undefined, 'no Connection header on a 1.1 keep-alive');
    assert.equal(r.text(), `GET /${i} ${c.socket.localPort}`);
  }
  assert.equal(c.closed, false);
  assert.equal(s.server.connections, 1);
  c.destroy();
});

test('Connection: close from the client: Connection: close in the response, then the server closes', async (t) => {
  const s = await echoServer(t);
  // A second request pipelined after the close one must not be handled (RFC 9112 §9.6).
  const { client, responses } = await exchange(
    s.port,
    Buffer.concat([req('GET', '/last', { Connection: 'close' }), req('GET', '/never')]),
  );
  assert.equal(responses.length, 1);
  assert.equal(responses[0]!.header('connection'), 'close');
  assert.ok(client.closed);
  assert.deepEqual(s.calls, ['GET /last']);
});

test('Connection tokens are case-insensitive and found in lists', async (t) => {
  const s = await echoServer(t);
  for (const value of ['CLOSE', 'keep-alive, close', 'foo ,  Close']) {
    const { responses } = await exchange(s.port, req('GET', '/', { Connection: value }));
    assert.equal(responses.length, 1, value);
    assert.equal(responses[0]!.header('connection'), 'close', value);
  }
});

test('a handler that sets Connection: close closes the connection after its response', async (t) => {
  let n = 0;
  const s = await startServer(
    (_rq, res) => {
      n++;
      res.setHeader('Connection', 'close');
      res.send('bye');
    },
    { t },
  );
  const { client, responses } = await exchange(
    s.port,
    Buffer.concat([req('GET', '/'), req('GET', '/second')]),
  );
  assert.equal(responses.length, 1);
  assert.equal(responses[0]!.header('connection'), 'close');
  assert.equal(responses[0]!.all('connection').length, 1);
  assert.ok(client.closed);
  // The second request may have been dispatched, but it is never answered.
  assert.ok(n >= 1);
});

test('maxRequestsPerConnection: the last response carries Connection: close, then the socket closes', async (t) => {
  const s = await echoServer(t, { maxRequestsPerConnection: 3 });
  const c = await RawClient.connect(s.port);
  for (let i = 1; i <= 2; i++) {
    await c.send(req('GET', `/${i}`));
    const r = (await c.waitResponses(i))[i - 1]!;
    assert.equal(r.header('connection'), undefined);
  }
  await c.send(req('GET', '/3'));
  await c.waitClose();
  assert.equal(c.finals.length, 3);
  assert.equal(c.finals[2]!.header('connection'), 'close');

  // Pipelined past the limit: only the first three are handled and answered.
  s.calls.length = 0;
  const p = await exchange(s.port, Buffer.concat([1, 2, 3, 4, 5].map((i) => req('GET', `/p${i}`))));
  assert.deepEqual(
    p.responses.map((r) => r.text().split(' ')[1]),
    ['/p1', '/p2', '/p3'],
  );
  assert.equal(p.responses[2]!.header('connection'), 'close');
  assert.deepEqual(s.calls, ['GET /p1', 'GET /p2', 'GET /p3']);
});

test('undici reuses one keep-alive connection for sequential requests', async (t) => {
  const s = await echoServer(t);
  const pool = new Pool(s.origin, { connections: 1 });
  t.after(() => pool.close());
  const ports = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const r = await pool.request({ path: `/u${i}`, method: 'GET' });
    assert.equal(r.statusCode, 200);
    const text = await r.body.text();
    ports.add(text.split(' ')[2]!);
  }
  assert.equal(ports.size, 1, 'every request came over the same connection');
});

test('curl reuses the connection for two URLs', async (t) => {
  const s = await echoServer(t);
  const { stdout, stderr } = await run('curl', ['-sS', '-v', `${s.origin}/one`, `${s.origin}/two`]);
  const bodies = stdout.match(/GET \/\w+ \d+/g) ?? [];
  assert.equal(bodies.length, 2);
  assert.equal(bodies[0]!.split(' ')[2], bodies[1]!.split(' ')[2], 'same client port');
  assert.match(stderr, /Re-using existing connection|Reusing existing/i);
});
