// Responses on the wire: headers (case-insensitive, multi-value, Set-Cookie), whole bodies
// (string/UTF-8, Buffer, Uint8Array, JSON), streamed bodies (Content-Length when small, chunked
// when large, close-delimited on HTTP/1.0), files, 204/304, HEAD (RFC 9110 §9.3.2), header
// injection, the Date header (RFC 9110 §6.6.1).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import type { RapidResponse } from '../../src/core/types.js';
import { RawClient, exchange, req } from '../helpers/raw.js';
import { startServer } from '../helpers/server.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const dir = mkdtempSync(join(tmpdir(), 'rapid-res-'));
const FILE = join(dir, 'big.bin');
const FILE_DATA = randomBytes(5 * 1024 * 1024 + 123);
writeFileSync(FILE, FILE_DATA);
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const LARGE = 'L'.repeat(100 * 1024);
const NON_ASCII = 'héllo wörld ✓ 😀';

/** Every kind of response, by path. */
async function responder(path: string, res: RapidResponse): Promise<void> {
  switch (path) {
    case '/ascii':
      return res.send('hello');
    case '/utf8':
      return res.send(NON_ASCII);
    case '/buffer':
      return res.send(Buffer.from([1, 2, 3, 0, 255]));
    case '/uint8': {
      // A view in the middle of a larger ArrayBuffer: only the view's bytes go out.
      const ab = new Uint8Array([9, 9, 1, 2, 3, 9, 9]);
      return res.send(new Uint8Array(ab.buffer, 2, 3));
    }
    case '/json':
      return res.json({ a: 1, s: NON_ASCII });
    case '/empty':
      return res.send();
    case '/small-stream':
      res.setHeader('Content-Type', 'text/plain');
      res.write('a');
      res.write(Buffer.from('b'));
      await Promise.resolve();
      res.write('ü');
      return res.end('c');
    case '/large-stream':
      for (let i = 0; i < LARGE.length; i += 10_000) {
        if (!res.write(LARGE.slice(i, i + 10_000))) await res.drain();
      }
      return res.end();
    case '/file':
      res.setHeader('Content-Type', 'application/octet-stream');
      return res.stream(createReadStream(FILE));
    case '/204':
      return res.status(204).send('must not be sent');
    case '/304':
      res.setHeader('ETag', '"x"');
      return res.status(304).send('must not be sent');
    case '/204-stream':
      res.status(204);
      res.write('nope');
      return res.end();
    default:
      return res.status(404).send('unknown');
  }
}

test('bodies: string, UTF-8, Buffer, Uint8Array view, JSON, empty, with exact Content-Length', async (t) => {
  const s = await startServer((rq, res) => responder(rq.path, res), { t });
  const paths = ['/ascii', '/utf8', '/buffer', '/uint8', '/json', '/empty'];
  const { client, responses } = await exchange(
    s.port,
    Buffer.concat(paths.map((p) => req('GET', p))),
    { responses: paths.length },
  );
  const [ascii, utf8, buffer, uint8, json, empty] = responses as [
    (typeof responses)[0],
    (typeof responses)[0],
    (typeof responses)[0],
    (typeof responses)[0],
    (typeof responses)[0],
    (typeof responses)[0],
  ];
  assert.equal(ascii.text(), 'hello');
  assert.equal(ascii.header('content-length'), '5');
  assert.equal(utf8.text(), NON_ASCII);
  assert.equal(utf8.header('content-length'), String(Buffer.byteLength(NON_ASCII)));
  assert.deepEqual([...buffer.body], [1, 2, 3, 0, 255]);
  assert.equal(buffer.header('content-length'), '5');
  assert.deepEqual([...uint8.body], [1, 2, 3]);
  assert.equal(uint8.header('content-length'), '3');
  assert.equal(json.header('content-type'), 'application/json; charset=utf-8');
  assert.deepEqual(JSON.parse(json.text()), { a: 1, s: NON_ASCII });
  assert.equal(empty.header('content-length'), '0');
  assert.equal(empty.body.length, 0);
  for (const r of responses) {
    assert.equal(r.version, 'HTTP/1.1');
    assert.equal(r.all('content-length').length, 1);
    assert.equal(r.all('date').length, 1);
  }
  client.destroy();
});

test('streamed bodies: small ones get a Content-Length, large ones chunked (1.1) or close-delimited (1.0)', async (t) => {
  const s = await startServer((rq, res) => responder(rq.path, res), { t });
  const { client, responses } = await exchange(
    s.port,
    Buffer.concat([req('GET', '/small-stream'), req('GET', '/large-stream'), req('GET', '/ascii')]),
    { responses: 3 },
  );
  const [small, large, after] = responses as [
    (typeof responses)[0],
    (typeof responses)[0],
    (typeof responses)[0],
  ];
  assert.equal(small.framing, 'length');
  assert.equal(small.text(), 'abüc');
  assert.equal(small.header('content-length'), String(Buffer.byteLength('abüc')));
  assert.equal(small.header('content-type'), 'text/plain');
  assert.equal(large.framing, 'chunked');
  assert.equal(large.header('content-length'), undefined);
  assert.equal(large.text(), LARGE);
  assert.equal(after.text(), 'hello');
  client.destroy();

  // HTTP/1.0 has no chunked coding: the body ends with the connection.
  const h10 = await exchange(
    s.port,
    'GET /large-stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
  );
  assert.equal(h10.responses.length, 1);
  assert.equal(h10.responses[0]!.framing, 'close');
  assert.equal(h10.responses[0]!.header('connection'), 'close');
  assert.equal(h10.responses[0]!.header('transfer-encoding'), undefined);
  assert.equal(h10.responses[0]!.text(), LARGE);
  // A small stream on 1.0 keeps a Content-Length and the connection.
  const small10 = await exchange(
    s.port,
    'GET /small-stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
    { responses: 1 },
  );
  assert.equal(small10.responses[0]!.header('connection'), 'keep-alive');
  assert.equal(small10.responses[0]!.text(), 'abüc');
  small10.client.destroy();
});

test('res.stream() of a multi-MB file, over raw sockets and undici', async (t) => {
  const s = await startServer((rq, res) => responder(rq.path, res), { t });
  const { client, responses } = await exchange(
    s.port,
    Buffer.concat([req('GET', '/file'), req('GET', '/ascii')]),
    { responses: 2 },
  );
  assert.equal(responses[0]!.body.length, FILE_DATA.length);
  assert.equal(sha(responses[0]!.body), sha(FILE_DATA));
  assert.equal(responses[1]!.text(), 'hello');
  client.destroy();
  const r = await request(`${s.origin}/file`);
  assert.equal(r.statusCode, 200);
  assert.equal(sha(Buffer.from(await r.body.arrayBuffer())), sha(FILE_DATA));
});

test(
  'a response that ends the connection after its last write was already flushed still closes it',
  { timeout: 10_000 },
  async (t) => {
    // The last body bytes leave on an earlier turn than end(): the end has nothing left to write
    // but must still end the socket (close-delimited HTTP/1.0 bodies depend on it).
    const s = await startServer(
      async (_rq, res) => {
        res.write('x'.repeat(20_000));
        await new Promise((r) => setTimeout(r, 5));
        res.end();
      },
      { t },
    );
    const h10 = await exchange(s.port, 'GET / HTTP/1.0\r\n\r\n');
    assert.equal(h10.responses[0]!.framing, 'close');
    assert.equal(h10.responses[0]!.body.length, 20_000);
    const close = await exchange(s.port, req('GET', '/', { Connection: 'close' }));
    assert.equal(close.responses[0]!.body.length, 20_000);
    const head = await exchange(s.port, req('HEAD', '/', { Connection: 'close' }), {
      isHead: () => true,
    });
    assert.equal(head.responses.length, 1);
    assert.ok(head.client.closed);
  },
);

test('204 and 304 carry no body (and 204 no Content-Length); the next response still parses', async (t) => {
  const s = await startServer((rq, res) => responder(rq.path, res), { t });
  const { client, responses } = await exchange(
    s.port,
    Buffer.concat([
      req('GET', '/204'),
      req('GET', '/ascii'),
      req('GET', '/304'),
      req('GET', '/ascii'),
      req('GET', '/204-stream'),
      req('GET', '/ascii'),
    ]),
    { responses: 6 },
  );
  assert.deepEqual(
    responses.map((r) => r.status),
    [204, 200, 304, 200, 204, 200],
  );
  assert.equal(responses[0]!.header('content-length'), undefined);
  assert.equal(responses[0]!.header('transfer-encoding'), undefined);
  assert.equal(responses[2]!.header('etag'), '"x"');
  assert.equal(responses[4]!.header('transfer-encoding'), undefined);
  for (const i of [1, 3, 5]) assert.equal(responses[i]!.text(), 'hello');
  // Nothing but the six responses was received.
  assert.equal(client.reader.rest.length, 0);
  client.destroy();
});

test('HEAD gets the headers GET would get (Content-Length included) and no body', async (t) => {
  const s = await startServer((rq, res) => responder(rq.path, res), { t });
  const paths = ['/ascii', '/utf8', '/buffer', '/json', '/small-stream', '/large-stream', '/file'];
  for (const path of paths) {
    // HEAD then GET on one connection: body bytes after the HEAD would corrupt the second.
    const { client, responses } = await exchange(
      s.port,
      Buffer.concat([req('HEAD', path), req('GET', path), req('HEAD', path)]),
      { responses: 3, isHead: (i) => i !== 1 },
    );
    const [head, get, head2] = responses as [
      (typeof responses)[0],
      (typeof responses)[0],
      (typeof responses)[0],
    ];
    const strip = (r: typeof head) => r.headers.filter(([k]) => k !== 'date');
    assert.deepEqual(strip(head), strip(get), path);
    assert.deepEqual(strip(head2), strip(get), path);
    assert.equal(head.body.length, 0);
    assert.equal(client.reader.rest.length, 0, `${path}: no stray body bytes`);
    client.destroy();
  }
});

test('header names are case-insensitive; arrays and appendHeader make separate lines; Set-Cookie stays separate', async (t) => {
  const s = await startServer(
    (_rq, res) => {
      res.setHeader('X-Thing', 'one');
      res.setHeader('x-thing', 'two'); // replaces
      res.setHeader('X-Multi', ['a', 'b']);
      res.appendHeader('x-multi', 'c');
      res.appendHeader('Set-Cookie', 'a=1; Path=/');
      res.appendHeader('set-cookie', 'b=2, c=3; Expires=Wed, 21 Oct 2026 07:28:00 GMT');
      res.setHeader('X-Num', 42);
      res.setHeader('X-Gone', 'x');
      res.removeHeader('x-GONE');
      // Framing is the engine's: a wrong length or coding from the handler is never sent.
      res.setHeader('Content-Length', '999');
      res.setHeader('Transfer-Encoding', 'gzip');
      res.send(
        JSON.stringify({
          get: res.getHeader('X-THING'),
          multi: res.getHeader('X-Multi'),
          has: res.hasHeader('SET-COOKIE'),
          gone: res.hasHeader('x-gone'),
        }),
      );
    },
    { t },
  );
  const { client, responses } = await exchange(s.port, req('GET', '/'), { responses: 1 });
  const r = responses[0]!;
  assert.deepEqual(r.all('x-thing'), ['two']);
  assert.deepEqual(r.all('x-multi'), ['a', 'b', 'c']);
  assert.deepEqual(r.all('set-cookie'), [
    'a=1; Path=/',
    'b=2, c=3; Expires=Wed, 21 Oct 2026 07:28:00 GMT',
  ]);
  assert.equal(r.header('x-num'), '42');
  assert.equal(r.header('x-gone'), undefined);
  assert.equal(r.header('transfer-encoding'), undefined);
  assert.deepEqual(r.all('content-length'), [String(r.body.length)]);
  assert.deepEqual(JSON.parse(r.text()), { get: 'two', multi: 'a, b, c', has: true, gone: false });
  // The name is sent as the handler spelled it.
  assert.match(r.head, /\r\nX-Num: 42\r\n/);
  client.destroy();

  const u = await request(s.origin);
  assert.deepEqual(u.headers['set-cookie'], [
    'a=1; Path=/',
    'b=2, c=3; Expires=Wed, 21 Oct 2026 07:28:00 GMT',
  ]);
  await u.body.dump();
  const f = await fetch(s.origin);
  assert.equal(f.headers.getSetCookie().length, 2);
  await f.arrayBuffer();
});

test('CR/LF in a header value throws RAPID_ERR_INVALID_HEADER: 500, nothing injected, connection usable', async (t) => {
  const codes: string[] = [];
  const s = await startServer(
    (rq, res) => {
      if (rq.path === '/inject') {
        try {
          res.setHeader('X-Evil', 'a\r\nSet-Cookie: pwned=1');
        } catch (err) {
          codes.push((err as { code: string }).code);
          throw err;
        }
      }
      if (rq.path === '/inject-name') res.setHeader('X-Evil\r\nSet-Cookie', 'pwned=1');
      if (rq.path === '/inject-array') res.setHeader('X-Evil', ['ok', 'b\nSet-Cookie: x=1']);
      if (rq.path === '/inject-nul') res.appendHeader('X-Evil', 'a\0b');
      res.send('fine');
    },
    { t },
  );
  const paths = ['/inject', '/inject-name', '/inject-array', '/inject-nul', '/ok'];
  const { client, responses } = await exchange(
    s.port,
    Buffer.concat(paths.map((p) => req('GET', p))),
    { responses: paths.length },
  );
  assert.deepEqual(
    responses.map((r) => r.status),
    [500, 500, 500, 500, 200],
  );
  for (const r of responses) {
    assert.equal(r.header('set-cookie'), undefined);
    assert.equal(r.header('x-evil'), undefined);
  }
  assert.deepEqual(codes, ['RAPID_ERR_INVALID_HEADER']);
  assert.ok(
    s.errors.every((e) => (e.err as { code?: string }).code === 'RAPID_ERR_INVALID_HEADER'),
  );
  assert.equal(s.errors.length, 4);
  client.destroy();
});

test('every response has one well-formed, current Date header', async (t) => {
  const s = await startServer(
    (rq, res) => {
      if (rq.path === '/stream') {
        res.write('x'.repeat(20_000));
        res.end();
      } else if (rq.path === '/error') throw new Error('boom');
      else res.send('x');
    },
    { t },
  );
  const before = Date.now();
  const { client, responses } = await exchange(
    s.port,
    Buffer.concat([req('GET', '/'), req('GET', '/stream'), req('GET', '/error')]),
    { responses: 3 },
  );
  // Plus an engine-made error response (a parse error).
  const bad = await exchange(s.port, 'BAD\r\n\r\n');
  for (const r of [...responses, ...bad.responses]) {
    const dates = r.all('date');
    assert.equal(dates.length, 1);
    // IMF-fixdate (RFC 9110 §5.6.7)
    assert.match(
      dates[0]!,
      /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/,
    );
    const when = Date.parse(dates[0]!);
    assert.ok(Math.abs(when - before) < 5000, `Date ${dates[0]} is current`);
  }
  client.destroy();
});

test(
  'a handler-set Content-Length on a streamed body: used when right, connection closed when wrong',
  { timeout: 10_000 },
  async (t) => {
    const s = await startServer(
      (rq, res) => {
        const declared = Number(rq.header('x-declared'));
        const actual = rq.header('x-actual') as string;
        res.setHeader('Content-Length', declared);
        res.write(actual);
        res.end();
      },
      { t },
    );
    // Right: a normal keep-alive response.
    const ok = await exchange(
      s.port,
      Buffer.concat([
        req('GET', '/', { 'X-Declared': 5, 'X-Actual': 'hello' }),
        req('GET', '/', { 'X-Declared': 2, 'X-Actual': 'hi' }),
      ]),
      { responses: 2 },
    );
    assert.deepEqual(
      ok.responses.map((r) => r.text()),
      ['hello', 'hi'],
    );
    ok.client.destroy();

    // Too short or too long: the response cannot be framed as declared. The client must never
    // see bytes of one response taken for another: the connection is closed and the bytes sent
    // never exceed the declared length.
    for (const [declared, actual] of [
      [10, 'abc'],
      [2, 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil'],
    ] as const) {
      const c = await RawClient.connect(s.port);
      await c.send(
        Buffer.concat([
          req('GET', '/', { 'X-Declared': declared, 'X-Actual': actual }),
          req('GET', '/', { 'X-Declared': 2, 'X-Actual': 'ok' }),
        ]),
      );
      await c.waitClose();
      const texts = c.finals.map((r) => r.text());
      assert.ok(!texts.includes('evil'), `declared ${declared}: ${JSON.stringify(texts)}`);
      assert.ok(c.finals.length <= 1, `declared ${declared}: ${c.finals.length} responses`);
    }
    // The handler learns why, through onError.
    assert.deepEqual(
      s.errors.map((e) => (e.err as { code?: string }).code),
      ['RAPID_ERR_RESPONSE_LENGTH_MISMATCH', 'RAPID_ERR_RESPONSE_LENGTH_MISMATCH'],
    );
  },
);
