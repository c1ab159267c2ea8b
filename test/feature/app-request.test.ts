/**
 * Request and response helpers over real sockets: query (repeated keys as arrays), cookies
 * (parse, every Set-Cookie attribute, signed cookies and tampering), trustProxy variants with
 * X-Forwarded-* and Forwarded (RFC 7239), the body-parser registry, accepts(), locals, type(),
 * and the injected file sender.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createApp, signCookie, type App, type AppOptions } from '../../src/app/index.js';
import type { BodyParser, FileSender } from '../../src/app/types.js';
import { E, RapidError } from '../../src/core/errors.js';
import { exchange, req as rawReq, type RawResponse } from '../helpers/raw.js';
import { projectRoot } from '../helpers/paths.js';
import { startServer } from '../helpers/server.js';

async function serveApp(app: App): Promise<{ origin: string; port: number }> {
  const s = await startServer(app.handler);
  return { origin: s.origin, port: s.port };
}

async function raw(port: number, data: Buffer): Promise<RawResponse> {
  const { responses, client } = await exchange(port, data, { responses: 1 });
  client.destroy();
  return responses[0]!;
}

describe('app request helpers', () => {
  it('parses the query once, lazily, with repeated keys as arrays', async () => {
    const app = createApp();
    app.get('/q', (req) => ({ q: req.query, same: req.query === req.query }));
    const { origin } = await serveApp(app);
    const r = await fetch(`${origin}/q?a=1&a=2&b=&c&d=x+y&e=%C3%A9&a=3&__proto__=p&f=%zz`);
    // JSON.parse makes "__proto__" an own key (an object literal would set the prototype).
    const expected: unknown = JSON.parse(
      '{"q":{"a":["1","2","3"],"b":"","c":"","d":"x y","e":"é","__proto__":"p","f":"%zz"},"same":true}',
    );
    assert.deepEqual(await r.json(), expected);
  });

  it('parses cookies', async () => {
    const app = createApp();
    app.get('/c', (req) => req.cookies);
    const { port } = await serveApp(app);
    const r = await raw(
      port,
      rawReq('GET', '/c', { Cookie: 'a=1; b="quoted"; c=caf%C3%A9; a=second; bad; d=%E0%A4%A' }),
    );
    assert.deepEqual(JSON.parse(r.text()), { a: '1', b: 'quoted', c: 'café', d: '%E0%A4%A' });
  });

  it('sets cookies with every attribute, one Set-Cookie line each, and clears them', async () => {
    const app = createApp({ logError: () => {} });
    app.get('/set', (_req, res) => {
      res.cookie('plain', 'v a;l');
      res.cookie('all', 'x', {
        maxAge: 3600.7,
        expires: new Date(Date.UTC(2030, 0, 2, 3, 4, 5)),
        path: '/app',
        domain: 'example.com',
        secure: true,
        httpOnly: true,
        sameSite: 'lax',
        partitioned: true,
        priority: 'High',
      });
      res.clearCookie('old', { path: '/app' });
      return 'ok';
    });
    app.get('/bad', (_req, res) => {
      res.cookie('bad name', 'x');
      return 'unreachable';
    });
    const { port } = await serveApp(app);
    const r = await raw(port, rawReq('GET', '/set'));
    assert.deepEqual(r.all('set-cookie'), [
      'plain=v%20a%3Bl; Path=/',
      'all=x; Max-Age=3600; Domain=example.com; Path=/app; Expires=Wed, 02 Jan 2030 03:04:05 GMT; HttpOnly; Secure; Partitioned; Priority=High; SameSite=Lax',
      'old=; Path=/app; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
    ]);
    const bad = await raw(port, rawReq('GET', '/bad'));
    assert.equal(bad.status, 500);
  });

  it('signs cookies with HMAC-SHA256 and drops tampered ones', async () => {
    const app = createApp({ cookieSecret: ['new-secret', 'old-secret'], logError: () => {} });
    app.get('/sign', (_req, res) => {
      res.cookie('session', 'user=42', { signed: true, httpOnly: true });
      return 'ok';
    });
    app.get('/read', (req) => ({ signed: req.signedCookies, raw: req.cookies }));
    const { port } = await serveApp(app);
    const set = (await raw(port, rawReq('GET', '/sign'))).header('set-cookie')!;
    const value = decodeURIComponent(/^session=([^;]+)/.exec(set)![1]!);
    assert.equal(value, signCookie('user=42', 'new-secret'));
    assert.match(value, /^s:user=42\.[A-Za-z0-9+/]{43}$/);

    const read = async (cookie: string) =>
      JSON.parse((await raw(port, rawReq('GET', '/read', { Cookie: cookie }))).text()) as {
        signed: Record<string, string>;
      };
    assert.deepEqual((await read(`session=${encodeURIComponent(value)}`)).signed, {
      session: 'user=42',
    });
    // Signed with the previous secret: still accepted (rotation).
    const old = encodeURIComponent(signCookie('user=7', 'old-secret'));
    assert.deepEqual((await read(`session=${old}`)).signed, { session: 'user=7' });
    // Tampered value, tampered signature, unsigned, wrong secret: all left out.
    const tampered = encodeURIComponent(value.replace('user=42', 'user=43'));
    const badSig = encodeURIComponent(`${value.slice(0, -1)}${value.endsWith('A') ? 'B' : 'A'}`);
    const foreign = encodeURIComponent(signCookie('user=42', 'attacker'));
    for (const c of [tampered, badSig, 'user=42', foreign, 's:', 's:.']) {
      assert.deepEqual((await read(`session=${c}`)).signed, {}, c);
    }

    const noSecret = createApp({ logError: () => {} });
    noSecret.get('/sign', (_req, res) => {
      res.cookie('s', 'v', { signed: true });
      return 'x';
    });
    const ns = await serveApp(noSecret);
    const r = await raw(ns.port, rawReq('GET', '/sign'));
    assert.equal(r.status, 500);
    assert.match(r.text(), new RegExp(E.APP_NO_COOKIE_SECRET.code));
  });

  describe('trustProxy', () => {
    async function info(options: AppOptions, headers: Record<string, string>) {
      const app = createApp(options);
      app.get('/info', (req) => ({
        ip: req.ip,
        ips: req.ips,
        protocol: req.protocol,
        hostname: req.hostname,
      }));
      const { port } = await serveApp(app);
      const r = await raw(port, rawReq('GET', '/info', { Host: 'origin.test:8080', ...headers }));
      return JSON.parse(r.text()) as {
        ip: string;
        ips: string[];
        protocol: string;
        hostname: string;
      };
    }
    const xff = {
      'X-Forwarded-For': '203.0.113.9, 10.0.0.2, 10.0.0.1',
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-Host': 'public.example',
    };

    it('believes nothing by default', async () => {
      assert.deepEqual(await info({}, xff), {
        ip: '127.0.0.1',
        ips: [],
        protocol: 'http',
        hostname: 'origin.test',
      });
    });

    it('true: the left-most address is the client', async () => {
      assert.deepEqual(await info({ trustProxy: true }, xff), {
        ip: '203.0.113.9',
        ips: ['203.0.113.9', '10.0.0.2', '10.0.0.1'],
        protocol: 'https',
        hostname: 'public.example',
      });
    });

    it('a hop count trusts that many proxies from the socket', async () => {
      assert.equal((await info({ trustProxy: 1 }, xff)).ip, '10.0.0.1');
      assert.equal((await info({ trustProxy: 2 }, xff)).ip, '10.0.0.2');
      assert.deepEqual((await info({ trustProxy: 2 }, xff)).ips, ['10.0.0.2', '10.0.0.1']);
      assert.equal((await info({ trustProxy: 10 }, xff)).ip, '203.0.113.9');
    });

    it('addresses and CIDRs: the first untrusted hop is the client', async () => {
      const opts = { trustProxy: ['loopback', '10.0.0.0/8'] };
      assert.equal((await info(opts, xff)).ip, '203.0.113.9');
      const spoofed = { 'X-Forwarded-For': '1.1.1.1, 198.51.100.7, 10.0.0.1' };
      assert.equal((await info(opts, spoofed)).ip, '198.51.100.7');
      // The peer (127.0.0.1) is not trusted: nothing forwarded is believed.
      const r = await info({ trustProxy: '10.0.0.0/8' }, xff);
      assert.deepEqual(r, { ip: '127.0.0.1', ips: [], protocol: 'http', hostname: 'origin.test' });
      assert.equal((await info({ trustProxy: '127.0.0.1/32, 10.0.0.1' }, xff)).ip, '10.0.0.2');
    });

    it('a function decides per address and hop', async () => {
      const trustProxy = (addr: string, hop: number) => addr === '127.0.0.1' || hop < 2;
      assert.equal((await info({ trustProxy }, xff)).ip, '10.0.0.2');
    });

    it('reads RFC 7239 Forwarded (preferred over X-Forwarded-*), quoted IPv6 and ports', async () => {
      const r = await info(
        { trustProxy: ['loopback', '2001:db8::/32'] },
        {
          Forwarded:
            'for=192.0.2.60;proto=https;host="shop.example";by=203.0.113.43, for="[2001:db8:cafe::17]:4711";proto=http',
          'X-Forwarded-For': '9.9.9.9',
        },
      );
      assert.deepEqual(r, {
        ip: '192.0.2.60',
        ips: ['192.0.2.60', '2001:db8:cafe::17'],
        protocol: 'https',
        hostname: 'shop.example',
      });
      const hops1 = await info(
        { trustProxy: 1 },
        { Forwarded: 'for=192.0.2.60;proto=https, for=198.51.100.1;proto=http;host=inner.test' },
      );
      assert.deepEqual(hops1, {
        ip: '198.51.100.1',
        ips: ['198.51.100.1'],
        protocol: 'http',
        hostname: 'inner.test',
      });
    });

    it('takes proto and host from a trusted proxy that forwards no address', async () => {
      const r = await info(
        { trustProxy: 'loopback' },
        { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'edge.example:443' },
      );
      assert.deepEqual(r, {
        ip: '127.0.0.1',
        ips: [],
        protocol: 'https',
        hostname: 'edge.example',
      });
    });
  });

  it('parses bodies through the registered parsers, once, and answers 415 otherwise', async () => {
    let calls = 0;
    const upper: BodyParser = {
      types: ['text/*'],
      limit: 16,
      async parse(req, ctx) {
        calls++;
        const body = await req.body();
        if (body.length > ctx.limit) throw new RapidError(E.BODY_TOO_LARGE);
        return `${ctx.mediaType};${ctx.charset};${body.toString('utf8').toUpperCase()}`;
      },
    };
    const jsonish: BodyParser = {
      types: ['application/*+json', 'application/json'],
      async parse(req) {
        return { parsed: await req.json() };
      },
    };
    const app = createApp({ bodyParsers: [upper, jsonish], logError: () => {} });
    app.post('/p', async (req) => {
      const a = await req.parseBody();
      const b = await req.parseBody();
      return { a, same: a === b };
    });
    const { origin } = await serveApp(app);
    const post = (type: string | null, body: string) =>
      fetch(`${origin}/p`, {
        method: 'POST',
        headers: type === null ? {} : { 'content-type': type },
        body,
      });
    const t = await post('text/plain; charset=UTF-8', 'hello');
    assert.deepEqual(await t.json(), { a: 'text/plain;utf-8;HELLO', same: true });
    assert.equal(calls, 1);
    const j = await post('application/vnd.api+json', '{"x":1}');
    assert.deepEqual(await j.json(), { a: { parsed: { x: 1 } }, same: true });
    const big = await post('text/plain', 'x'.repeat(17));
    assert.equal(big.status, 413);
    const unsupported = await post('image/png', 'png');
    assert.equal(unsupported.status, 415);
    assert.equal(
      ((await unsupported.json()) as { error: { code: string } }).error.code,
      'RAPID_ERR_BODY_UNSUPPORTED_TYPE',
    );
    const empty = await fetch(`${origin}/p`, { method: 'POST' });
    assert.deepEqual(await empty.json(), { same: true });
  });

  it('negotiates with accepts(), keeps locals per request, sets types', async () => {
    const app = createApp();
    app.use((req, _res, next) => {
      req.locals.user = req.header('x-user') ?? 'anonymous';
      return next();
    });
    app.get('/neg', (req, res) => {
      const kind = req.accepts('json', 'html');
      res.type(kind === 'html' ? '.html' : 'application/vnd.custom+json');
      return `${String(kind)} for ${String(req.locals.user)}`;
    });
    const { origin } = await serveApp(app);
    const a = await fetch(`${origin}/neg`, { headers: { accept: 'text/html', 'x-user': 'ann' } });
    assert.equal(await a.text(), 'html for ann');
    assert.equal(a.headers.get('content-type'), 'text/html; charset=utf-8');
    const b = await fetch(`${origin}/neg`, { headers: { accept: 'application/json' } });
    assert.equal(await b.text(), 'json for anonymous');
    assert.equal(b.headers.get('content-type'), 'application/vnd.custom+json');
    const c = await fetch(`${origin}/neg`, { headers: { accept: 'image/png' } });
    assert.equal(await c.text(), 'false for anonymous');
  });

  it('sends files through the injected file sender, and fails clearly without one', async () => {
    const sendFile: FileSender = async (_req, res, path, opts) => {
      const root = String(opts?.root ?? projectRoot);
      const data = await readFile(join(root, path));
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.send(data);
    };
    const app = createApp({ sendFile, logError: () => {} });
    app.get('/file', (_req, res) => res.sendFile('package.json', { root: projectRoot }));
    app.get('/missing', (_req, res) => res.sendFile('no-such-file'));
    const without = createApp({ logError: () => {} });
    without.get('/file', (_req, res) => res.sendFile('package.json'));
    const { origin } = await serveApp(app);
    const f = await fetch(`${origin}/file`);
    assert.equal(f.status, 200);
    assert.match(await f.text(), /"name": "rapid"/);
    assert.equal((await fetch(`${origin}/missing`)).status, 500);
    const w = await serveApp(without);
    const r = await fetch(`${w.origin}/file`);
    assert.equal(r.status, 500);
    assert.equal(
      ((await r.json()) as { error: { code: string } }).error.code,
      'RAPID_ERR_APP_SEND_FILE_UNAVAILABLE',
    );
  });
});
