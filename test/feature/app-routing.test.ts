/**
 * The application layer's routing over real sockets: params, wildcards, regex constraints, mounts,
 * 404 / 405 + Allow / automatic HEAD / OPTIONS / bad URL, router options, returned values,
 * redirects, registration errors.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { createApp, type App } from '../../src/app/index.js';
import { RapidError } from '../../src/core/errors.js';
import { exchange, req as rawReq } from '../helpers/raw.js';
import { startServer } from '../helpers/server.js';

const quiet = { logError: () => {} };

async function serveApp(app: App): Promise<string> {
  return (await startServer(app.handler)).origin;
}

async function get(
  origin: string,
  path: string,
  init?: RequestInit,
): Promise<{ status: number; headers: Headers; text: string }> {
  const r = await fetch(origin + path, { redirect: 'manual', ...init });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

describe('app routing', () => {
  it('routes static paths, params, regex constraints and wildcards', async () => {
    const app = createApp(quiet);
    app.get('/', () => 'root');
    app.get('/users/:id', (req) => `user ${req.params.id}`);
    app.get('/posts/:id(\\d+)', (req) => `post ${req.params.id}`);
    app.get('/posts/:slug', (req) => `slug ${req.params.slug}`);
    app.get('/files/*', (req) => `file ${req.params['*']}`);
    app.get('/range/:from-:to', (req) => `${req.params.from}..${req.params.to}`);
    app.get('/pattern/:id', (req) => req.routePattern);
    const origin = await serveApp(app);
    assert.equal((await get(origin, '/')).text, 'root');
    assert.equal((await get(origin, '/users/42')).text, 'user 42');
    assert.equal((await get(origin, '/users/a%2Fb')).text, 'user a/b');
    assert.equal((await get(origin, '/users/caf%C3%A9')).text, 'user café');
    assert.equal((await get(origin, '/posts/17')).text, 'post 17');
    assert.equal((await get(origin, '/posts/hello')).text, 'slug hello');
    assert.equal((await get(origin, '/files/a/b/c.txt')).text, 'file a/b/c.txt');
    assert.equal((await get(origin, '/range/2020-01-02')).text, '2020..01-02');
    assert.equal((await get(origin, '/pattern/x')).text, '/pattern/:id');
  });

  it('answers 404 with a JSON or text error page, and a custom not-found handler', async () => {
    const app = createApp(quiet);
    app.get('/a', () => 'a');
    const origin = await serveApp(app);
    const r = await get(origin, '/nope');
    assert.equal(r.status, 404);
    assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.deepEqual(JSON.parse(r.text), {
      error: { status: 404, code: 'RAPID_ERR_ROUTER_NOT_FOUND', message: 'Not Found' },
    });
    const t = await get(origin, '/nope', { headers: { accept: 'text/html,*/*;q=0.8' } });
    assert.equal(t.status, 404);
    assert.equal(t.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(t.text, 'Not Found\n');

    const custom = createApp(quiet);
    custom.setNotFoundHandler((req, res) => {
      res.status(404).type('html');
      return `<h1>${req.path} is not here</h1>`;
    });
    const o2 = await serveApp(custom);
    const c = await get(o2, '/missing');
    assert.equal(c.status, 404);
    assert.equal(c.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(c.text, '<h1>/missing is not here</h1>');
  });

  it('answers 405 with Allow when the path exists for other methods', async () => {
    const app = createApp(quiet);
    app.get('/thing', () => 'get');
    app.put('/thing', () => 'put');
    const origin = await serveApp(app);
    const r = await get(origin, '/thing', { method: 'POST' });
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'GET, HEAD, OPTIONS, PUT');
    assert.equal(JSON.parse(r.text).error.code, 'RAPID_ERR_ROUTER_METHOD_NOT_ALLOWED');
  });

  it('answers HEAD for GET routes without a body, with the GET headers', async () => {
    const app = createApp(quiet);
    app.get('/h', (_req, res) => {
      res.setHeader('X-Route', 'get');
      return 'twelve bytes';
    });
    const { port } = await startServer(app.handler);
    const { responses, client } = await exchange(port, rawReq('HEAD', '/h'), {
      responses: 1,
      isHead: () => true,
    });
    client.destroy();
    const r = responses[0]!;
    assert.equal(r.status, 200);
    assert.equal(r.header('x-route'), 'get');
    assert.equal(r.header('content-length'), '12');
    assert.equal(r.body.length, 0);
  });

  it('answers OPTIONS with 204 and Allow, unless the app registers OPTIONS itself', async () => {
    const app = createApp(quiet);
    app.get('/auto', () => 'x');
    app.post('/auto', () => 'x');
    app.get('/own', () => 'x');
    app.options('/own', (_req, res) => {
      res.setHeader('Allow', 'GET, OPTIONS');
      res.setHeader('X-Own', '1');
      return null;
    });
    const origin = await serveApp(app);
    const a = await get(origin, '/auto', { method: 'OPTIONS' });
    assert.equal(a.status, 204);
    assert.equal(a.headers.get('allow'), 'GET, HEAD, OPTIONS, POST');
    assert.equal(a.text, '');
    const o = await get(origin, '/own', { method: 'OPTIONS' });
    assert.equal(o.status, 204);
    assert.equal(o.headers.get('x-own'), '1');
    assert.equal(o.headers.get('allow'), 'GET, OPTIONS');
    assert.equal((await get(origin, '/none', { method: 'OPTIONS' })).status, 404);
  });

  it('answers 400 for malformed percent-encoding', async () => {
    const app = createApp(quiet);
    app.get('/*', () => 'any');
    const { port } = await startServer(app.handler);
    for (const bad of ['/%zz', '/a%4', '/%', '/%C3%28']) {
      const { responses, client } = await exchange(port, rawReq('GET', bad), { responses: 1 });
      client.destroy();
      assert.equal(responses[0]!.status, 400, bad);
      assert.match(responses[0]!.text(), /RAPID_ERR_ROUTER_BAD_URL/);
    }
  });

  it('passes trailingSlash and caseSensitive to the router', async () => {
    const redirect = createApp({ ...quiet, trailingSlash: 'redirect' });
    redirect.get('/dir/', () => 'dir');
    redirect.post('/form', () => 'posted');
    const o1 = await serveApp(redirect);
    const r1 = await get(o1, '/dir?x=1');
    assert.equal(r1.status, 301);
    assert.equal(r1.headers.get('location'), '/dir/?x=1');
    const r2 = await get(o1, '/form/', { method: 'POST', body: 'x' });
    assert.equal(r2.status, 308);
    assert.equal(r2.headers.get('location'), '/form');

    const ignore = createApp({ ...quiet, trailingSlash: 'ignore', caseSensitive: false });
    ignore.get('/About', () => 'about');
    const o2 = await serveApp(ignore);
    assert.equal((await get(o2, '/about/')).text, 'about');
    assert.equal((await get(o2, '/ABOUT')).text, 'about');

    const strict = createApp(quiet);
    strict.get('/About', () => 'about');
    const o3 = await serveApp(strict);
    assert.equal((await get(o3, '/about')).status, 404);
    assert.equal((await get(o3, '/About/')).status, 404);
  });

  it('mounts sub-apps at stems: relative paths, prefix params, nesting, 404 inside', async () => {
    const users = createApp();
    users.get('/', (req) => `list of ${req.params.tenant}`);
    users.get('/:id', (req) => ({ ...req.params, routePath: req.routePath }));
    const admin = createApp();
    admin.get('/stats', (req) => `stats at ${req.routePath} of ${req.path}`);
    users.mount('/admin', admin);
    const app = createApp(quiet);
    app.mount('/t/:tenant/users', users);
    app.get('/t/:tenant/users/special', () => 'parent route wins');
    const origin = await serveApp(app);
    assert.equal((await get(origin, '/t/acme/users')).text, 'list of acme');
    assert.equal((await get(origin, '/t/acme/users/')).text, 'list of acme');
    assert.deepEqual(JSON.parse((await get(origin, '/t/acme/users/7')).text), {
      tenant: 'acme',
      id: '7',
      routePath: '/7',
    });
    assert.equal(
      (await get(origin, '/t/acme/users/admin/stats')).text,
      'stats at /stats of /t/acme/users/admin/stats',
    );
    assert.equal((await get(origin, '/t/acme/users/special')).text, 'parent route wins');
    const miss = await get(origin, '/t/acme/users/admin/nope');
    assert.equal(miss.status, 404);
    const m405 = await get(origin, '/t/acme/users/7', { method: 'DELETE' });
    assert.equal(m405.status, 405);
    assert.equal(m405.headers.get('allow'), 'GET, HEAD, OPTIONS');
  });

  it('sends returned values by type', async () => {
    const app = createApp(quiet);
    app.get('/string', () => 'text');
    app.get('/buffer', () => Buffer.from([1, 2, 3]));
    app.get('/object', () => ({ a: 1, b: [true, null] }));
    app.get('/array', async () => [1, 2]);
    app.get('/number', () => 42);
    app.get('/null', () => null);
    app.get('/created-null', (_req, res) => {
      res.status(201);
      return null;
    });
    app.get('/async-undefined', async () => undefined);
    app.get('/async-status', async (_req, res) => {
      res.status(202);
    });
    app.get('/typed', (_req, res) => {
      res.type('html');
      return '<p>hi</p>';
    });
    app.get('/stream', () => Readable.from(['a', 'b', 'c']));
    app.get('/later', (_req, res) => {
      // Callback style: returning undefined synchronously leaves the response to the handler.
      setTimeout(() => res.send('later'), 5);
    });
    app.get('/json-helper', (_req, res) => res.status(201).json({ ok: true }));
    const origin = await serveApp(app);
    const s = await get(origin, '/string');
    assert.equal(s.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(s.text, 'text');
    const b = await fetch(`${origin}/buffer`);
    assert.equal(b.headers.get('content-type'), 'application/octet-stream');
    assert.deepEqual([...new Uint8Array(await b.arrayBuffer())], [1, 2, 3]);
    const o = await get(origin, '/object');
    assert.equal(o.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.deepEqual(JSON.parse(o.text), { a: 1, b: [true, null] });
    assert.equal((await get(origin, '/array')).text, '[1,2]');
    assert.equal((await get(origin, '/number')).text, '42');
    const n = await get(origin, '/null');
    assert.equal(n.status, 204);
    assert.equal(n.text, '');
    assert.equal((await get(origin, '/created-null')).status, 201);
    assert.equal((await get(origin, '/async-undefined')).status, 204);
    assert.equal((await get(origin, '/async-status')).status, 202);
    const ty = await get(origin, '/typed');
    assert.equal(ty.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal((await get(origin, '/stream')).text, 'abc');
    assert.equal((await get(origin, '/later')).text, 'later');
    const jh = await get(origin, '/json-helper');
    assert.equal(jh.status, 201);
    assert.equal(jh.text, '{"ok":true}');
  });

  it('redirects with a status, an encoded Location and a short body', async () => {
    const app = createApp(quiet);
    app.get('/old', (_req, res) => res.redirect('/new'));
    app.get('/perm', (_req, res) => res.redirect('https://example.com/a b/é?q=%20', 301));
    app.get('/bad', (_req, res) => res.redirect('/x', 200));
    const origin = await serveApp(app);
    const r = await get(origin, '/old');
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), '/new');
    assert.equal(r.text, 'Found. Redirecting to /new\n');
    const p = await get(origin, '/perm');
    assert.equal(p.status, 301);
    assert.equal(p.headers.get('location'), 'https://example.com/a%20b/%C3%A9?q=%20');
    const bad = await get(origin, '/bad');
    assert.equal(bad.status, 500);
  });

  it('rejects bad registrations at start-up and freezes after ready()', () => {
    const app = createApp();
    app.get('/u/:id', () => 'x');
    assert.throws(() => app.get('/u/:name', () => 'y'), { code: 'RAPID_ERR_ROUTER_CONFLICT' });
    assert.throws(() => app.get('no-slash', () => 'y'), { code: 'RAPID_ERR_ROUTER_INVALID_PATH' });
    // @ts-expect-error: a route needs a handler (checked at run time for JavaScript callers)
    assert.throws(() => app.get('/x'), { code: 'RAPID_ERR_APP_INVALID_HANDLER' });
    assert.throws(() => app.get('/x', 'nope' as never), { code: 'RAPID_ERR_APP_INVALID_HANDLER' });
    assert.throws(() => app.use('api', () => {}), { code: 'RAPID_ERR_APP_INVALID_PREFIX' });
    assert.throws(() => app.use('/:x', () => {}), { code: 'RAPID_ERR_APP_INVALID_PREFIX' });
    assert.throws(() => app.mount('/self', app), { code: 'RAPID_ERR_APP_INVALID_OPTION' });
    assert.throws(() => createApp({ trustProxy: ['10.0.0.0/99'] }), {
      code: 'RAPID_ERR_APP_INVALID_OPTION',
    });
    assert.throws(() => createApp({ cookieSecret: '' }), { code: 'RAPID_ERR_APP_INVALID_OPTION' });
    assert.throws(() => app.addHook('onNothing' as 'onRequest', () => {}), {
      code: 'RAPID_ERR_APP_INVALID_OPTION',
    });
    app.ready();
    const err = (() => {
      try {
        app.get('/late', () => 'x');
      } catch (e) {
        return e;
      }
      return null;
    })();
    assert.ok(err instanceof RapidError);
    assert.equal((err as RapidError).code, 'RAPID_ERR_APP_ALREADY_READY');
    assert.deepEqual(
      app.routes().map((r) => `${r.method} ${r.path}`),
      ['GET /u/:id'],
    );
  });

  it('detects apps mounted in a cycle', () => {
    const a = createApp();
    const b = createApp();
    a.mount('/b', b);
    b.mount('/a', a);
    assert.throws(() => a.ready(), { code: 'RAPID_ERR_APP_INVALID_OPTION' });
  });

  it('serves 1,000 mixed routes, each reaching its handler', async () => {
    const app = createApp(quiet);
    for (let i = 0; i < 500; i++) app.get(`/static/${i}/page`, () => `s${i}`);
    for (let i = 0; i < 500; i++)
      app.get(`/p/${i}/:id/items/:item`, (r) => `p${i}:${r.params.id}:${r.params.item}`);
    const origin = await serveApp(app);
    for (const i of [0, 17, 250, 499]) {
      assert.equal((await get(origin, `/static/${i}/page`)).text, `s${i}`);
      assert.equal((await get(origin, `/p/${i}/x/items/y`)).text, `p${i}:x:y`);
    }
  });
});
