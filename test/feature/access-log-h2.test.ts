/**
 * HTTP/2 in the access log and the metrics, on both engines ('rapid' and 'node'), over real
 * sockets with node:http2 and curl as clients: one line per stream with "HTTP/2.0" and the DATA
 * bytes as %b (TLS by ALPN and h2c with prior knowledge), a stream the client resets mid-response
 * (the status that was sent, the bytes that were) and before any response (499), many streams on
 * one connection (each once, in completion order, numbered by arrival), the engine's own 413, the
 * status endpoint counting h2 requests, and observeResponses() reaching h2 connections accepted
 * after it.
 */
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Handler, RapidResponse, ResponseObserver } from '../../src/core/types.js';
import { serve, type RapidServer, type ServeOptions } from '../../src/server/server.js';
import { cleanupCerts, h2connect, h2request, makeCert, run } from '../helpers/tls.js';

after(cleanupCerts);
const cert = makeCert('localhost', '127.0.0.1');
const dir = mkdtempSync(join(tmpdir(), 'rapid-log-h2-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (): string => join(dir, `access-${++n}.log`);

type Engine = 'rapid' | 'node';
const ENGINES: Engine[] = ['rapid', 'node'];
const T = { timeout: 60_000 };
const TS = /\[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]/;

/** One observer call, as the test keeps it. */
interface Seen {
  url: string | null;
  version: string | null;
  status: number;
  bytes: number;
  headBytes: number;
  startMs: number;
  remote: string;
  seq: number;
}

/** Records observer calls; waitFor(n) resolves once n calls were made (no polling). */
class Recorder {
  readonly seen: Seen[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];
  readonly observe: ResponseObserver = (req, status, bytes, headBytes, startMs, remote, seq) => {
    this.seen.push({
      url: req?.url ?? null,
      version: req?.httpVersion ?? null,
      status,
      bytes,
      headBytes,
      startMs,
      remote,
      seq,
    });
    const still: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (this.seen.length >= w.n) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  };

  waitFor(count: number): Promise<void> {
    if (this.seen.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n: count, resolve }));
  }
}

interface Started {
  server: RapidServer;
  origin: string;
  port: number;
  rec: Recorder;
  sessions: http2.ClientHttp2Session[];
  connect(): Promise<http2.ClientHttp2Session>;
  /** Close the sessions and the server (which flushes and closes the logs). */
  stop(): Promise<void>;
}

async function start(
  engine: Engine,
  handler: Handler,
  extra: Partial<ServeOptions> = {},
  { h2c = false, observe = true } = {},
): Promise<Started> {
  const rec = new Recorder();
  const server = await serve({
    port: 0,
    host: '127.0.0.1',
    handler,
    http2Engine: engine,
    ...(h2c ? { h2c: true } : { tls: { cert: cert.cert, key: cert.key } }),
    ...(observe ? { onResponse: rec.observe } : {}),
    ...extra,
  });
  const origin = `${h2c ? 'http' : 'https'}://127.0.0.1:${server.port}`;
  const sessions: http2.ClientHttp2Session[] = [];
  return {
    server,
    origin,
    port: server.port,
    rec,
    sessions,
    async connect() {
      const s = await h2connect(origin);
      sessions.push(s);
      return s;
    },
    async stop() {
      for (const s of sessions) s.close();
      await server.close(5000);
      for (const s of sessions) s.destroy();
    },
  };
}

const lines = (path: string): string[] => {
  const raw = readFileSync(path);
  assert.ok(isUtf8(raw), 'the log is valid UTF-8');
  return raw
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '');
};
const clf = (line: string): string => line.replace(TS, '[T]');

/** A UTF-8 string as the latin1 chars of its bytes (how header values travel). */
const utf8Chars = (t: string): string => Buffer.from(t, 'utf8').toString('latin1');

const basic: Handler = async (req, res) => {
  if (req.path === '/missing') {
    res.status(404).send('no such thing');
    return;
  }
  if (req.method === 'POST') {
    const body = await req.text();
    res.send(`got ${body.length}`);
    return;
  }
  res.setHeader('Content-Type', 'text/plain');
  res.send('hello');
};

for (const engine of ENGINES) {
  describe(`HTTP/2 access log and metrics (${engine} engine)`, () => {
    it(
      'TLS: one JSON line per stream, protocol HTTP/2.0, body_bytes the DATA bytes',
      T,
      async () => {
        const path = file();
        const s = await start(engine, basic, { accessLog: { path, format: 'json' } });
        const replies: { status: number; body: number }[] = [];
        try {
          const c = await s.connect();
          const a = await h2request(c, {
            ':path': '/a?x=1',
            'user-agent': utf8Chars('agent café ✓'),
            referer: 'https://ref.test/',
          });
          const h = await h2request(c, { ':path': '/a', ':method': 'HEAD' });
          const p = await h2request(c, { ':path': '/p', ':method': 'POST' }, 'abcdef');
          const m = await h2request(c, { ':path': '/missing' });
          for (const r of [a, h, p, m]) replies.push({ status: r.status, body: r.body.length });
          assert.deepEqual(
            replies.map((r) => r.status),
            [200, 200, 200, 404],
          );
          await s.rec.waitFor(4);
        } finally {
          await s.stop();
        }
        const got = lines(path).map((l) => JSON.parse(l) as Record<string, unknown>);
        assert.equal(got.length, 4, 'one line per stream');
        const want = [
          ['GET', '/a?x=1'],
          ['HEAD', '/a'],
          ['POST', '/p'],
          ['GET', '/missing'],
        ];
        got.forEach((o, i) => {
          assert.equal(o.protocol, 'HTTP/2.0');
          assert.equal(o.method, want[i]![0]);
          assert.equal(o.target, want[i]![1]);
          assert.equal(o.host, `127.0.0.1:${s.port}`);
          assert.equal(o.remote, '127.0.0.1');
          assert.equal(o.status, replies[i]!.status);
          assert.equal(o.body_bytes, replies[i]!.body, `body_bytes of ${String(o.target)}`);
          assert.ok((o.bytes as number) > (o.body_bytes as number), 'bytes include the head');
          assert.ok(typeof o.duration_ms === 'number' && o.duration_ms >= 0);
        });
        assert.equal(got[0]!.user_agent, 'agent café ✓', 'a UTF-8 user agent is text');
        assert.equal(got[0]!.referer, 'https://ref.test/');
        assert.equal(got[1]!.body_bytes, 0, 'HEAD sends no DATA');
        // What the observer was told: numbered streams, a start time, the head's share.
        assert.deepEqual(
          s.rec.seen.map((x) => [x.seq, x.version, x.remote]),
          [1, 2, 3, 4].map((q) => [q, '2.0', '127.0.0.1']),
        );
        for (const [i, x] of s.rec.seen.entries()) {
          assert.ok(x.startMs > 0);
          assert.ok(x.headBytes > 0);
          assert.equal(x.bytes - x.headBytes, replies[i]!.body);
        }
      },
    );

    it('curl --http2 over TLS: a combined line with HTTP/2.0', T, async () => {
      const path = file();
      const s = await start(engine, basic, { accessLog: { path, format: 'combined' } });
      try {
        const r = await run('curl', [
          '-sk',
          '--http2',
          '-A',
          'rapid-test/1.0',
          '-e',
          'https://ref.test/',
          '-w',
          '\n%{http_version}',
          `${s.origin}/curl?q=1`,
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, 'hello\n2', 'curl spoke HTTP/2');
        await s.rec.waitFor(1);
      } finally {
        await s.stop();
      }
      assert.deepEqual(lines(path).map(clf), [
        '127.0.0.1 - - [T] "GET /curl?q=1 HTTP/2.0" 200 5 "https://ref.test/" "rapid-test/1.0"',
      ]);
    });

    it('h2c with prior knowledge (node:http2 and curl): common lines', T, async () => {
      const path = file();
      const s = await start(
        engine,
        basic,
        { accessLog: { path, format: 'common' } },
        { h2c: true },
      );
      try {
        const c = await s.connect();
        assert.equal((await h2request(c, { ':path': '/one' })).status, 200);
        await s.rec.waitFor(1);
        const r = await run('curl', [
          '-s',
          '--http2-prior-knowledge',
          '-w',
          '\n%{http_version}',
          `${s.origin}/two`,
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, 'hello\n2');
        await s.rec.waitFor(2);
      } finally {
        await s.stop();
      }
      assert.deepEqual(lines(path).map(clf), [
        '127.0.0.1 - - [T] "GET /one HTTP/2.0" 200 5',
        '127.0.0.1 - - [T] "GET /two HTTP/2.0" 200 5',
      ]);
    });

    it('a stream reset by the client: logged once, with what was sent (or 499)', T, async () => {
      const path = file();
      let arrived: () => void = () => undefined;
      const neverArrived = new Promise<void>((resolve) => (arrived = resolve));
      const handler: Handler = (req, res) => {
        if (req.path === '/partial') {
          res.setHeader('Content-Type', 'text/plain');
          res.write('x'.repeat(1000)); // and never ends
          return;
        }
        if (req.path === '/never') {
          arrived(); // never answers
          return;
        }
        res.send('hello');
      };
      const s = await start(engine, handler, { accessLog: { path, format: 'common' } });
      try {
        const c = await s.connect();
        await new Promise<void>((resolve) => {
          const r = c.request({ ':path': '/partial' });
          let got = 0;
          r.on('data', (chunk: Buffer) => {
            got += chunk.length;
            if (got >= 1000) r.close(http2.constants.NGHTTP2_CANCEL);
          });
          r.on('error', () => undefined);
          r.on('close', () => resolve());
        });
        await s.rec.waitFor(1);
        await new Promise<void>((resolve) => {
          const r = c.request({ ':path': '/never' });
          r.on('error', () => undefined);
          r.on('close', () => resolve());
          void neverArrived.then(() => r.close(http2.constants.NGHTTP2_CANCEL));
        });
        await s.rec.waitFor(2);
        assert.equal((await h2request(c, { ':path': '/after' })).status, 200, 'the session lives');
        await s.rec.waitFor(3);
      } finally {
        await s.stop();
      }
      assert.deepEqual(
        s.rec.seen.map((x) => [x.url, x.status, x.bytes - x.headBytes, x.seq]),
        [
          ['/partial', 200, 1000, 1],
          ['/never', 499, 0, 2],
          ['/after', 200, 5, 3],
        ],
      );
      assert.equal(s.rec.seen[1]!.bytes, 0, 'nothing was sent for /never');
      assert.deepEqual(lines(path).map(clf), [
        '127.0.0.1 - - [T] "GET /partial HTTP/2.0" 200 1000',
        '127.0.0.1 - - [T] "GET /never HTTP/2.0" 499 -',
        '127.0.0.1 - - [T] "GET /after HTTP/2.0" 200 5',
      ]);
    });

    it('the engine’s own answers on h2 are logged (413 for a body over the limit)', T, async () => {
      const path = file();
      const s = await start(engine, basic, {
        accessLog: { path, format: 'common' },
        limits: { maxBodyBytes: 10 },
      });
      try {
        const c = await s.connect();
        const r = await h2request(
          c,
          { ':path': '/big', ':method': 'POST', 'content-length': '100' },
          'x'.repeat(100),
        );
        assert.equal(r.status, 413);
        await s.rec.waitFor(1);
      } finally {
        await s.stop();
      }
      const [line, ...rest] = lines(path).map(clf);
      assert.deepEqual(rest, []);
      assert.match(line!, /^127\.0\.0\.1 - - \[T\] "POST \/big HTTP\/2\.0" 413 \d+$/);
      assert.equal(s.rec.seen[0]!.status, 413);
    });

    it('many concurrent streams on one connection: each logged once, numbered', T, async () => {
      const path = file();
      const N = 40;
      const handler: Handler = (req, res) => res.send(req.path.slice(3));
      const s = await start(engine, handler, { accessLog: { path, format: 'common' } });
      try {
        const c = await s.connect();
        const replies = await Promise.all(
          Array.from({ length: N }, (_, i) => h2request(c, { ':path': `/m/${i}` })),
        );
        replies.forEach((r, i) => assert.equal(r.body.toString(), String(i)));
        await s.rec.waitFor(N);
      } finally {
        await s.stop();
      }
      const urls = s.rec.seen.map((x) => x.url as string);
      assert.deepEqual(
        [...urls].sort(),
        Array.from({ length: N }, (_, i) => `/m/${i}`).sort(),
        'each stream once',
      );
      assert.deepEqual(
        s.rec.seen.map((x) => x.seq).sort((a, b) => a - b),
        Array.from({ length: N }, (_, i) => i + 1),
      );
      const logged = lines(path).map(clf);
      assert.equal(logged.length, N);
      // The file has the observer's order, line for line.
      assert.deepEqual(
        logged,
        urls.map((u) => `127.0.0.1 - - [T] "GET ${u} HTTP/2.0" 200 ${u.slice(3).length}`),
      );
    });

    it('streams answered out of order are logged in completion order', T, async () => {
      const path = file();
      const N = 8;
      const held: { i: number; res: RapidResponse }[] = [];
      let allHeld: () => void = () => undefined;
      const ready = new Promise<void>((resolve) => (allHeld = resolve));
      const handler: Handler = (req, res) => {
        held.push({ i: Number(req.path.slice(3)), res });
        if (held.length === N) allHeld();
      };
      const s = await start(engine, handler, { accessLog: { path, format: 'json' } });
      const order = [5, 2, 7, 0, 3, 6, 1, 4];
      try {
        const c = await s.connect();
        const replies = Array.from({ length: N }, (_, i) => h2request(c, { ':path': `/o/${i}` }));
        await ready;
        for (const [k, i] of order.entries()) {
          held.find((h) => h.i === i)!.res.send(`r${i}`);
          await s.rec.waitFor(k + 1);
        }
        const got = await Promise.all(replies);
        got.forEach((r, i) => assert.equal(r.body.toString(), `r${i}`));
      } finally {
        await s.stop();
      }
      assert.deepEqual(
        s.rec.seen.map((x) => [x.url, x.seq]),
        order.map((i) => [`/o/${i}`, i + 1]),
        'completion order; seq is the arrival number',
      );
      const logged = lines(path).map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(
        logged.map((o) => [o.target, o.body_bytes]),
        order.map((i) => [`/o/${i}`, 2]),
      );
    });

    it('the status endpoint counts HTTP/2 requests', T, async () => {
      const s = await start(engine, basic, { status: {} });
      let text = '';
      try {
        const c = await s.connect();
        for (let i = 0; i < 5; i++)
          assert.equal((await h2request(c, { ':path': '/ok' })).status, 200);
        assert.equal((await h2request(c, { ':path': '/missing' })).status, 404);
        await s.rec.waitFor(6);
        const r = await h2request(c, { ':path': '/server-status' });
        assert.equal(r.status, 200);
        text = r.body.toString();
      } finally {
        await s.stop();
      }
      assert.match(text, /^rapid_requests_total\{site="127.0.0.1",class="2xx"\} 5$/m);
      assert.match(text, /^rapid_requests_total\{site="127.0.0.1",class="4xx"\} 1$/m);
      assert.match(text, /^rapid_request_duration_seconds_count 6$/m);
      // Streams 2 to 6 arrived on a connection that had carried one before.
      assert.match(text, /^rapid_keepalive_reused_requests_total 5$/m);
      const bytes = Number(/^rapid_response_bytes_total (\d+)$/m.exec(text)![1]);
      const sum = s.rec.seen.slice(0, 6).reduce((t, x) => t + x.bytes, 0);
      assert.equal(bytes, sum, 'bytes out as the observer was told');
      assert.ok(bytes > 5 * 5 + 13);
      assert.match(text, /^rapid_open_connections 1$/m);
    });

    it('req.signal is not aborted by a normal end, only by a reset', T, async () => {
      const aborted = new Map<string, boolean>();
      let resetSeen: () => void = () => undefined;
      const reset = new Promise<void>((resolve) => (resetSeen = resolve));
      let hanging: () => void = () => undefined;
      const arrived = new Promise<void>((resolve) => (hanging = resolve));
      const handler: Handler = (req, res) => {
        const signal = (req as unknown as { signal: AbortSignal }).signal;
        aborted.set(req.path, false);
        signal.addEventListener('abort', () => {
          aborted.set(req.path, true);
          resetSeen();
        });
        if (req.path === '/ok') res.send('ok');
        else hanging();
      };
      const s = await start(engine, handler);
      try {
        const c = await s.connect();
        assert.equal((await h2request(c, { ':path': '/ok' })).status, 200);
        await s.rec.waitFor(1);
        const r = c.request({ ':path': '/hang' });
        r.on('error', () => undefined);
        await arrived;
        r.close(http2.constants.NGHTTP2_CANCEL);
        await reset;
        await s.rec.waitFor(2);
      } finally {
        await s.stop();
      }
      assert.deepEqual(Object.fromEntries(aborted), { '/ok': false, '/hang': true });
    });

    it('observeResponses() reaches HTTP/2 connections accepted after it', T, async () => {
      const s = await start(engine, basic, {}, { observe: false });
      const rec = new Recorder();
      try {
        assert.equal(s.server.observability, null, 'nothing observed at first');
        const a = await s.connect();
        assert.equal((await h2request(a, { ':path': '/a1' })).status, 200);
        s.server.observeResponses(rec.observe);
        assert.equal((await h2request(a, { ':path': '/a2' })).status, 200);
        const b = await s.connect();
        assert.equal((await h2request(b, { ':path': '/b1' })).status, 200);
        await rec.waitFor(1);
      } finally {
        await s.stop();
      }
      assert.deepEqual(
        rec.seen.map((x) => [x.url, x.status, x.seq]),
        [['/b1', 200, 1]],
        'connections open before it are not observed',
      );
    });
  });
}
