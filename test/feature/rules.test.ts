/**
 * Header rules, redirects and rewrites over real sockets: headers on static files (cached,
 * prepared responses included), on streamed and error responses, removal of what a handler set,
 * repeated field lines (raw socket); redirect statuses, queries, absolute targets, encoded and
 * safe Locations; rewrites served by the static handler, the original url kept, chained rules,
 * and a loop ending in 500.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { E, type RapidError } from '../../src/core/errors.js';
import type { Handler } from '../../src/core/types.js';
import { createStaticHandler } from '../../src/features/static/index.js';
import {
  createHeaderRules,
  createRedirects,
  createRewrites,
  MAX_REWRITES,
} from '../../src/features/rules/index.js';
import { chain, echo, fetchFrom, rawFrom, startOn, tempDir } from '../helpers/access.js';
import { writeTree } from '../helpers/static-site.js';

/** `bad(rules, /message/)` asserts that `create(rules)` throws `code` with that message. */
function refuses(create: (rules: never) => unknown, code: string) {
  return (rules: unknown, message: RegExp): void =>
    assert.throws(
      () => create(rules as never),
      (err: RapidError) => err.code === code && message.test(err.message),
    );
}

const root = tempDir('rapid-rules-');
writeTree(root, {
  'index.html': '<h1>home</h1>',
  'docs/a.txt': 'text a',
  'app.js': 'let x = 1',
  'blog/post.html': 'post',
});

describe('header rules', async () => {
  const files = createStaticHandler({ root, cacheControl: 'public, max-age=60' });
  const headers = createHeaderRules([
    { set: { 'X-Frame-Options': 'DENY', 'X-Content-Type-Options': 'nosniff' } },
    {
      path: '*.txt',
      set: { 'Cache-Control': 'no-store', 'Content-Type': 'text/x-note' },
      remove: ['ETag'],
    },
    {
      path: '/api',
      remove: ['X-Powered-By', 'X-Frame-Options'],
      add: { Vary: ['Origin', 'Accept'] },
    },
    { path: '/api/v2', add: { 'Set-Cookie': 'a=1' } },
    { path: '/api/v2', add: { 'Set-Cookie': 'b=2' } },
  ]);
  const app: Handler = (req, res) => {
    if (req.path.startsWith('/api')) {
      res.setHeader('X-Powered-By', 'handler');
      res.setHeader('Vary', 'Cookie');
      res.json({ ok: true });
    } else if (req.path === '/stream') {
      res.setHeader('Content-Type', 'text/plain');
      res.write('a'.repeat(20_000));
      setImmediate(() => res.end('b'));
    } else if (req.path === '/fail') {
      throw new Error('boom');
    } else {
      return files(req, res);
    }
  };
  const { port } = await startOn('127.0.0.1', chain([headers], app));
  const origin = `http://127.0.0.1:${port}`;

  it('site-wide rules reach static files, first load and cache hits alike', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await fetchFrom(origin, '/');
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-frame-options'], 'DENY');
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.equal(r.headers['cache-control'], 'public, max-age=60');
      assert.ok(r.headers.etag !== undefined);
    }
  });

  it('path rules replace and remove fields of prepared (cached) responses', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await rawFrom(
        port,
        'GET /docs/a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n',
      );
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), 'text a');
      assert.equal(r.headers['cache-control'], 'no-store');
      assert.equal(r.headers['content-type'], 'text/x-note');
      assert.equal(r.headers.etag, undefined);
      assert.equal(r.headers['x-frame-options'], 'DENY');
      // Each field exactly once.
      assert.equal(r.head.match(/^cache-control:/gim)?.length, 1);
      assert.equal(r.head.match(/^content-type:/gim)?.length, 1);
    }
    // A 304 from the cache gets the same treatment.
    const first = await fetchFrom(origin, '/app.js');
    const etag = first.headers.etag as string;
    const r = await fetchFrom(origin, '/app.js', { headers: { 'if-none-match': etag } });
    assert.equal(r.status, 304);
    assert.equal(r.headers['x-frame-options'], 'DENY');
  });

  it('rules remove and extend what a handler set; add keeps separate field lines', async () => {
    const r = await rawFrom(port, 'GET /api/v2/x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-powered-by'], undefined);
    assert.equal(r.headers['x-frame-options'], undefined);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.deepEqual(r.head.match(/^vary: .*$/gim), [
      'Vary: Cookie',
      'Vary: Origin',
      'Vary: Accept',
    ]);
    assert.deepEqual(r.head.match(/^set-cookie: .*$/gim), ['Set-Cookie: a=1', 'Set-Cookie: b=2']);
    assert.equal(r.body.toString(), '{"ok":true}');
  });

  it('streamed responses and error pages get the rules too', async () => {
    const s = await rawFrom(port, 'GET /stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
    assert.equal(s.headers['transfer-encoding'], 'chunked');
    assert.equal(s.headers['x-frame-options'], 'DENY');
    assert.equal(s.body.length, 20_001);
    const f = await fetchFrom(origin, '/fail');
    assert.equal(f.status, 500);
    assert.equal(f.headers['x-frame-options'], 'DENY');
  });

  it('refuses bad rules at creation', () => {
    const bad = refuses(createHeaderRules, E.ACCESS_INVALID_HEADER_RULE.code);
    bad([{ set: { 'Bad Name': 'x' } }], /rules\[0\]\.set: "Bad Name" is not a field name/);
    bad([{ set: { 'X-A': 'a\r\nb' } }], /control characters/);
    bad([{ set: { 'Content-Length': '5' } }], /managed by the server/);
    bad([{ remove: ['Transfer-Encoding'] }], /managed by the server/);
    bad([{ remove: ['Date'] }], /Date is always sent/);
    bad([{ add: { 'X-A': [] } }], /must have a value/);
    bad([{ sett: {} }], /unknown setting "sett"/);
    bad([{ path: '/a/../b', set: {} }], /rules\[0\]\.path/);
    bad({}, /rules: must be an array/);
    files.close();
  });
});

describe('redirects', async () => {
  const redirects = createRedirects([
    { from: '^/old/(.*)$', to: '/new/$1', status: 301 },
    { from: '/moved', to: 'https://example.com/landing' },
    { from: '/found', to: '/f', status: 302 },
    { from: '/see', to: '/other?fixed=1', status: 303 },
    { from: '/temp', to: '/t', status: 307 },
    { from: '/perm', to: '/p?', status: 308 },
    { from: '^/go(.*)$', to: '/$1' },
    { from: '/caf\u00e9', to: '/men\u00fc/k\u00e4se' },
    { from: '^/shop/([^/]+)/(.*)$', to: 'https://$1.shop.example/$2' },
    { from: '^/CASE$', to: '/case', ignoreCase: true },
  ]);
  const { port } = await startOn('127.0.0.1', chain([redirects], echo));
  const origin = `http://127.0.0.1:${port}`;
  const go = async (path: string, method = 'GET') => {
    const r = await fetchFrom(origin, path, { method });
    return { status: r.status, location: r.headers.location, body: r.body };
  };

  it('regular expressions with captures; the query is kept', async () => {
    assert.deepEqual(await go('/old/a/b.html?x=1&y=2'), {
      status: 301,
      location: '/new/a/b.html?x=1&y=2',
      body: 'Moved Permanently. Redirecting to /new/a/b.html?x=1&y=2\n',
    });
  });

  it('each status; a target query replaces the request query, a trailing "?" drops it', async () => {
    assert.equal((await go('/moved?q=1')).location, 'https://example.com/landing?q=1');
    assert.equal((await go('/moved')).status, 301);
    assert.equal((await go('/found')).status, 302);
    assert.deepEqual(await go('/see?q=1', 'POST'), {
      status: 303,
      location: '/other?fixed=1',
      body: 'See Other. Redirecting to /other?fixed=1\n',
    });
    assert.equal((await go('/temp', 'PUT')).status, 307);
    assert.equal((await go('/perm?drop=me')).location, '/p');
    assert.equal((await go('/perm?drop=me')).status, 308);
  });

  it('Location is encoded and stays on this origin when built from the path', async () => {
    assert.equal((await go('/caf%C3%A9')).location, '/men%C3%BC/k%C3%A4se');
    assert.equal((await go('/go//evil.example/x')).location, '/evil.example/x');
    const raw = await rawFrom(
      port,
      'GET /go/%5Cevil.example HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n',
    );
    assert.equal(raw.headers.location, '/%5Cevil.example');
    assert.equal((await go('/shop/books/a/b')).location, 'https://books.shop.example/a/b');
    assert.equal(
      (await go('/shop/evil.com%2F@x/y')).location,
      'https://evil.com%252F%40x.shop.example/y',
    );
  });

  it('ignoreCase; non-matching requests go on; HEAD has no body', async () => {
    assert.equal((await go('/case')).status, 301);
    assert.deepEqual(await go('/older'), {
      status: 200,
      location: undefined,
      body: 'GET /older url=/older',
    });
    const head = await rawFrom(
      port,
      'HEAD /moved HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n',
      {
        noBody: true,
      },
    );
    assert.equal(head.status, 301);
    assert.equal(head.headers.location, 'https://example.com/landing');
  });

  it('the first matching rule wins, exact or regular expression', async () => {
    const r = createRedirects([
      { from: '^/a.*$', to: '/by-regex' },
      { from: '/abc', to: '/by-exact' },
      { from: '/xyz', to: '/exact-first' },
      { from: '^/x.*$', to: '/regex-second' },
    ]);
    const { port: p2 } = await startOn('127.0.0.1', chain([r], echo));
    const loc = async (path: string) =>
      (await fetchFrom(`http://127.0.0.1:${p2}`, path)).headers.location;
    assert.equal(await loc('/abc'), '/by-regex');
    assert.equal(await loc('/xyz'), '/exact-first');
    assert.equal(await loc('/xy'), '/regex-second');
  });

  it('refuses bad rules at creation', () => {
    const bad = refuses(createRedirects, E.ACCESS_INVALID_REDIRECT.code);
    bad([{ from: '/a', to: '/b', status: 200 }], /rules\[0\]\.status/);
    bad([{ from: '^/(', to: '/b' }], /rules\[0\]\.from: is not a valid regular expression/);
    bad([{ from: '^/(a)$', to: '/$3' }], /rules\[0\]\.to: uses \$3/);
    bad([{ from: 'a', to: '/b' }], /must be a path/);
    bad([{ from: '/a', to: 'javascript://x' }], /http/);
    bad([{ from: '/a', to: '/b', code: 301 }], /unknown setting "code"/);
  });
});

describe('rewrites', async () => {
  const files = createStaticHandler({ root });
  const rewrites = createRewrites([
    { from: '^/article/(\\d+)$', to: '/blog/post.html?id=$1' },
    { from: '/notes', to: '/docs/a.txt' },
    { from: '^/step1/(.*)$', to: '/step2/$1', last: false },
    { from: '^/step2/(.*)$', to: '/step3/$1?via=2' },
    { from: '^/echo/(.*)$', to: '/echoed/$1' },
  ]);
  const app: Handler = (req, res) =>
    req.path.startsWith('/step') || req.path.startsWith('/echo') ? echo(req, res) : files(req, res);
  const { port } = await startOn('127.0.0.1', chain([rewrites], app));
  const origin = `http://127.0.0.1:${port}`;

  it('the static handler serves the rewritten path', async () => {
    const r = await fetchFrom(origin, '/article/42');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'post');
    const n = await fetchFrom(origin, '/notes');
    assert.equal(n.body, 'text a');
    assert.equal(n.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal((await fetchFrom(origin, '/article/x')).status, 404);
  });

  it('path and search change, url stays as received; the query is kept or replaced', async () => {
    assert.equal(
      (await fetchFrom(origin, '/echo/a%20b?k=v')).body,
      'GET /echoed/a%20b?k=v url=/echo/a%20b?k=v',
    );
    assert.equal(
      (await fetchFrom(origin, '/step1/z?q=1')).body,
      'GET /step3/z?via=2 url=/step1/z?q=1',
    );
    assert.equal(
      (await fetchFrom(origin, '/step2/z?q=1')).body,
      'GET /step3/z?via=2 url=/step2/z?q=1',
    );
  });

  it('a request rewritten again and again ends in a 500 (loop bound)', async () => {
    const again = createRewrites([{ from: '^/loop/(\\d+)$', to: '/loop/$1' }]);
    let runs = 0;
    const looping: Handler = (req, res) => {
      runs++;
      // A chain that sends the request through the rewrites again, forever.
      return again(req, res, () => looping(req, res));
    };
    const { port: p2 } = await startOn('127.0.0.1', looping);
    const r = await fetchFrom(`http://127.0.0.1:${p2}`, '/loop/1');
    assert.equal(r.status, 500);
    assert.equal(r.body, `${E.ACCESS_REWRITE_LOOP.message}\n`);
    assert.equal(runs, MAX_REWRITES + 1);
  });

  it('refuses bad rules at creation', () => {
    const bad = refuses(createRewrites, E.ACCESS_INVALID_REWRITE.code);
    bad([{ from: '/a', to: 'https://other.example/' }], /internal rewrite stays on this site/);
    bad([{ from: '/a', to: '/b', last: 'yes' }], /rules\[0\]\.last: must be a boolean/);
    bad([{ from: '/a' }], /rules\[0\]\.to/);
    files.close();
  });
});
