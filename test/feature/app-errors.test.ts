/**
 * Error handling over real sockets: HttpError statuses and headers, JSON or text by Accept,
 * production hiding 5xx messages (never a stack), catalog errors keeping their codes, onError
 * hooks, custom error handlers, errors inside hooks, errors after the head was sent.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createApp, HttpError, httpErrors, type App } from '../../src/app/index.js';
import { E, RapidError } from '../../src/core/errors.js';
import { eventually, exchange, req as rawReq } from '../helpers/raw.js';
import { startServer } from '../helpers/server.js';

async function serveApp(app: App): Promise<string> {
  return (await startServer(app.handler)).origin;
}

interface ErrorBody {
  error: { status: number; code: string; message: string };
}

async function call(
  origin: string,
  path: string,
  accept = '*/*',
): Promise<{ status: number; type: string | null; body: string; headers: Headers }> {
  const r = await fetch(origin + path, { headers: { accept } });
  return {
    status: r.status,
    type: r.headers.get('content-type'),
    body: await r.text(),
    headers: r.headers,
  };
}

function errorApp(production: boolean, logged: unknown[] = []): App {
  const app = createApp({ production, logError: (err) => void logged.push(err) });
  app.get('/teapot', () => {
    throw new HttpError(418, 'short and stout');
  });
  app.get('/unauthorized', () => {
    throw httpErrors.unauthorized('token expired', {
      headers: { 'WWW-Authenticate': 'Bearer realm="api"' },
      code: 'MY_TOKEN_EXPIRED',
    });
  });
  app.get('/async-404', async () => {
    throw httpErrors.notFound();
  });
  app.get('/crash', () => {
    throw new Error('database password is hunter2');
  });
  app.get('/http-500', () => {
    throw new HttpError(500, 'internal detail');
  });
  app.get('/exposed-503', () => {
    throw httpErrors.serviceUnavailable('maintenance until 5pm', { expose: true });
  });
  app.get('/hidden-400', () => {
    throw new HttpError(400, 'secret reason', { expose: false });
  });
  app.get('/catalog', () => {
    throw new RapidError(E.BODY_TOO_LARGE, 'limit 10 bytes');
  });
  app.get('/foreign', () => {
    // An error from another library with a status (http-errors style).
    throw Object.assign(new Error('upstream said no'), { status: 409, expose: true });
  });
  app.get('/non-error', () => {
    throw 'a string';
  });
  app.get('/typed-then-fail', (_req, res) => {
    res.setHeader('Content-Type', 'image/png');
    res.setHeader('ETag', '"x"');
    res.setHeader('X-Keep', 'kept');
    throw httpErrors.badRequest('no image for you');
  });
  return app;
}

describe('app errors', () => {
  it('renders HttpErrors with their status, code, headers and message as JSON', async () => {
    const origin = await serveApp(errorApp(true));
    const t = await call(origin, '/teapot');
    assert.equal(t.status, 418);
    assert.equal(t.type, 'application/json; charset=utf-8');
    assert.deepEqual(JSON.parse(t.body), {
      error: { status: 418, code: 'RAPID_ERR_APP_HTTP_ERROR', message: 'short and stout' },
    });
    const u = await call(origin, '/unauthorized');
    assert.equal(u.status, 401);
    assert.equal(u.headers.get('www-authenticate'), 'Bearer realm="api"');
    assert.equal((JSON.parse(u.body) as ErrorBody).error.code, 'MY_TOKEN_EXPIRED');
    const a = await call(origin, '/async-404');
    assert.equal(a.status, 404);
    assert.equal((JSON.parse(a.body) as ErrorBody).error.message, 'Not Found');
  });

  it('chooses JSON or text by Accept (RFC 9110 §12.5.1)', async () => {
    const origin = await serveApp(errorApp(true));
    const cases: [string, string][] = [
      ['*/*', 'application/json'],
      ['application/json', 'application/json'],
      ['text/plain', 'text/plain'],
      ['text/html,application/xhtml+xml,*/*;q=0.8', 'text/plain'],
      ['application/json;q=0.5, text/plain;q=0.9', 'text/plain'],
      ['text/*;q=0.3, application/*', 'application/json'],
      ['image/png', 'text/plain'],
    ];
    for (const [accept, type] of cases) {
      const r = await call(origin, '/teapot', accept);
      assert.equal(r.type?.split(';')[0], type, accept);
      if (type === 'text/plain') assert.equal(r.body, 'short and stout\n');
    }
  });

  it('hides 5xx messages in production, shows them (never the stack) otherwise', async () => {
    const logged: unknown[] = [];
    const prod = await serveApp(errorApp(true, logged));
    const dev = await serveApp(errorApp(false));
    const p = await call(prod, '/crash');
    assert.equal(p.status, 500);
    assert.deepEqual(JSON.parse(p.body), {
      error: { status: 500, code: 'RAPID_ERR_HANDLER_FAILED', message: 'Internal Server Error' },
    });
    assert.doesNotMatch(p.body, /hunter2/);
    assert.equal((await call(prod, '/http-500')).body.includes('internal detail'), false);
    assert.equal(
      (JSON.parse((await call(prod, '/exposed-503')).body) as ErrorBody).error.message,
      'maintenance until 5pm',
    );
    assert.equal(
      (JSON.parse((await call(prod, '/hidden-400')).body) as ErrorBody).error.message,
      'Bad Request',
    );
    // 5xx are logged (they reach no client in full).
    await eventually(() => logged.length >= 2);
    assert.match(String((logged[0] as Error).message), /hunter2/);

    const d = await call(dev, '/crash');
    assert.equal(d.status, 500);
    assert.equal((JSON.parse(d.body) as ErrorBody).error.message, 'database password is hunter2');
    assert.doesNotMatch(d.body, /at .*\.js|Error:/);
    const dt = await call(dev, '/crash', 'text/plain');
    assert.equal(dt.body, 'database password is hunter2\n');
  });

  it('keeps catalog codes and statuses, and statuses of foreign errors', async () => {
    const origin = await serveApp(errorApp(true));
    const c = await call(origin, '/catalog');
    assert.equal(c.status, 413);
    assert.equal((JSON.parse(c.body) as ErrorBody).error.code, 'RAPID_ERR_BODY_TOO_LARGE');
    const f = await call(origin, '/foreign');
    assert.equal(f.status, 409);
    assert.equal((JSON.parse(f.body) as ErrorBody).error.message, 'upstream said no');
    const n = await call(origin, '/non-error');
    assert.equal(n.status, 500);
  });

  it('drops representation headers of the failed response, keeps the others', async () => {
    const origin = await serveApp(errorApp(true));
    const r = await call(origin, '/typed-then-fail');
    assert.equal(r.status, 400);
    assert.equal(r.type, 'application/json; charset=utf-8');
    assert.equal(r.headers.get('etag'), null);
    assert.equal(r.headers.get('x-keep'), 'kept');
  });

  it('lets a custom error handler render errors, falling back when it throws', async () => {
    const app = createApp({ production: true, logError: () => {} });
    app.setErrorHandler((err, req, res) => {
      if (req.path === '/rethrow') throw new HttpError(502, 'handler gave up');
      if (req.path === '/send') {
        res.status(503).type('html').send('<h1>Sorry</h1>');
        return;
      }
      res.status((err as { statusCode?: number }).statusCode ?? 500);
      return { custom: true, message: (err as Error).message };
    });
    app.get('/value', () => {
      throw httpErrors.conflict('taken');
    });
    app.get('/send', () => {
      throw new Error('x');
    });
    app.get('/rethrow', () => {
      throw new Error('x');
    });
    const origin = await serveApp(app);
    const v = await call(origin, '/value');
    assert.equal(v.status, 409);
    assert.deepEqual(JSON.parse(v.body), { custom: true, message: 'taken' });
    const s = await call(origin, '/send');
    assert.equal(s.status, 503);
    assert.equal(s.body, '<h1>Sorry</h1>');
    const r = await call(origin, '/rethrow');
    assert.equal(r.status, 502);
    assert.equal((JSON.parse(r.body) as ErrorBody).error.code, 'RAPID_ERR_APP_HTTP_ERROR');
    // 404s reach the error handler too.
    const m = await call(origin, '/missing');
    assert.equal(m.status, 404);
    assert.deepEqual(JSON.parse(m.body), { custom: true, message: 'Not Found' });
  });

  it('runs onError hooks (observe or answer) before the error handler', async () => {
    const seen: string[] = [];
    const app = createApp({ logError: () => {} });
    app.onError((err, req) => {
      seen.push(`${req.path}: ${(err as Error).message}`);
    });
    app.onError(async (_err, req, res) => {
      if (req.path === '/answered') res.status(299).send('handled by hook');
    });
    app.setErrorHandler(() => 'error handler');
    app.get('/observed', () => {
      throw new Error('one');
    });
    app.get('/answered', () => {
      throw new Error('two');
    });
    const origin = await serveApp(app);
    assert.equal((await call(origin, '/observed')).body, 'error handler');
    const a = await call(origin, '/answered');
    assert.equal(a.status, 299);
    assert.equal(a.body, 'handled by hook');
    assert.deepEqual(seen, ['/observed: one', '/answered: two']);
  });

  it('handles errors thrown inside hooks', async () => {
    const logged: unknown[] = [];
    const app = createApp({ production: false, logError: (e) => void logged.push(e) });
    app.onRequest((req) => {
      if (req.path === '/on-request') throw httpErrors.forbidden('onRequest says no');
    });
    app.preHandler(async (req) => {
      if (req.path === '/pre-handler') throw httpErrors.unauthorized('preHandler says no');
    });
    app.onSend((req, _res, payload) => {
      if (req.path === '/on-send') throw new Error('onSend broke');
      return payload;
    });
    app.onResponse((req) => {
      if (req.path === '/on-response') throw new Error('onResponse broke');
    });
    for (const p of ['/on-request', '/pre-handler', '/on-send', '/on-response']) {
      app.get(p, () => 'body');
    }
    const origin = await serveApp(app);
    assert.equal((await call(origin, '/on-request')).status, 403);
    assert.equal((await call(origin, '/pre-handler')).status, 401);
    // The error page of a failing onSend hook goes out without the hooks.
    const s = await call(origin, '/on-send');
    assert.equal(s.status, 500);
    assert.equal((JSON.parse(s.body) as ErrorBody).error.message, 'onSend broke');
    const r = await call(origin, '/on-response');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'body');
    await eventually(() => logged.some((e) => (e as Error).message === 'onResponse broke'));
  });

  it('cuts the connection when a handler fails after the head was sent', async () => {
    const logged: unknown[] = [];
    const app = createApp({ logError: (e) => void logged.push(e) });
    app.get('/mid-body', async (_req, res) => {
      res.write('x'.repeat(20_000)); // past the engine's 16 KB buffer: the head is out
      await new Promise((r) => setTimeout(r, 5));
      throw new Error('failed mid-body');
    });
    const { port } = await startServer(app.handler);
    const { client } = await exchange(port, rawReq('GET', '/mid-body'));
    assert.ok(client.closed);
    assert.match(client.received.toString('latin1'), /^HTTP\/1\.1 200 OK/);
    assert.doesNotMatch(client.received.toString('latin1'), /\r\n0\r\n\r\n$/);
    assert.equal((logged[0] as Error).message, 'failed mid-body');
  });

  it('inherits the error handler in mounted apps unless they set their own', async () => {
    const inner = createApp();
    inner.get('/boom', () => {
      throw new Error('x');
    });
    const own = createApp();
    own.setErrorHandler(() => 'own handler');
    own.get('/boom', () => {
      throw new Error('x');
    });
    const app = createApp({ logError: () => {} });
    app.setErrorHandler(() => 'parent handler');
    app.mount('/inner', inner);
    app.mount('/own', own);
    const origin = await serveApp(app);
    assert.equal((await call(origin, '/inner/boom')).body, 'parent handler');
    assert.equal((await call(origin, '/own/boom')).body, 'own handler');
    assert.equal((await call(origin, '/inner/missing')).body, 'parent handler');
  });
});
