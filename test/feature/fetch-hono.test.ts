// A real Hono app (the npm package, unchanged) served by Rapid's fetch adapter over real sockets:
// routes with params, JSON, request bodies (JSON, forms), headers, cookies (several Set-Cookie),
// streaming (hono/streaming, SSE with abort), 404 and errors from Hono, HEAD, and the app
// mounted under a prefix. (c.text() with nothing else set is `new Response(text)`, whose type is the
// Fetch Standard's text/plain;charset=UTF-8.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import { stream, streamSSE } from 'hono/streaming';
import { fetchHandler, mountFetch, type FetchInfo } from '../../src/app/fetch.js';
import { RawClient, eventually, req } from '../helpers/raw.js';
import { startServer } from '../helpers/server.js';

const events = { sseAborted: false };

function honoApp(): Hono<{ Bindings: FetchInfo }> {
  const app = new Hono<{ Bindings: FetchInfo }>();
  app.get('/hello', (c) => c.text('Hello from Hono'));
  app.get('/users/:id{[0-9]+}', (c) =>
    c.json({ id: Number(c.req.param('id')), q: c.req.query('q') ?? null }),
  );
  app.get('/files/*', (c) => c.text(`file ${c.req.path}`));
  app.post('/echo', async (c) =>
    c.json({ got: await c.req.json(), type: c.req.header('content-type') }, 201),
  );
  app.post('/form', async (c) => {
    const body = await c.req.parseBody({ all: true });
    const file = body.upload;
    return c.json({
      name: body.name,
      tags: body.tag,
      file:
        file instanceof File ? { name: file.name, size: file.size, text: await file.text() } : null,
    });
  });
  app.get('/headers', (c) => {
    c.header('X-Echo', c.req.header('x-a') ?? 'none');
    c.header('Cache-Control', 'no-store');
    return c.body(null, 204);
  });
  app.get('/cookies', (c) => {
    setCookie(c, 'session', 'abc', { httpOnly: true, path: '/', sameSite: 'Lax' });
    setCookie(c, 'theme', 'dark', { maxAge: 3600 });
    return c.json({ seen: getCookie(c, 'incoming') ?? null });
  });
  app.get('/ip', (c) => c.text(c.env.remoteAddress));
  app.get('/stream', (c) =>
    stream(c, async (s) => {
      for (let i = 0; i < 5; i++) {
        await s.write(`part ${i}\n`);
        await s.sleep(2);
      }
    }),
  );
  app.get('/sse', (c) =>
    streamSSE(c, async (s) => {
      s.onAbort(() => {
        events.sseAborted = true;
      });
      for (let i = 0; !events.sseAborted && i < 10_000; i++) {
        await s.writeSSE({ data: `tick ${i}`, event: 'tick' });
        await s.sleep(5);
      }
    }),
  );
  app.get('/error', () => {
    throw new Error('boom (internal detail)');
  });
  app.get('/denied', () => {
    throw new HTTPException(401, { message: 'no entry' });
  });
  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    return c.text(`custom error page`, 500);
  });
  return app;
}

test('Hono: routes, params, query, wildcard, JSON in and out, forms, headers, 404', async (t) => {
  const app = honoApp();
  const s = await startServer(fetchHandler(app.fetch), { t });
  const hello = await fetch(`${s.origin}/hello`);
  assert.deepEqual(
    [hello.status, hello.headers.get('content-type'), await hello.text()],
    [200, 'text/plain;charset=UTF-8', 'Hello from Hono'],
  );
  assert.deepEqual(await (await fetch(`${s.origin}/users/42?q=x%20y`)).json(), {
    id: 42,
    q: 'x y',
  });
  assert.equal((await fetch(`${s.origin}/users/abc`)).status, 404);
  assert.equal(await (await fetch(`${s.origin}/files/a/b.txt`)).text(), 'file /files/a/b.txt');
  const echo = await fetch(`${s.origin}/echo`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ a: [1, 2], s: 'ü' }),
  });
  assert.equal(echo.status, 201);
  assert.deepEqual(await echo.json(), { got: { a: [1, 2], s: 'ü' }, type: 'application/json' });
  const form = new FormData();
  form.append('name', 'Ada');
  form.append('tag', 'x');
  form.append('tag', 'y');
  form.append('upload', new Blob(['file body']), 'notes.txt');
  const f = await fetch(`${s.origin}/form`, { method: 'POST', body: form });
  assert.deepEqual(await f.json(), {
    name: 'Ada',
    tags: ['x', 'y'],
    file: { name: 'notes.txt', size: 9, text: 'file body' },
  });
  const urlenc = await fetch(`${s.origin}/form`, {
    method: 'POST',
    body: new URLSearchParams('name=Bob&tag=z'),
  });
  assert.deepEqual(await urlenc.json(), { name: 'Bob', tags: 'z', file: null });
  const h = await fetch(`${s.origin}/headers`, { headers: { 'X-A': 'sent' } });
  assert.deepEqual(
    [h.status, h.headers.get('x-echo'), h.headers.get('cache-control')],
    [204, 'sent', 'no-store'],
  );
  const missing = await fetch(`${s.origin}/nope`);
  assert.deepEqual([missing.status, await missing.text()], [404, '404 Not Found']);
  assert.equal(await (await fetch(`${s.origin}/ip`)).text(), '127.0.0.1');
});

test('Hono: cookies in, several Set-Cookie out', async (t) => {
  const s = await startServer(fetchHandler(honoApp().fetch), { t });
  const r = await fetch(`${s.origin}/cookies`, { headers: { cookie: 'incoming=yes; other=1' } });
  assert.deepEqual(await r.json(), { seen: 'yes' });
  assert.deepEqual(r.headers.getSetCookie(), [
    'session=abc; Path=/; HttpOnly; SameSite=Lax',
    'theme=dark; Max-Age=3600; Path=/',
  ]);
  // On the wire: one field line per cookie.
  const c = await RawClient.connect(s.port);
  await c.send(req('GET', '/cookies'));
  const [raw] = await c.waitResponses(1);
  c.destroy();
  assert.equal(raw?.all('set-cookie').length, 2);
});

test('Hono: errors through onError and HTTPException; HEAD', async (t) => {
  const s = await startServer(fetchHandler(honoApp().fetch), { t });
  const e = await fetch(`${s.origin}/error`);
  assert.deepEqual([e.status, await e.text()], [500, 'custom error page']);
  const d = await fetch(`${s.origin}/denied`);
  assert.deepEqual([d.status, await d.text()], [401, 'no entry']);
  const c = await RawClient.connect(s.port, { isHead: () => true });
  await c.send(req('HEAD', '/hello'));
  const [head] = await c.waitResponses(1);
  c.destroy();
  assert.equal(head?.status, 200);
  assert.equal(head?.body.length, 0);
  assert.equal(head?.header('content-type'), 'text/plain;charset=UTF-8');
});

test('Hono: streamed responses arrive whole; SSE stops when the client leaves', async (t) => {
  const s = await startServer(fetchHandler(honoApp().fetch), { t });
  const r = await fetch(`${s.origin}/stream`);
  assert.equal(await r.text(), 'part 0\npart 1\npart 2\npart 3\npart 4\n');
  const c = await RawClient.connect(s.port);
  await c.send(req('GET', '/sse'));
  await eventually(() => c.received.includes('data: tick 2'), 'three events');
  assert.match(c.received.toString(), /content-type: text\/event-stream/i);
  assert.match(c.received.toString(), /event: tick\ndata: tick 0\n\n/);
  c.destroy();
  await eventually(() => events.sseAborted, 'onAbort called');
  await sleep(10);
});

test('Hono mounted under a prefix with mountFetch, unchanged', async (t) => {
  const s = await startServer(mountFetch('/hono', honoApp().fetch), { t });
  assert.equal(await (await fetch(`${s.origin}/hono/hello`)).text(), 'Hello from Hono');
  assert.deepEqual(await (await fetch(`${s.origin}/hono/users/7`)).json(), { id: 7, q: null });
  assert.equal((await fetch(`${s.origin}/hello`)).status, 404);
});
