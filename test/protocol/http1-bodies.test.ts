// Request bodies (RFC 9112 §6, §7): Content-Length and chunked, read whole or as a stream with
// backpressure, the body limit (413) at the head and mid-body, bodies a handler ignores, trailers.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type net from 'node:net';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import type { RapidRequest } from '../../src/core/types.js';
import { RawClient, chunked, exchange, req, settled } from '../helpers/raw.js';
import { startServer } from '../helpers/server.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

test('Content-Length and chunked bodies via body(), text() and json(), whole and byte by byte', async (t) => {
  const seen: { url: string; body: unknown; trailers: readonly string[] }[] = [];
  let count = 0;
  const s = await startServer(
    async (rq, res) => {
      const i = count++; // handlers start in request order; they finish in any order
      let body: unknown;
      if (rq.path === '/json') body = await rq.json();
      else if (rq.path === '/text') body = await rq.text();
      else body = (await rq.body()).toString('hex');
      seen[i] = { url: rq.url, body, trailers: rq.trailers };
      res.json({ cl: rq.contentLength, hasBody: rq.hasBody });
    },
    { t },
  );
  const obj = { a: [1, 2, 3], s: 'ü €' };
  const bin = Buffer.from([0, 1, 2, 255, 13, 10, 13, 10, 48]);
  const requests = Buffer.concat([
    req('POST', '/json', { 'Content-Type': 'application/json' }, JSON.stringify(obj)),
    req('POST', '/text', {}, 'héllo wörld'),
    req('POST', '/bin', {}, bin),
    req(
      'POST',
      '/json',
      { 'Transfer-Encoding': 'chunked' },
      chunked(['{"a":[1,2,3],', '"s":"ü €"}']),
    ),
    req(
      'POST',
      '/text',
      { 'Transfer-Encoding': 'chunked', Trailer: 'X-Sum' },
      chunked(['hé', 'llo', ' wörld'], ['X-Sum: 42', 'X-Other: b']),
    ),
    req(
      'POST',
      '/bin',
      { 'Transfer-Encoding': 'chunked' },
      chunked([bin.subarray(0, 4), bin.subarray(4)]),
    ),
    req('GET', '/bin'),
    req('POST', '/bin', { 'Content-Length': 0 }),
  ]);
  for (const pieceSize of [undefined, 1, 7]) {
    seen.length = 0;
    count = 0;
    const { client, responses } = await exchange(s.port, requests, {
      responses: 8,
      pieceSize,
    });
    assert.deepEqual(
      responses.map((r) => JSON.parse(r.text())),
      [
        { cl: 25, hasBody: true },
        { cl: 13, hasBody: true },
        { cl: 9, hasBody: true },
        { cl: -1, hasBody: true },
        { cl: -1, hasBody: true },
        { cl: -1, hasBody: true },
        { cl: 0, hasBody: false },
        { cl: 0, hasBody: false },
      ].map((x, i) => (i === 0 ? { ...x, cl: Buffer.byteLength(JSON.stringify(obj)) } : x)),
    );
    assert.deepEqual(
      seen.map((x) => x.body),
      [obj, 'héllo wörld', bin.toString('hex'), obj, 'héllo wörld', bin.toString('hex'), '', ''],
    );
    // Trailers of a chunked body are visible once the body has been read.
    assert.deepEqual(seen[4]!.trailers, ['x-sum', '42', 'x-other', 'b']);
    assert.deepEqual(seen[3]!.trailers, []);
    client.destroy();
  }
});

test('a streamed body with backpressure: the socket is paused while the handler does not read, then completes', async (t) => {
  const SIZE = 8 * 1024 * 1024;
  const payload = Buffer.alloc(SIZE);
  for (let i = 0; i < SIZE; i += 4) payload.writeUInt32LE((i * 2654435761) >>> 0, i);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let started!: () => void;
  const handlerStarted = new Promise<void>((r) => (started = r));
  const s = await startServer(
    async (rq, res) => {
      const stream = rq.stream();
      const hash = createHash('sha256');
      let n = 0;
      const it = stream[Symbol.asyncIterator]();
      // Read a little, then stop until the test says go.
      const first = await it.next();
      hash.update(first.value as Buffer);
      n += (first.value as Buffer).length;
      started();
      await gate;
      for (;;) {
        const { value, done } = await it.next();
        if (done === true) break;
        hash.update(value as Buffer);
        n += (value as Buffer).length;
        if (n % (1024 * 1024) < 65536) await sleep(1); // a slow reader
      }
      res.json({ n, sha: hash.digest('hex') });
    },
    { t, limits: { maxBodyBytes: SIZE } },
  );
  const serverSockets: net.Socket[] = [];
  s.server.netServer.on('connection', (sock: net.Socket) => serverSockets.push(sock));

  const c = await RawClient.connect(s.port);
  void c.send(req('POST', '/upload', {}, payload));
  await handlerStarted;
  const readWhilePaused = await settled(() => serverSockets[0]!.bytesRead, { ms: 40, stable: 5 });
  assert.ok(
    readWhilePaused < SIZE / 2,
    `the server kept reading (${readWhilePaused} of ${SIZE}) while the handler did not consume the body`,
  );
  release();
  const [r] = await c.waitResponses(1);
  assert.deepEqual(JSON.parse(r!.text()), { n: SIZE, sha: sha(payload) });
  c.destroy();
});

test('an unread body is held back, not read without bound', async (t) => {
  // A handler that waits before touching the body: at most a bounded read-ahead is accepted.
  const SIZE = 4 * 1024 * 1024;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const s = await startServer(
    async (rq, res) => {
      await gate;
      res.send(String((await rq.body()).length));
    },
    { t, limits: { maxBodyBytes: SIZE } },
  );
  const serverSockets: net.Socket[] = [];
  s.server.netServer.on('connection', (sock: net.Socket) => serverSockets.push(sock));
  const c = await RawClient.connect(s.port);
  void c.send(req('POST', '/', {}, Buffer.alloc(SIZE, 1)));
  const read = await settled(() => serverSockets[0]?.bytesRead ?? 0, { ms: 40, stable: 5 });
  assert.ok(read < SIZE / 2, `read ${read} of ${SIZE} before the handler asked for the body`);
  release();
  const [r] = await c.waitResponses(1);
  assert.equal(r!.text(), String(SIZE));
  c.destroy();
});

test('maxBodyBytes with Content-Length: 413 at the head, before any body byte, and close', async (t) => {
  let calls = 0;
  const s = await startServer(
    (_rq, res) => {
      calls++;
      res.send('no');
    },
    { t, limits: { maxBodyBytes: 1000 } },
  );
  // Only the head is sent: the 413 must not wait for the body.
  const c = await RawClient.connect(s.port);
  await c.send('POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n');
  const [r] = await c.waitResponses(1);
  assert.equal(r!.status, 413);
  assert.equal(r!.header('connection'), 'close');
  await c.waitClose();
  assert.equal(calls, 0);

  // Exactly at the limit is fine.
  const ok = await exchange(s.port, req('POST', '/up', {}, Buffer.alloc(1000)), { responses: 1 });
  assert.equal(ok.responses[0]!.status, 200);
  ok.client.destroy();
});

test('maxBodyBytes with a chunked body: 413 mid-body, whether or not the handler reads it', async (t) => {
  const outcomes: string[] = [];
  const s = await startServer(
    async (rq, res) => {
      if (rq.path === '/read') {
        try {
          await rq.body();
          outcomes.push('read');
        } catch (err) {
          outcomes.push((err as { code?: string }).code ?? 'error');
          throw err;
        }
        res.send('ok');
      } else {
        await sleep(50); // answers later, without reading
        if (!res.finished) res.send('late');
      }
    },
    { t, limits: { maxBodyBytes: 1000 } },
  );
  for (const path of ['/read', '/ignore']) {
    const body = chunked(['a'.repeat(600), 'b'.repeat(600), 'c'.repeat(10)]);
    const smuggled = req('GET', '/smuggled');
    const { client, responses } = await exchange(
      s.port,
      Buffer.concat([req('POST', path, { 'Transfer-Encoding': 'chunked' }, body), smuggled]),
    );
    assert.equal(responses.length, 1, path);
    assert.equal(responses[0]!.status, 413, path);
    assert.equal(responses[0]!.header('connection'), 'close', path);
    assert.ok(client.closed);
  }
  assert.deepEqual(outcomes, ['RAPID_ERR_HTTP1_BODY_TOO_LARGE']);
});

test('a handler that ignores the body: the response goes out and the next request parses correctly', async (t) => {
  const calls: string[] = [];
  const s = await startServer(
    (rq, res) => {
      calls.push(`${rq.method} ${rq.url}`);
      res.send(`ignored ${rq.url}`);
    },
    { t },
  );
  const big = Buffer.alloc(300 * 1024, 'G'); // contains what looks like nothing valid
  const fake = Buffer.from('GET /fake HTTP/1.1\r\nHost: x\r\n\r\n'); // a request inside a body
  const stream = Buffer.concat([
    req('POST', '/cl', {}, Buffer.concat([fake, big])),
    req('GET', '/after-cl'),
    req('POST', '/te', { 'Transfer-Encoding': 'chunked' }, chunked([fake, big, fake])),
    req('GET', '/after-te'),
  ]);
  for (const pieceSize of [undefined, 4096]) {
    calls.length = 0;
    const { client, responses } = await exchange(s.port, stream, { responses: 4, pieceSize });
    assert.deepEqual(
      responses.map((r) => r.text()),
      ['ignored /cl', 'ignored /after-cl', 'ignored /te', 'ignored /after-te'],
    );
    assert.deepEqual(calls, ['POST /cl', 'GET /after-cl', 'POST /te', 'GET /after-te']);
    assert.equal(client.closed, false);
    client.destroy();
  }
});

test('body() twice is an error; invalid JSON is a 400; a bodiless request reads as empty', async (t) => {
  const s = await startServer(
    async (rq, res) => {
      if (rq.path === '/twice') {
        await rq.body();
        await rq.body(); // throws RAPID_ERR_BODY_ALREADY_READ
      } else if (rq.path === '/json') {
        res.json(await rq.json());
      } else {
        res.send(`[${await rq.text()}]`);
      }
    },
    { t },
  );
  const { client, responses } = await exchange(
    s.port,
    Buffer.concat([
      req('POST', '/twice', {}, 'x'),
      req('POST', '/json', {}, '{bad'),
      req('GET', '/empty'),
    ]),
    { responses: 3 },
  );
  assert.equal(responses[0]!.status, 500);
  assert.equal(responses[1]!.status, 400);
  assert.match(responses[1]!.text(), /not valid JSON/);
  assert.equal(responses[2]!.text(), '[]');
  assert.equal(s.errors.length, 2);
  assert.equal((s.errors[0]!.err as { code?: string }).code, 'RAPID_ERR_BODY_ALREADY_READ');
  client.destroy();
});

test('undici: streamed (chunked) and sized uploads echo back intact', async (t) => {
  const s = await startServer(
    async (rq: RapidRequest, res) => {
      const chunks: Buffer[] = [];
      for await (const c of rq) chunks.push(c);
      const body = Buffer.concat(chunks);
      res.setHeader('X-TE', rq.header('transfer-encoding') ?? '-');
      res.send(sha(body));
    },
    { t, limits: { maxBodyBytes: 4 * 1024 * 1024 } },
  );
  const data = Buffer.alloc(3 * 1024 * 1024 + 17, 'z');
  const sized = await request(`${s.origin}/sized`, { method: 'POST', body: data });
  assert.equal(await sized.body.text(), sha(data));
  assert.equal(sized.headers['x-te'], '-');
  const streamed = await request(`${s.origin}/stream`, {
    method: 'POST',
    body: Readable.from(
      (function* () {
        for (let i = 0; i < data.length; i += 100_000) yield data.subarray(i, i + 100_000);
      })(),
    ),
  });
  assert.equal(streamed.headers['x-te'], 'chunked');
  assert.equal(await streamed.body.text(), sha(data));
});
