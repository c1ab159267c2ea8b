// Failures: handlers that throw or reject (500 without internals, connection still usable),
// errors carrying their own status, and invalid requests answered with the right status, the
// connection closed, and nothing after the bad request ever parsed as a request (RFC 9112 §9.6,
// §11.2: request smuggling).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RawClient, exchange, req } from '../helpers/raw.js';
import { startServer } from '../helpers/server.js';

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

test('a handler that throws or rejects: 500 without details, the connection stays usable', async (t) => {
  const s = await startServer(
    async (rq, res) => {
      switch (rq.path) {
        case '/sync':
          throw new Error('secret /home/app/db.ts password=hunter2');
        case '/string':
          throw 'a string';
        case '/null':
          throw null;
        case '/reject':
          await Promise.resolve();
          throw new TypeError('secret async detail');
        case '/404':
          throw new HttpError(404, 'no such thing');
        case '/418-hidden':
          throw Object.assign(new Error('not for you'), { statusCode: 418, expose: false });
        case '/503':
          throw new HttpError(503, 'db down: secret');
        case '/weird-status':
          throw new HttpError(1000, 'x');
        default:
          res.send('ok');
      }
    },
    { t },
  );
  const paths = [
    '/sync',
    '/ok',
    '/string',
    '/null',
    '/reject',
    '/404',
    '/418-hidden',
    '/503',
    '/weird-status',
    '/ok',
  ];
  const c = await RawClient.connect(s.port);
  // Sequentially and then all pipelined, on the same connection.
  for (const p of paths) {
    await c.send(req('GET', p));
    await c.waitResponses(c.finals.length + 1);
  }
  await c.send(Buffer.concat(paths.map((p) => req('GET', p))));
  const all = await c.waitResponses(paths.length * 2);
  for (const list of [all.slice(0, paths.length), all.slice(paths.length)]) {
    assert.deepEqual(
      list.map((r) => r.status),
      [500, 200, 500, 500, 500, 404, 418, 503, 500, 200],
    );
    for (const r of list) {
      const body = r.text();
      assert.doesNotMatch(body, /secret|hunter2|\bat\s|\.ts|\.js|TypeError/, body);
      assert.equal(r.header('connection'), undefined, 'still keep-alive');
    }
    assert.match(list[5]!.text(), /no such thing/);
    assert.equal(list[6]!.text().trim(), "I'm a Teapot");
  }
  assert.equal(c.closed, false);
  // Every failure reached onError, with its request.
  assert.equal(s.errors.length, 16);
  assert.equal(s.errors[0]!.req?.url, '/sync');
  c.destroy();
});

test('a handler that fails after the headers went out: the connection is cut', async (t) => {
  const s = await startServer(
    async (_rq, res) => {
      res.write('x'.repeat(30_000)); // past the buffering threshold: chunked, head sent
      await new Promise((r) => setTimeout(r, 5));
      throw new Error('mid-body');
    },
    { t },
  );
  const c = await RawClient.connect(s.port);
  await c.send(Buffer.concat([req('GET', '/'), req('GET', '/next')]));
  await c.waitClose();
  // The client sees an incomplete chunked body, never a complete response.
  assert.equal(c.finals.length, 0);
  assert.match(c.received.toString('latin1'), /^HTTP\/1\.1 200 OK\r\n/);
});

test('a handler that never answers: 503 after responseTimeout, then close', async (t) => {
  const { setSweepResolution } = await import('../../src/util/clock.js');
  setSweepResolution(50);
  t.after(() => setSweepResolution(500));
  const s = await startServer(
    (rq, res) => {
      if (rq.path === '/ok') res.send('ok');
      // else: never answers
    },
    { t, limits: { responseTimeout: 300 } },
  );
  const c = await RawClient.connect(s.port);
  await c.send(Buffer.concat([req('GET', '/ok'), req('GET', '/stuck'), req('GET', '/after')]));
  await c.waitClose();
  assert.deepEqual(
    c.finals.map((r) => r.status),
    [200, 503],
  );
  assert.equal(c.finals[1]!.header('connection'), 'close');
  assert.equal((s.errors[0]!.err as { code?: string }).code, 'RAPID_ERR_RESPONSE_TIMEOUT');
  assert.equal(s.errors[0]!.req?.url, '/stuck');
});

// [name, request bytes, status, limits]
const INVALID: [string, string, number, Record<string, unknown>?][] = [
  ['garbage request line', 'HELLO\r\n\r\n', 400],
  ['lowercase http version', 'GET / http/1.1\r\nHost: x\r\n\r\n', 400],
  ['space in target', 'GET /a b HTTP/1.1\r\nHost: x\r\n\r\n', 400],
  ['bare LF', 'GET / HTTP/1.1\nHost: x\n\n', 400],
  ['space before colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n', 400],
  ['obs-fold', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  2\r\n\r\n', 400],
  ['control char in value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n', 400],
  ['missing Host', 'GET / HTTP/1.1\r\n\r\n', 400],
  ['two Host fields', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
  ['bad Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n', 400],
  ['negative Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n', 400],
  [
    'conflicting Content-Length',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
    400,
  ],
  [
    'Transfer-Encoding with Content-Length',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n',
    400,
  ],
  [
    'Transfer-Encoding not ending in chunked',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n',
    400,
  ],
  [
    'Transfer-Encoding on HTTP/1.0',
    'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    400,
  ],
  [
    'URI too long',
    `GET /${'a'.repeat(300)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    414,
    { maxRequestLineBytes: 256 },
  ],
  [
    'too many headers',
    `GET / HTTP/1.1\r\nHost: x\r\n${'X-A: 1\r\n'.repeat(11)}\r\n`,
    431,
    { maxHeaderCount: 10 },
  ],
  [
    'header section too large',
    `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(600)}\r\n\r\n`,
    431,
    { maxHeaderBytes: 512 },
  ],
  [
    'unknown method (rejectUnknownMethods)',
    'BREW / HTTP/1.1\r\nHost: x\r\n\r\n',
    501,
    { rejectUnknownMethods: true },
  ],
  ['HTTP/2.0', 'GET / HTTP/2.0\r\nHost: x\r\n\r\n', 505],
  ['HTTP/3.1', 'GET / HTTP/3.1\r\nHost: x\r\n\r\n', 505],
];

test('invalid requests: right status, Connection: close, closed, and a smuggled request is never handled', async (t) => {
  for (const [name, bytes, status, limits] of INVALID) {
    await t.test(name, async (tt) => {
      const handled: string[] = [];
      const s = await startServer(
        (rq, res) => {
          handled.push(rq.url);
          res.send('handled');
        },
        { t: tt, limits: limits as never },
      );
      const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
      for (const pieceSize of [undefined, 1]) {
        const { client, responses } = await exchange(s.port, bytes + smuggled, { pieceSize });
        assert.equal(responses.length, 1, `${name}: one response`);
        assert.equal(responses[0]!.status, status, name);
        assert.equal(responses[0]!.header('connection'), 'close', name);
        assert.ok(client.closed, name);
        assert.deepEqual(handled, [], `${name}: the handler never ran`);
      }
      // The same bad request after a good one on the same connection: the good one is
      // answered, the bad one gets its error, the smuggled one nothing.
      const { responses } = await exchange(
        s.port,
        Buffer.concat([req('GET', '/good'), Buffer.from(bytes + smuggled, 'latin1')]),
      );
      assert.deepEqual(
        responses.map((r) => r.status),
        [200, status],
        name,
      );
      assert.deepEqual(handled, ['/good'], name);
    });
  }
});

test('an invalid chunked body: the handler reading it fails with 400, the rest is never parsed', async (t) => {
  const handled: string[] = [];
  const s = await startServer(
    async (rq, res) => {
      handled.push(rq.url);
      const body = await rq.text();
      res.send(body);
    },
    { t },
  );
  for (const badBody of [
    'zz\r\nabc\r\n0\r\n\r\n', // chunk size not hex
    '3\r\nabcX\r\n0\r\n\r\n', // data not followed by CRLF
    `${'f'.repeat(20)}\r\n`, // size overflow
    '3;a=\x01\r\nabc\r\n0\r\n\r\n', // bad extension
  ]) {
    handled.length = 0;
    const { client, responses } = await exchange(
      s.port,
      `POST /te HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${badBody}GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    assert.deepEqual(
      responses.map((r) => r.status),
      [400],
      JSON.stringify(badBody),
    );
    assert.equal(responses[0]!.header('connection'), 'close');
    assert.ok(client.closed);
    assert.deepEqual(handled, ['/te']);
  }
});
