/**
 * Static files over real sockets: media types, default documents, directory redirects, listings,
 * dotfiles, methods, HEAD, Cache-Control rules, 404 pages, mounting and fall-through.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { createStaticHandler } from '../../src/features/static/index.js';
import { serve } from '../../src/server/server.js';
import {
  makeSite,
  removeSite,
  request,
  startStatic,
  type StaticServer,
} from '../helpers/static-site.js';

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const files: Record<string, string | Buffer> = {
  'index.html': '<!doctype html><title>home</title>',
  'about/index.html': '<p>about</p>',
  'alt/home.htm': 'home.htm',
  'alt/index.html': 'alt index.html',
  'docs/a.txt': 'a',
  'docs/<img src=x onerror=alert(1)>.txt': 'xss',
  'docs/q"uote\'s & more.txt': 'q',
  'docs/sub/x.txt': 'x',
  'docs/.hidden': 'h',
  'style.css': 'body{}',
  'app.js': 'let a=1',
  'mod.mjs': 'export {}',
  'data.json': '{}',
  'logo.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>',
  'img.png': PNG,
  noext: 'raw',
  'file.weirdext': 'w',
  'notes.md': '# hi',
  '.env': 'SECRET=1',
  '.git/config': '[core]',
  '.well-known/security.txt': 'Contact: x',
  'assets/app.0123abcd.js': 'hashed',
  'assets/plain.js': 'plain',
  '404.html': '<h1>custom not found</h1>',
  'empty.txt': '',
};

let root: string;
let s: StaticServer;

before(async () => {
  root = makeSite(files);
  s = await startStatic({
    root,
    mimeTypes: { md: 'text/markdown' },
    cacheControl: [
      { match: /\.[0-9a-f]{8}\.(js|css)$/, value: 'public, max-age=31536000, immutable' },
      { match: '*.html', value: 'no-cache' },
      { match: '/assets/**', value: 'public, max-age=600' },
    ],
  });
});
after(async () => {
  await s.close();
  removeSite(root);
});

describe('media types', () => {
  const cases: [string, string][] = [
    ['/index.html', 'text/html; charset=utf-8'],
    ['/style.css', 'text/css; charset=utf-8'],
    ['/app.js', 'text/javascript; charset=utf-8'],
    ['/mod.mjs', 'text/javascript; charset=utf-8'],
    ['/data.json', 'application/json; charset=utf-8'],
    ['/logo.svg', 'image/svg+xml'],
    ['/img.png', 'image/png'],
    ['/noext', 'application/octet-stream'],
    ['/file.weirdext', 'application/octet-stream'],
    ['/notes.md', 'text/markdown; charset=utf-8'],
    ['/empty.txt', 'text/plain; charset=utf-8'],
  ];
  for (const [path, type] of cases) {
    it(`${path} is ${type}`, async () => {
      const r = await request(s.port, path);
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], type);
    });
  }

  it('sends the exact bytes, binary included', async () => {
    const r = await request(s.port, '/img.png');
    assert.deepEqual(r.body, PNG);
    assert.equal(r.headers['content-length'], String(PNG.length));
    const e = await request(s.port, '/empty.txt');
    assert.equal(e.body.length, 0);
    assert.equal(e.headers['content-length'], '0');
  });
});

describe('directories', () => {
  it('serves index.html for / and /about/', async () => {
    assert.equal((await request(s.port, '/')).body.toString(), files['index.html']);
    assert.equal((await request(s.port, '/about/')).body.toString(), '<p>about</p>');
  });

  it('redirects /about to /about/ with 301, keeping the query as sent', async () => {
    const r = await request(s.port, '/about');
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, '/about/');
    const q = await request(s.port, '/about?x=1&y=%20z');
    assert.equal(q.status, 301);
    assert.equal(q.headers.location, '/about/?x=1&y=%20z');
    const enc = await request(s.port, '/%61bout');
    assert.equal(enc.headers.location, '/%61bout/');
  });

  it('answers 404 for a directory without index and for /file/', async () => {
    assert.equal((await request(s.port, '/docs/')).status, 404);
    assert.equal((await request(s.port, '/index.html/')).status, 404);
    assert.equal((await request(s.port, '/nope/')).status, 404);
  });

  it('tries the configured default documents in order', async () => {
    const h = createStaticHandler({ root, index: ['home.htm', 'index.html'] });
    const srv = await serve({ port: 0, host: '127.0.0.1', handler: h });
    try {
      assert.equal((await request(srv.port, '/alt/')).body.toString(), 'home.htm');
      assert.equal((await request(srv.port, '/about/')).body.toString(), '<p>about</p>');
    } finally {
      await srv.close();
      h.close();
    }
  });

  it('redirect off: /about is a 404; index off: / is a 404', async () => {
    const h = createStaticHandler({ root, redirectDirectories: false, index: false });
    const srv = await serve({ port: 0, host: '127.0.0.1', handler: h });
    try {
      assert.equal((await request(srv.port, '/about')).status, 404);
      assert.equal((await request(srv.port, '/about/')).status, 404);
      assert.equal((await request(srv.port, '/')).status, 404);
    } finally {
      await srv.close();
      h.close();
    }
  });

  it('lists directories when asked, with every name escaped', async () => {
    const h = createStaticHandler({ root, listing: true });
    const srv = await serve({ port: 0, host: '127.0.0.1', handler: h });
    try {
      const r = await request(srv.port, '/docs/');
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
      const html = r.body.toString();
      assert.ok(!html.includes('<img'), 'no raw markup from file names');
      assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;.txt'));
      assert.ok(html.includes('q&quot;uote&#39;s &amp; more.txt'));
      assert.ok(html.includes('href="./sub/"'));
      assert.ok(html.includes('href="./a.txt"'));
      assert.ok(!html.includes('.hidden'), 'dotfiles are not listed');
      // The escaped link leads back to the file.
      const link = /href="\.\/(%3Cimg[^"]*)"/.exec(html)![1]!;
      const f = await request(srv.port, `/docs/${link}`);
      assert.equal(f.body.toString(), 'xss');
      // A directory with an index still serves the index.
      assert.equal((await request(srv.port, '/about/')).body.toString(), '<p>about</p>');
    } finally {
      await srv.close();
      h.close();
    }
  });
});

describe('dotfiles', () => {
  it('are hidden (404) by default, except .well-known', async () => {
    assert.equal((await request(s.port, '/.env')).status, 404);
    assert.equal((await request(s.port, '/.git/config')).status, 404);
    assert.equal((await request(s.port, '/%2egit/config')).status, 404);
    assert.equal((await request(s.port, '/docs/.hidden')).status, 404);
    const w = await request(s.port, '/.well-known/security.txt');
    assert.equal(w.status, 200);
    assert.equal(w.body.toString(), 'Contact: x');
  });

  it('deny answers 403; allow serves them; the allow list is configurable', async () => {
    const deny = createStaticHandler({ root, dotfiles: 'deny', allowDotfiles: [] });
    const allow = createStaticHandler({ root, dotfiles: 'allow' });
    const a = await serve({ port: 0, host: '127.0.0.1', handler: deny });
    const b = await serve({ port: 0, host: '127.0.0.1', handler: allow });
    try {
      assert.equal((await request(a.port, '/.env')).status, 403);
      assert.equal((await request(a.port, '/.well-known/security.txt')).status, 403);
      assert.equal((await request(b.port, '/.env')).body.toString(), 'SECRET=1');
    } finally {
      await a.close();
      await b.close();
      deny.close();
      allow.close();
    }
  });
});

describe('methods and HEAD', () => {
  it('405 with Allow for other methods on existing files, 404 when missing', async () => {
    for (const m of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
      const r = await request(s.port, '/index.html', { 'Content-Length': '0' }, m);
      assert.equal(r.status, 405, m);
      assert.equal(r.headers.allow, 'GET, HEAD');
    }
    assert.equal((await request(s.port, '/', {}, 'POST')).status, 405);
    assert.equal((await request(s.port, '/nope', {}, 'POST')).status, 404);
  });

  it('HEAD carries the GET headers and no body', async () => {
    for (const path of ['/index.html', '/img.png', '/style.css', '/about']) {
      const g = await request(s.port, path);
      const h = await request(s.port, path, {}, 'HEAD');
      assert.equal(h.status, g.status);
      assert.equal(h.body.length, 0);
      for (const k of ['content-type', 'content-length', 'etag', 'last-modified', 'location']) {
        assert.equal(h.headers[k], g.headers[k], `${path} ${k}`);
      }
    }
    const missing = await request(s.port, '/nope', {}, 'HEAD');
    assert.equal(missing.status, 404);
  });

  it('HEAD on streamed files keeps the length', async () => {
    const h = createStaticHandler({ root, cache: { maxFileSize: 0 } });
    const srv = await serve({ port: 0, host: '127.0.0.1', handler: h });
    try {
      const g = await request(srv.port, '/index.html');
      const hd = await request(srv.port, '/index.html', {}, 'HEAD');
      assert.equal(g.body.toString(), files['index.html']);
      assert.equal(hd.headers['content-length'], g.headers['content-length']);
      assert.equal(hd.headers.etag, g.headers.etag);
    } finally {
      await srv.close();
      h.close();
    }
  });
});

describe('Cache-Control rules and extra headers', () => {
  it('applies the first matching rule', async () => {
    assert.equal(
      (await request(s.port, '/assets/app.0123abcd.js')).headers['cache-control'],
      'public, max-age=31536000, immutable',
    );
    assert.equal(
      (await request(s.port, '/assets/plain.js')).headers['cache-control'],
      'public, max-age=600',
    );
    assert.equal((await request(s.port, '/index.html')).headers['cache-control'], 'no-cache');
    assert.equal((await request(s.port, '/')).headers['cache-control'], 'no-cache');
    assert.equal((await request(s.port, '/style.css')).headers['cache-control'], undefined);
  });

  it('one value for all, plus extra headers on 200 and 304', async () => {
    const h = createStaticHandler({
      root,
      cacheControl: 'public, max-age=60',
      headers: { 'X-Content-Type-Options': 'nosniff' },
    });
    const srv = await serve({ port: 0, host: '127.0.0.1', handler: h });
    try {
      const r = await request(srv.port, '/style.css');
      assert.equal(r.headers['cache-control'], 'public, max-age=60');
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      const nm = await request(srv.port, '/style.css', { 'If-None-Match': r.headers.etag! });
      assert.equal(nm.status, 304);
      assert.equal(nm.headers['cache-control'], 'public, max-age=60');
      assert.equal(nm.headers['x-content-type-options'], 'nosniff');
    } finally {
      await srv.close();
      h.close();
    }
  });
});

describe('404 page, mounting, fall-through', () => {
  it('sends the notFound page with status 404', async () => {
    const h = createStaticHandler({ root, notFound: '404.html' });
    const srv = await serve({ port: 0, host: '127.0.0.1', handler: h });
    try {
      for (let i = 0; i < 2; i++) {
        const r = await request(srv.port, '/missing.html');
        assert.equal(r.status, 404);
        assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
        assert.equal(r.body.toString(), files['404.html']);
      }
      const hd = await request(srv.port, '/missing.html', {}, 'HEAD');
      assert.equal(hd.status, 404);
      assert.equal(hd.body.length, 0);
    } finally {
      await srv.close();
      h.close();
    }
  });

  it('falls back to plain text when the 404 page is missing', async () => {
    const h = createStaticHandler({ root, notFound: 'no-such-page.html' });
    const srv = await serve({ port: 0, host: '127.0.0.1', handler: h });
    try {
      const r = await request(srv.port, '/x');
      assert.equal(r.status, 404);
      assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
    } finally {
      await srv.close();
      h.close();
    }
  });

  it('serves under a prefix', async () => {
    const h = createStaticHandler({ root, prefix: '/static/' });
    const srv = await serve({ port: 0, host: '127.0.0.1', handler: h });
    try {
      assert.equal((await request(srv.port, '/static/about/')).body.toString(), '<p>about</p>');
      assert.equal((await request(srv.port, '/static/')).body.toString(), files['index.html']);
      const r = await request(srv.port, '/static?a=b');
      assert.equal(r.status, 301);
      assert.equal(r.headers.location, '/static/?a=b');
      assert.equal((await request(srv.port, '/staticx/index.html')).status, 404);
      assert.equal((await request(srv.port, '/index.html')).status, 404);
    } finally {
      await srv.close();
      h.close();
    }
  });

  it('calls next instead of answering 404 or 405', async () => {
    const h = createStaticHandler({ root });
    const srv = await serve({
      port: 0,
      host: '127.0.0.1',
      handler: (req, res) =>
        h(req, res, () => {
          res.setHeader('Content-Type', 'text/plain');
          res.send(`next ${req.method} ${req.path}`);
        }),
    });
    try {
      assert.equal((await request(srv.port, '/missing')).body.toString(), 'next GET /missing');
      assert.equal(
        (await request(srv.port, '/index.html', {}, 'POST')).body.toString(),
        'next POST /index.html',
      );
      assert.equal((await request(srv.port, '/.env')).body.toString(), 'next GET /.env');
      assert.equal((await request(srv.port, '/index.html')).body.toString(), files['index.html']);
    } finally {
      await srv.close();
      h.close();
    }
  });
});

describe('special files and options', () => {
  it('never serves a FIFO (404, no hang)', async (t) => {
    try {
      execFileSync('mkfifo', [`${root}/pipe.txt`]);
    } catch {
      t.skip('mkfifo not available');
      return;
    }
    assert.equal((await request(s.port, '/pipe.txt')).status, 404);
  });

  it('refuses a missing root and bad options with catalog codes', () => {
    assert.throws(() => createStaticHandler({ root: `${root}/nope` }), {
      code: 'RAPID_ERR_STATIC_INVALID_ROOT',
    });
    assert.throws(() => createStaticHandler({ root: `${root}/index.html` }), {
      code: 'RAPID_ERR_STATIC_INVALID_ROOT',
    });
    for (const bad of [
      { dotfiles: 'sometimes' },
      { followSymlinks: 'never' },
      { index: ['a/b'] },
      { prefix: 'static' },
      { maxRanges: 0 },
      { compression: { encodings: ['zstd'] } },
      { compression: { brotliQuality: 12 } },
      { cache: { maxBytes: -1 } },
      { headers: { 'bad name': 'x' } },
      { headers: { ok: 'line\r\nbreak' } },
      { notFound: '../outside.html' },
    ]) {
      assert.throws(
        () => createStaticHandler({ root, ...(bad as object) }),
        {
          code: 'RAPID_ERR_STATIC_INVALID_OPTION',
        },
        JSON.stringify(bad),
      );
    }
  });
});
