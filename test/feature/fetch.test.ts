// The Web-standard fetch adapter over real sockets: the Request a function sees (URL, method,
// headers, body streamed with backpressure, AbortSignal on disconnect), the Response written back
// (status, headers, several Set-Cookie, known bodies with Content-Length, streamed bodies, HEAD,
// no-body statuses), errors, mountFetch, and the lazy Request/Response standing in for real ones.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  fetchHandler,
  mountFetch,
  type FetchFunction,
  type FetchHandlerOptions,
} from '../../src/app/fetch.js';
import type { Limits } from '../../src/core/types.js';
import { serve, type RapidServer } from '../../src/server/server.js';
import { RawClient, eventually, req } from '../helpers/raw.js';
import { startServer } from '../helpers/server.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function fetchServer(
  t: Parameters<typeof startServer>[1] extends infer O
    ? O extends { t?: infer T }
      ? T
      : never
    : never,
  fn: FetchFunction,
  opts: FetchHandlerOptions & { limits?: Partial<Limits> } = {},
) {
  return startServer(fetchHandler(fn, opts), { t, limits: opts.limits });
}

test('the Request: absolute URL, method, headers, query, info', async (t) => {
  let seen: Record<string, unknown> = {};
  const s = await fetchServer(t, (request, info) => {
    seen = {
      url: request.url,
      method: request.method,
      accept: request.headers.get('accept'),
      multi: request.headers.get('x-multi'),
      isRequest: request instanceof Request,
      parsed: new URL(request.url).searchParams.getAll('a'),
      remote: info.remoteAddress,
      bodyUsed: request.bodyUsed,
    };
    return new Response('ok');
  });
  const c = await RawClient.connect(s.port);
  await c.send(
    req('GET', '/p/q%20r?a=1&a=2', { Host: 'example.test:8443', Accept: 'text/x', 'X-Multi': 'a' }),
  );
  await c.waitResponses(1);
  c.destroy();
  assert.deepEqual(seen, {
    url: 'http://example.test:8443/p/q%20r?a=1&a=2',
    method: 'GET',
    accept: 'text/x',
    multi: 'a',
    isRequest: true,
    parsed: ['1', '2'],
    remote: '127.0.0.1',
    bodyUsed: false,
  });
  // Repeated fields are joined, absolute-form targets keep their authority.
  const c2 = await RawClient.connect(s.port);
  await c2.send(
    'GET http://other.test/abs?x=1 HTTP/1.1\r\nHost: other.test\r\nX-Multi: a\r\nX-Multi: b\r\n\r\n',
  );
  await c2.waitResponses(1);
  c2.destroy();
  assert.equal(seen.url, 'http://other.test/abs?x=1');
  assert.equal(seen.multi, 'a, b');
});

test('the Response: status, headers, several Set-Cookie, default and explicit types', async (t) => {
  const s = await fetchServer(t, (request) => {
    const path = new URL(request.url).pathname;
    if (path === '/cookies') {
      const h = new Headers({ 'content-type': 'application/x-custom', 'x-one': '1' });
      h.append('set-cookie', 'a=1; Path=/; HttpOnly');
      h.append('set-cookie', 'b=2, with comma; Expires=Wed, 21 Oct 2037 07:28:00 GMT');
      h.append('x-list', 'p');
      h.append('x-list', 'q');
      return new Response('created', { status: 201, headers: h });
    }
    if (path === '/teapot')
      return new Response('short and stout', { status: 418, headers: [['X-Pair', 'v']] });
    if (path === '/bytes') return new Response(new Uint8Array([1, 2, 3]));
    if (path === '/blob') return new Response(new Blob(['blob body'], { type: 'text/x-blob' }));
    if (path === '/json') return Response.json({ a: 1 }, { status: 202 });
    if (path === '/empty') return new Response(null, { status: 204, headers: { 'x-e': '1' } });
    if (path === '/redirect') return Response.redirect('http://example.test/else', 307);
    return new Response('plain ü');
  });
  const r = await fetch(`${s.origin}/cookies`);
  assert.equal(r.status, 201);
  assert.equal(r.headers.get('content-type'), 'application/x-custom');
  assert.deepEqual(r.headers.getSetCookie(), [
    'a=1; Path=/; HttpOnly',
    'b=2, with comma; Expires=Wed, 21 Oct 2037 07:28:00 GMT',
  ]);
  assert.equal(r.headers.get('x-list'), 'p, q');
  assert.equal(r.headers.get('content-length'), '7');
  assert.equal(await r.text(), 'created');
  const tp = await fetch(`${s.origin}/teapot`);
  assert.deepEqual(
    [tp.status, tp.headers.get('x-pair'), await tp.text()],
    [418, 'v', 'short and stout'],
  );
  const plain = await fetch(`${s.origin}/`);
  assert.equal(plain.headers.get('content-type'), 'text/plain;charset=UTF-8');
  assert.equal(plain.headers.get('content-length'), String(Buffer.byteLength('plain ü')));
  assert.equal(await plain.text(), 'plain ü');
  const bytes = await fetch(`${s.origin}/bytes`);
  assert.equal(bytes.headers.get('content-type'), null);
  assert.deepEqual(new Uint8Array(await bytes.arrayBuffer()), new Uint8Array([1, 2, 3]));
  const blob = await fetch(`${s.origin}/blob`);
  assert.deepEqual(
    [blob.headers.get('content-type'), blob.headers.get('content-length'), await blob.text()],
    ['text/x-blob', '9', 'blob body'],
  );
  const json = await fetch(`${s.origin}/json`);
  assert.deepEqual(
    [json.status, json.headers.get('content-type'), await json.json()],
    [202, 'application/json', { a: 1 }],
  );
  const empty = await fetch(`${s.origin}/empty`);
  assert.deepEqual([empty.status, empty.headers.get('x-e'), await empty.text()], [204, '1', '']);
  const redirect = await fetch(`${s.origin}/redirect`, { redirect: 'manual' });
  assert.deepEqual(
    [redirect.status, redirect.headers.get('location')],
    [307, 'http://example.test/else'],
  );
});

test('request bodies stream in and responses stream out, large, with backpressure', async (t) => {
  const s = await fetchServer(
    t,
    async (request) => {
      const path = new URL(request.url).pathname;
      if (path === '/echo')
        return new Response(request.body, { headers: { 'x-method': request.method } });
      if (path === '/sha') {
        const body = new Uint8Array(await request.arrayBuffer());
        return Response.json({ sha: sha(body), len: body.length });
      }
      if (path === '/json') return Response.json(await request.json());
      return new Response('?', { status: 400 });
    },
    { limits: { maxBodyBytes: 64 * 1024 * 1024 } },
  );
  const big = randomBytes(8 * 1024 * 1024);
  // Echo: the request body goes back out as it arrives (chunked both ways).
  const echo = await fetch(`${s.origin}/echo`, { method: 'PUT', body: big });
  assert.equal(echo.headers.get('x-method'), 'PUT');
  const echoed = new Uint8Array(await echo.arrayBuffer());
  assert.equal(echoed.length, big.length);
  assert.equal(sha(echoed), sha(big));
  // A streamed request body, read whole.
  let sent = 0;
  const chunk = randomBytes(64 * 1024);
  const h = createHash('sha256');
  const upload = new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent >= 64) return c.close();
      sent++;
      h.update(chunk);
      c.enqueue(chunk);
    },
  });
  const r = await fetch(`${s.origin}/sha`, {
    method: 'POST',
    body: upload,
    duplex: 'half',
  } as RequestInit);
  assert.deepEqual(await r.json(), { sha: h.digest('hex'), len: 64 * chunk.length });
  const j = await fetch(`${s.origin}/json`, {
    method: 'POST',
    body: JSON.stringify({ x: [1, 'ü'] }),
  });
  assert.deepEqual(await j.json(), { x: [1, 'ü'] });
});

test('a slow reader gets a streamed response with backpressure, not a buffered one', async (t) => {
  let produced = 0;
  const s = await fetchServer(t, () => {
    const piece = new Uint8Array(64 * 1024).fill(120);
    return new Response(
      new ReadableStream<Uint8Array>({
        pull(c) {
          if (produced >= 512) return c.close(); // 32 MB
          produced++;
          c.enqueue(piece);
        },
      }),
    );
  });
  const c = await RawClient.connect(s.port);
  c.socket.pause();
  await c.send(req('GET', '/'));
  await sleep(300);
  // With the client not reading, the producer is held back by the socket (far below 32 MB).
  assert.ok(produced < 256, `produced ${produced} pieces while the client read nothing`);
  c.socket.resume();
  await eventually(() => c.received.length >= 32 * 1024 * 1024, 'the whole body');
  assert.equal(produced, 512);
  c.destroy();
});

test('client disconnect: request.signal aborts and a streamed body is cancelled', async (t) => {
  let aborted = false;
  let cancelled = false;
  let reason: unknown;
  const s = await fetchServer(t, async (request) => {
    if (new URL(request.url).pathname === '/wait') {
      await new Promise<void>((resolve) =>
        request.signal.addEventListener('abort', () => {
          aborted = true;
          reason = request.signal.reason;
          resolve();
        }),
      );
      return new Response('never seen');
    }
    return new Response(
      new ReadableStream({
        async pull(c) {
          await sleep(5);
          c.enqueue(new TextEncoder().encode('data: tick\n\n'));
        },
        cancel() {
          cancelled = true;
        },
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    );
  });
  const c = await RawClient.connect(s.port);
  await c.send(req('GET', '/wait'));
  await sleep(50);
  assert.equal(aborted, false);
  c.destroy();
  await eventually(() => aborted, 'signal aborted');
  assert.equal((reason as { code?: string }).code, 'RAPID_ERR_REQUEST_ABORTED');
  const sse = await RawClient.connect(s.port);
  await sse.send(req('GET', '/sse'));
  await eventually(() => sse.received.includes('data: tick'), 'events flowing');
  sse.destroy();
  await eventually(() => cancelled, 'stream cancelled');
});

test('signals on a keep-alive connection do not pile up listeners', async (t) => {
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(w);
  };
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const s = await fetchServer(t, (request) => new Response(String(request.signal.aborted)));
  const c = await RawClient.connect(s.port);
  for (let i = 0; i < 30; i++) await c.send(req('GET', `/${i}`));
  const rs = await c.waitResponses(30);
  assert.ok(rs.every((r) => r.text() === 'false'));
  c.destroy();
  await sleep(20);
  assert.deepEqual(
    warnings.map((w) => w.name),
    [],
  );
});

test('HEAD: headers of the GET, no body; a Content-Length the app gives is kept', async (t) => {
  const s = await fetchServer(t, (request) => {
    if (new URL(request.url).pathname === '/len') {
      return new Response(null, { headers: { 'content-length': '42', 'x-h': request.method } });
    }
    if (new URL(request.url).pathname === '/stream') {
      return new Response(new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array(10)) }));
    }
    return new Response('hello', { headers: { 'x-h': request.method } });
  });
  const c = await RawClient.connect(s.port, { isHead: () => true });
  await c.send(
    Buffer.concat([
      req('HEAD', '/'),
      req('HEAD', '/len'),
      req('HEAD', '/stream'),
      req('HEAD', '/'),
    ]),
  );
  const [a, b, st, d] = await c.waitResponses(4);
  assert.deepEqual(
    [a?.status, a?.header('content-length'), a?.header('x-h'), a?.body.length],
    [200, '5', 'HEAD', 0],
  );
  assert.deepEqual([b?.header('content-length'), b?.header('x-h')], ['42', 'HEAD']);
  assert.equal(st?.status, 200);
  assert.equal(d?.status, 200);
  // Nothing after the four heads: the HEAD bodies were never sent.
  await sleep(20);
  assert.equal(c.reader.rest.length, 0);
  c.destroy();
});

test('errors: a throw or a non-Response is a 500 without internals; onError renders', async (t) => {
  const failing: FetchFunction = (request) => {
    const p = new URL(request.url).pathname;
    if (p === '/throw') throw new Error('secret internals');
    if (p === '/reject') return Promise.reject(new Error('secret internals'));
    return 'not a response' as unknown as Response;
  };
  const s = await fetchServer(t, failing);
  for (const p of ['/throw', '/reject', '/wrong']) {
    const r = await fetch(`${s.origin}${p}`);
    assert.equal(r.status, 500, p);
    assert.doesNotMatch(await r.text(), /secret/);
  }
  assert.equal(s.errors.length, 3);
  const custom = await fetchServer(t, failing, {
    onError: (err) => new Response(`handled: ${(err as Error).constructor.name}`, { status: 503 }),
  });
  const r = await fetch(`${custom.origin}/wrong`);
  assert.deepEqual([r.status, await r.text()], [503, 'handled: TypeError']);
});

test('mountFetch: the prefix is stripped, other paths are 404', async (t) => {
  const fn: FetchFunction = (request) =>
    new Response(new URL(request.url).pathname + new URL(request.url).search);
  const s = await startServer(mountFetch('/api/', fn), { t });
  const get = async (p: string) => {
    const r = await fetch(`${s.origin}${p}`);
    return [r.status, await r.text()];
  };
  assert.deepEqual(await get('/api/users/7?x=1'), [200, '/users/7?x=1']);
  assert.deepEqual(await get('/api'), [200, '/']);
  assert.deepEqual(await get('/api/'), [200, '/']);
  assert.deepEqual(await get('/apis'), [404, 'Not Found\n']);
  assert.deepEqual(await get('/other'), [404, 'Not Found\n']);
  assert.throws(() => mountFetch('api', fn), { code: 'RAPID_ERR_INVALID_OPTION' });
});

test('serve({ fetch }) and the lazy Request/Response standing in for real ones', async (t) => {
  const server: RapidServer = await serve({
    port: 0,
    host: '127.0.0.1',
    async fetch(request: Request): Promise<Response> {
      if (new URL(request.url).pathname === '/inner') return new Response('inner');
      // A copy of the lazy Request, a clone, and Response semantics the app may rely on.
      // (clone first: building a Request from one takes its body, as the Fetch Standard says)
      const clone = request.clone();
      const copy = new Request(request, { headers: { 'x-copied': 'yes' } });
      const made = new Response('made', { status: 299 });
      const checks: Record<string, unknown> = {
        copyUrl: copy.url,
        copyHeader: copy.headers.get('x-copied'),
        copyBody: await copy.text(),
        cloneMethod: clone.method,
        responseIsResponse: made instanceof Response,
        fetchedIsResponse:
          (await fetch(`http://127.0.0.1:${server.port}/inner`, { method: 'GET' }).catch(
            () => null,
          )) instanceof Response,
        cloneText: await made.clone().text(),
        ok: made.ok,
        status: made.status,
        headers: Object.fromEntries(made.headers),
      };
      return Response.json(checks);
    },
  }).catch((e: unknown) => {
    throw e;
  });
  t.after(() => server.close(1000));
  const inner = await fetch(`http://127.0.0.1:${server.port}/`, {
    method: 'POST',
    body: 'payload',
  });
  assert.deepEqual(await inner.json(), {
    copyUrl: `http://127.0.0.1:${server.port}/`,
    copyHeader: 'yes',
    copyBody: 'payload',
    cloneMethod: 'POST',
    responseIsResponse: true,
    fetchedIsResponse: true,
    cloneText: 'made',
    ok: true,
    status: 299,
    headers: { 'content-type': 'text/plain;charset=UTF-8' },
  });
  assert.equal(globalThis.Response.name, 'Response');
  await assert.rejects(
    serve({ port: 0, handler: () => undefined, fetch: () => new Response('') }),
    { code: 'RAPID_ERR_INVALID_OPTION' },
  );
});
