/**
 * Middleware and hooks over real sockets: order (onion), async next, prefixes at segment
 * boundaries, every hook point, short-circuits, inheritance by mounted apps, and that an app
 * without hooks or middleware calls a synchronous handler directly (no promise per request).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { createApp, type App } from '../../src/app/index.js';
import type { RapidRequest, RapidResponse } from '../../src/core/types.js';
import { eventually } from '../helpers/raw.js';
import { startServer } from '../helpers/server.js';

const quiet = { logError: () => {} };

async function serveApp(app: App): Promise<string> {
  return (await startServer(app.handler)).origin;
}

async function text(origin: string, path: string, init?: RequestInit): Promise<string> {
  return (await fetch(origin + path, init)).text();
}

describe('app middleware', () => {
  it('runs use() middleware in order around the handler (onion), awaiting next()', async () => {
    const log: string[] = [];
    const app = createApp(quiet);
    app.use(async (_req, _res, next) => {
      log.push('a>');
      await next();
      log.push('<a');
    });
    app.use(async (_req, res, next) => {
      log.push('b>');
      await sleep(2);
      res.setHeader('X-B', '1');
      await next();
      log.push('<b');
    });
    app.get(
      '/x',
      (_req, _res, next) => {
        log.push('route-mw');
        return next();
      },
      async () => {
        await sleep(2);
        log.push('handler');
        return 'done';
      },
    );
    const origin = await serveApp(app);
    const r = await fetch(`${origin}/x`);
    assert.equal(await r.text(), 'done');
    assert.equal(r.headers.get('x-b'), '1');
    await eventually(() => log.length === 6);
    assert.deepEqual(log, ['a>', 'b>', 'route-mw', 'handler', '<b', '<a']);
  });

  it('supports Express-style synchronous next() and stops after a response', async () => {
    const app = createApp(quiet);
    let after = 0;
    app.use((req, res, next) => {
      if (req.query.deny !== undefined) {
        res.status(403).send('denied');
        next(); // ignored: a response is out
        return;
      }
      void next();
    });
    app.get('/y', () => {
      after++;
      return 'allowed';
    });
    const origin = await serveApp(app);
    assert.equal(await text(origin, '/y'), 'allowed');
    const d = await fetch(`${origin}/y?deny`);
    assert.equal(d.status, 403);
    assert.equal(await d.text(), 'denied');
    assert.equal(after, 1);
  });

  it('applies prefixed middleware at segment boundaries, including 404s below the prefix', async () => {
    const app = createApp(quiet);
    app.use('/api/', (_req, res, next) => {
      res.setHeader('X-Api', 'yes');
      return next();
    });
    app.get('/api', () => 'api root');
    app.get('/api/users', () => 'users');
    app.get('/apix', () => 'not api');
    app.get('/:section/info', () => 'info'); // decided per request
    const origin = await serveApp(app);
    const h = async (p: string) => (await fetch(origin + p)).headers.get('x-api');
    assert.equal(await h('/api'), 'yes');
    assert.equal(await h('/api/users'), 'yes');
    assert.equal(await h('/apix'), null);
    assert.equal(await h('/api/info'), 'yes');
    assert.equal(await h('/other/info'), null);
    assert.equal(await h('/api/missing'), 'yes');
    assert.equal(await h('/missing'), null);
  });

  it('lets middleware answer OPTIONS (CORS preflight) for paths with routes', async () => {
    const app = createApp(quiet);
    app.use((req, res, next) => {
      res.setHeader('Access-Control-Allow-Origin', '*');
      if (req.method === 'OPTIONS') {
        res.setHeader('Access-Control-Allow-Methods', 'GET, POST');
        return null;
      }
      return next();
    });
    app.post('/data', () => 'ok');
    const origin = await serveApp(app);
    const r = await fetch(`${origin}/data`, { method: 'OPTIONS' });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('access-control-allow-methods'), 'GET, POST');
  });

  it('reports next() called twice (RAPID_ERR_APP_NEXT_CALLED_TWICE)', async () => {
    const logged: unknown[] = [];
    const app = createApp({ logError: (err) => void logged.push(err) });
    app.use(async (_req, _res, next) => {
      await next();
      await next();
    });
    app.use('/before', async (_req, _res, next) => {
      void next();
      await next();
    });
    app.get('/after', async () => {
      await sleep(1);
    });
    app.get('/before', () => new Promise(() => {}));
    const origin = await serveApp(app);
    // The handler answered (204) before the second next(): the error is reported, not sent.
    assert.equal((await fetch(`${origin}/after`)).status, 204);
    await eventually(() => logged.length === 1);
    assert.equal((logged[0] as { code: string }).code, 'RAPID_ERR_APP_NEXT_CALLED_TWICE');
    // Called twice before anything was sent: a 500 error page.
    const r = await fetch(`${origin}/before`);
    assert.equal(r.status, 500);
    const body = (await r.json()) as { error: { code: string } };
    assert.equal(body.error.code, 'RAPID_ERR_APP_NEXT_CALLED_TWICE');
  });

  it('runs each hook at its point: onRequest, preHandler, onSend (transforming), onResponse', async () => {
    const log: string[] = [];
    const app = createApp(quiet);
    app.onRequest((req) => {
      log.push(`onRequest ${req.routePattern === '' ? 'unrouted' : 'routed'}`);
    });
    app.use((_req, _res, next) => {
      log.push('middleware');
      return next();
    });
    app.preHandler(async (req) => {
      log.push(`preHandler ${req.routePattern}`);
    });
    app.onSend((_req, res, payload) => {
      log.push('onSend');
      res.setHeader('X-Sent', 'yes');
      return typeof payload === 'string' ? payload.toUpperCase() : payload;
    });
    app.onSend(async (_req, _res, payload) => `${String(payload)}!`);
    app.onResponse((_req, res) => {
      log.push(`onResponse ${res.statusCode}`);
    });
    app.get('/h/:id', () => {
      log.push('handler');
      return 'hello';
    });
    const origin = await serveApp(app);
    const r = await fetch(`${origin}/h/1`);
    assert.equal(await r.text(), 'HELLO!');
    assert.equal(r.headers.get('x-sent'), 'yes');
    await eventually(() => log.length === 6);
    assert.deepEqual(log, [
      'onRequest unrouted',
      'middleware',
      'preHandler /h/:id',
      'handler',
      'onSend',
      'onResponse 200',
    ]);
  });

  it('ends the request when a hook sends (onRequest, preHandler)', async () => {
    let handled = 0;
    const app = createApp(quiet);
    app.onRequest((req, res) => {
      if (req.header('x-block') === 'onRequest') res.status(429).send('slow down');
    });
    app.preHandler(async (req, res) => {
      if (req.header('x-block') === 'preHandler') res.status(401).send('who are you');
    });
    app.get('/', () => {
      handled++;
      return 'ok';
    });
    const origin = await serveApp(app);
    const a = await fetch(origin, { headers: { 'x-block': 'onRequest' } });
    assert.equal(a.status, 429);
    assert.equal(await a.text(), 'slow down');
    const b = await fetch(origin, { headers: { 'x-block': 'preHandler' } });
    assert.equal(b.status, 401);
    assert.equal(await text(origin, '/'), 'ok');
    assert.equal(handled, 1);
  });

  it('onSend sees error pages and streamed bodies skip it', async () => {
    const app = createApp(quiet);
    app.onSend((_req, res) => {
      res.setHeader('X-OnSend', String(res.statusCode));
    });
    app.get('/stream', (_req, res) => {
      res.write('a');
      res.end('b');
    });
    const origin = await serveApp(app);
    const e = await fetch(`${origin}/missing`);
    assert.equal(e.status, 404);
    assert.equal(e.headers.get('x-onsend'), '404');
    const s = await fetch(`${origin}/stream`);
    assert.equal(await s.text(), 'ab');
    assert.equal(s.headers.get('x-onsend'), null);
  });

  it('mounted apps inherit preHandler/onSend/onResponse hooks; their own stay inside', async () => {
    const log: string[] = [];
    const sub = createApp();
    sub.onRequest(() => void log.push('sub onRequest'));
    sub.preHandler(() => void log.push('sub preHandler'));
    sub.get('/x', () => 'sub');
    const app = createApp(quiet);
    app.onRequest(() => void log.push('root onRequest'));
    app.preHandler(() => void log.push('root preHandler'));
    app.onSend((_req, res) => void res.setHeader('X-Root-OnSend', '1'));
    app.onResponse(() => void log.push('root onResponse'));
    app.mount('/sub', sub);
    app.get('/top', () => 'top');
    const origin = await serveApp(app);
    const r = await fetch(`${origin}/sub/x`);
    assert.equal(await r.text(), 'sub');
    assert.equal(r.headers.get('x-root-onsend'), '1');
    await eventually(() => log.length === 5);
    assert.deepEqual(log, [
      'root onRequest',
      'sub onRequest',
      'root preHandler',
      'sub preHandler',
      'root onResponse',
    ]);
    log.length = 0;
    assert.equal(await text(origin, '/top'), 'top');
    await eventually(() => log.length === 3);
    assert.deepEqual(log, ['root onRequest', 'root preHandler', 'root onResponse']);
  });

  it('skips empty hook lists: a synchronous route handler is called directly, no promise', async () => {
    const plain = createApp(quiet);
    plain.get('/p', (_req, res) => res.send('plain'));
    const hooked = createApp(quiet);
    hooked.onRequest(() => {});
    hooked.get('/p', (_req, res) => res.send('hooked'));
    const results: { returned: string; sentDuringCall: boolean }[] = [];
    const wrap =
      (app: App) =>
      (req: RapidRequest, res: RapidResponse): void | Promise<void> => {
        const r = app.handler(req, res);
        results.push({
          returned: r === undefined ? 'undefined' : 'promise',
          sentDuringCall: res.finished,
        });
        return r;
      };
    const a = await startServer(wrap(plain));
    const b = await startServer(wrap(hooked));
    assert.equal(await text(a.origin, '/p'), 'plain');
    assert.equal(await text(b.origin, '/p'), 'hooked');
    assert.deepEqual(results[0], { returned: 'undefined', sentDuringCall: true });
    // With a hook, the run goes through an async function (one promise), even for sync hooks.
    assert.deepEqual(results[1], { returned: 'promise', sentDuringCall: true });
  });
});
