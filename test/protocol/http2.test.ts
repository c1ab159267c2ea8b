/**
 * HTTP/2 over real sockets with Node's http2 client, undici (allowH2) and curl: requests and
 * responses through the RapidRequest/RapidResponse model, bodies and their limits, streaming,
 * concurrency and settings, connection-specific headers, errors, timeouts, h2c with prior
 * knowledge, client resets, rapid reset and GOAWAY on graceful shutdown.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { Agent, fetch as undiciFetch } from 'undici';
import { E, RapidError } from '../../src/core/errors.js';
import type { Handler, Limits, RapidRequest } from '../../src/core/types.js';
import { serve, type RapidServer } from '../../src/server/server.js';
import { cleanupCerts, h2connect, h2request, makeCert, run } from '../helpers/tls.js';

after(cleanupCerts);
const cert = makeCert('localhost', '127.0.0.1');

const servers: RapidServer[] = [];
const sessions: http2.ClientHttp2Session[] = [];
after(async () => {
  for (const s of sessions) s.destroy();
  await Promise.all(servers.map((s) => s.close(1000)));
});

/** Every test runs on both HTTP/2 engines. */
type Engine = 'rapid' | 'node';
const ENGINES: Engine[] = ['rapid', 'node'];

interface Started {
  server: RapidServer;
  origin: string;
  errors: { err: unknown; req: RapidRequest | null }[];
}

async function start(
  handler: Handler,
  opts: { limits?: Partial<Limits>; h2c?: boolean; engine?: Engine } = {},
): Promise<Started> {
  const errors: Started['errors'] = [];
  const server = await serve({
    port: 0,
    host: '127.0.0.1',
    handler,
    limits: opts.limits,
    http2Engine: opts.engine ?? 'rapid',
    ...(opts.h2c === true ? { h2c: true } : { tls: { cert: cert.cert, key: cert.key } }),
    onError: (err, req) => errors.push({ err, req }),
  });
  servers.push(server);
  const scheme = opts.h2c === true ? 'http' : 'https';
  return { server, origin: `${scheme}://127.0.0.1:${server.port}`, errors };
}

async function connect(origin: string): Promise<http2.ClientHttp2Session> {
  const s = await h2connect(origin);
  sessions.push(s);
  return s;
}

const echo: Handler = async (req, res) => {
  if (req.path === '/body') {
    const body = await req.body();
    res.setHeader('Content-Type', 'application/octet-stream');
    res.send(body);
    return;
  }
  if (req.path === '/stream-in') {
    let n = 0;
    for await (const chunk of req) n += chunk.length;
    res.json({ n });
    return;
  }
  res.json({
    method: req.method,
    url: req.url,
    path: req.path,
    search: req.search,
    version: req.httpVersion,
    host: req.host,
    secure: req.secure,
    remote: req.remoteAddress,
    cookie: req.header('cookie') ?? null,
    hostHeader: req.headers.host ?? null,
    pseudo: req.rawHeaders.some((n, i) => i % 2 === 0 && n.startsWith(':')),
    hasBody: req.hasBody,
    contentLength: req.contentLength,
  });
};

for (const engine of ENGINES) {
  const begin = (handler: Handler, opts: { limits?: Partial<Limits>; h2c?: boolean } = {}) =>
    start(handler, { ...opts, engine });

  describe(`HTTP/2 over TLS (${engine} engine)`, () => {
    it('maps a stream onto RapidRequest and answers through RapidResponse', async () => {
      const { origin } = await begin(echo);
      const s = await connect(origin);
      const r = await h2request(s, {
        ':path': '/a/b?x=1',
        cookie: ['a=1', 'b=2'],
      });
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
      assert.ok(typeof r.headers.date === 'string');
      const j = JSON.parse(r.body.toString()) as Record<string, unknown>;
      assert.deepEqual(j, {
        method: 'GET',
        url: '/a/b?x=1',
        path: '/a/b',
        search: '?x=1',
        version: '2.0',
        host: new URL(origin).host,
        secure: true,
        remote: '127.0.0.1',
        cookie: 'a=1; b=2',
        hostHeader: new URL(origin).host,
        pseudo: false,
        hasBody: false,
        contentLength: 0,
      });
      assert.equal(r.headers['content-length'], String(r.body.length));
    });

    it('advertises its limits in SETTINGS', async () => {
      const { origin } = await begin(echo, {
        limits: { http2MaxConcurrentStreams: 7, maxHeaderBytes: 9000 },
      });
      const s = await connect(origin);
      await h2request(s, { ':path': '/' }); // the server's SETTINGS came before its response
      assert.equal(s.remoteSettings.maxConcurrentStreams, 7);
      assert.equal(s.remoteSettings.maxHeaderListSize, 9000);
      assert.equal(s.remoteSettings.enablePush, false);
    });

    it('reads request bodies (whole and streamed) and enforces maxBodyBytes', async () => {
      let called = 0;
      const { origin } = await begin(
        (req, res) => {
          called++;
          return echo(req, res);
        },
        { limits: { maxBodyBytes: 100_000 } },
      );
      const s = await connect(origin);
      const body = Buffer.alloc(90_000, 7);
      const r = await h2request(s, { ':method': 'POST', ':path': '/body' }, body);
      assert.equal(r.status, 200);
      assert.ok(r.body.equals(body));
      const st = await h2request(s, { ':method': 'PUT', ':path': '/stream-in' }, body);
      assert.deepEqual(JSON.parse(st.body.toString()), { n: 90_000 });
      // No content-length, too big: the body read fails with 413.
      const big = await h2request(
        s,
        { ':method': 'POST', ':path': '/body' },
        Buffer.alloc(150_000),
      );
      assert.equal(big.status, 413);
      // A declared length over the limit is refused before the handler runs.
      const before = called;
      const declared = await h2request(
        s,
        { ':method': 'POST', ':path': '/body', 'content-length': '200000' },
        Buffer.alloc(10),
      ).catch((err: Error) => err);
      if (!(declared instanceof Error)) assert.equal(declared.status, 413);
      assert.equal(called, before);
      // The session is still usable.
      assert.equal((await h2request(s, { ':path': '/' })).status, 200);
    });

    it('streams responses with backpressure and answers HEAD without a body', async () => {
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const { origin } = await begin(async (req, res) => {
        res.setHeader('Content-Type', 'text/plain');
        if (req.method === 'HEAD') {
          res.send('twelve bytes');
          return;
        }
        for (let i = 0; i < 40; i++) if (!res.write(chunk)) await res.drain();
        res.end('end');
      });
      const s = await connect(origin);
      const r = await h2request(s, { ':path': '/' });
      assert.equal(r.body.length, 40 * chunk.length + 3);
      assert.equal(r.headers['content-length'], undefined);
      const head = await h2request(s, { ':method': 'HEAD', ':path': '/' });
      assert.equal(head.headers['content-length'], '12');
      assert.equal(head.body.length, 0);
    });

    it('serves many concurrent streams on one session', async () => {
      const { origin } = await begin(async (req, res) => {
        await new Promise((r) => setImmediate(r));
        res.send(req.path);
      });
      const s = await connect(origin);
      const replies = await Promise.all(
        Array.from({ length: 80 }, (_, i) => h2request(s, { ':path': `/n${i}` })),
      );
      replies.forEach((r, i) => assert.equal(r.body.toString(), `/n${i}`));
    });

    it('never sends connection-specific headers', async () => {
      const { origin } = await begin((_req, res) => {
        res.setHeader('Connection', 'close');
        res.setHeader('Keep-Alive', 'timeout=5');
        res.setHeader('Transfer-Encoding', 'chunked');
        res.setHeader('Upgrade', 'h2c');
        res.setHeader('Proxy-Connection', 'keep-alive');
        res.setHeader('X-Kept', 'yes');
        res.appendHeader('Set-Cookie', 'a=1');
        res.appendHeader('Set-Cookie', 'b=2');
        res.send('ok');
      });
      const s = await connect(origin);
      const r = await h2request(s, { ':path': '/' });
      assert.equal(r.status, 200);
      for (const h of [
        'connection',
        'keep-alive',
        'transfer-encoding',
        'upgrade',
        'proxy-connection',
      ])
        assert.equal(r.headers[h], undefined, h);
      assert.equal(r.headers['x-kept'], 'yes');
      assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
      // curl agrees.
      const c = await run('curl', ['-sk', '--http2', '-D', '-', '-o', '/dev/null', `${origin}/`]);
      assert.match(c.stdout, /^HTTP\/2 200/);
      assert.doesNotMatch(c.stdout, /^(connection|keep-alive|upgrade):/im);
    });

    it('answers handler failures like HTTP/1.1: 500 without details, exposed 4xx', async () => {
      const { origin, errors } = await begin(async (req) => {
        if (req.path === '/sync') throw new Error('secret');
        if (req.path === '/4xx') throw new RapidError(E.INVALID_JSON_BODY, 'bad');
        await Promise.resolve();
        throw new Error('async secret');
      });
      const s = await connect(origin);
      const a = await h2request(s, { ':path': '/sync' });
      assert.equal(a.status, 500);
      assert.doesNotMatch(a.body.toString(), /secret/);
      const b = await h2request(s, { ':path': '/async' });
      assert.equal(b.status, 500);
      const c = await h2request(s, { ':path': '/4xx' });
      assert.equal(c.status, 400);
      assert.match(c.body.toString(), /bad/);
      assert.equal(errors.length, 3);
    });

    it('answers 503 when the handler does not respond within responseTimeout', async () => {
      const { origin } = await begin(() => new Promise<void>(() => {}), {
        limits: { responseTimeout: 600 },
      });
      const s = await connect(origin);
      const r = await h2request(s, { ':path': '/' });
      assert.equal(r.status, 503);
    });

    it('closes idle sessions after keepAliveTimeout', async () => {
      const { origin } = await begin(echo, { limits: { keepAliveTimeout: 700 } });
      const s = await connect(origin);
      await h2request(s, { ':path': '/' });
      await new Promise((r) => s.once('close', r));
    });

    it('keeps serving after a client resets streams mid-response', async () => {
      const { origin } = await begin(async (_req, res) => {
        for (let i = 0; i < 100; i++) {
          if (!res.write(Buffer.alloc(16 * 1024))) await res.drain();
        }
        res.end();
      });
      const s = await connect(origin);
      for (let i = 0; i < 5; i++) {
        const req = s.request({ ':path': '/big' });
        req.on('error', () => {});
        await new Promise((r) => req.once('data', r));
        req.close(http2.constants.NGHTTP2_CANCEL);
      }
      const r = await h2request(s, { ':path': '/ok' });
      assert.equal(r.status, 200);
    });

    it('ends a rapid-reset session with GOAWAY ENHANCE_YOUR_CALM and keeps serving others', async () => {
      const { origin, errors } = await begin(echo, { limits: { http2MaxResets: 50 } });
      const abuser = await connect(origin);
      const goaway = new Promise<number>((resolve) =>
        abuser.once('goaway', (code) => resolve(code)),
      );
      for (let i = 0; i < 200 && !abuser.destroyed && !abuser.closed; i++) {
        const req = abuser.request({ ':path': `/r${i}` });
        req.on('error', () => {});
        req.close(http2.constants.NGHTTP2_CANCEL);
      }
      assert.equal(await goaway, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      assert.ok(errors.some((e) => (e.err as RapidError).code === E.HTTP2_ABUSE.code));
      const other = await connect(origin);
      assert.equal((await h2request(other, { ':path': '/' })).status, 200);
    });

    it('sends GOAWAY on close() and lets the stream in flight finish', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let started!: () => void;
      const inFlight = new Promise<void>((r) => (started = r));
      const { server, origin } = await begin(async (_req, res) => {
        started();
        await gate;
        res.send('finished');
      });
      const s = await connect(origin);
      const goaway = new Promise<number>((resolve) => s.once('goaway', (code) => resolve(code)));
      const reply = h2request(s, { ':path': '/slow' });
      await inFlight;
      const closed = server.close(30_000);
      assert.equal(await goaway, http2.constants.NGHTTP2_NO_ERROR);
      release();
      const r = await reply;
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), 'finished');
      await closed;
    });

    it('is used by undici with allowH2', async () => {
      const { origin } = await begin(echo);
      const agent = new Agent({ allowH2: true, connect: { rejectUnauthorized: false } });
      try {
        const r = await undiciFetch(`${origin}/u?v=2`, { dispatcher: agent });
        const j = (await r.json()) as { version: string; url: string };
        assert.equal(j.version, '2.0');
        assert.equal(j.url, '/u?v=2');
        const p = await undiciFetch(`${origin}/body`, {
          dispatcher: agent,
          method: 'POST',
          body: 'posted',
        });
        assert.equal(await p.text(), 'posted');
      } finally {
        await agent.close();
      }
    });
  });

  describe(`h2c (prior knowledge, ${engine} engine)`, () => {
    it('serves HTTP/2 and HTTP/1.1 on the same cleartext listener', async () => {
      const { origin } = await begin(echo, { h2c: true });
      const s = await connect(origin);
      const r = await h2request(s, { ':path': '/c?d' });
      const j = JSON.parse(r.body.toString()) as {
        version: string;
        secure: boolean;
        remote: string;
      };
      assert.equal(j.version, '2.0');
      assert.equal(j.secure, false);
      assert.equal(j.remote, '127.0.0.1');
      const h1 = await fetch(`${origin}/h1`);
      assert.equal(((await h1.json()) as { version: string }).version, '1.1');
      const curl = await run('curl', [
        '-s',
        '--http2-prior-knowledge',
        '-w',
        '|%{http_version}',
        `${origin}/k`,
      ]);
      assert.match(curl.stdout, /"version":"2.0".*\|2$/);
    });

    it('is off by default: the preface is not HTTP/1.1', async () => {
      const server = await serve({
        port: 0,
        host: '127.0.0.1',
        handler: echo,
        http2Engine: engine,
        onError: () => {},
      });
      servers.push(server);
      const answer = await new Promise<string>((resolve) => {
        const c = net.connect(server.port, '127.0.0.1', () =>
          c.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
        );
        let d = '';
        c.on('data', (b) => (d += b.toString('latin1')));
        c.on('error', () => {});
        c.on('close', () => resolve(d));
      });
      assert.match(answer, /^HTTP\/1\.1 (400|505)/);
    });
  });
}
