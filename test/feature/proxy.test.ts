/**
 * The reverse proxy against real upstreams (node:http servers in this file): headers on the way
 * in and out, hop-by-hop removal, X-Forwarded-* and Forwarded, bodies both ways, prefixes,
 * round-robin with a dead upstream, 502/504, client abort and the WebSocket pass-through.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createProxyHandler, type ProxyHandler } from '../../src/features/proxy/index.js';
import { freePort, startRapid } from '../helpers/php.js';

interface Upstream {
  server: http.Server;
  port: number;
  origin: string;
  /** Requests seen: method, url, headers (raw pairs). */
  seen: { method: string; url: string; raw: string[] }[];
  close(): Promise<void>;
}

async function startUpstream(name: string, handle?: http.RequestListener): Promise<Upstream> {
  const seen: Upstream['seen'] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', raw: req.rawHeaders });
    if (handle !== undefined) return handle(req, res);
    res.setHeader('X-Upstream', name);
    res.end(`${name} ${req.method} ${req.url}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    server,
    port,
    origin: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function header(raw: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!);
  }
  return out;
}

/** One raw request; resolves with the whole response text once the server closes. */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = net.connect(port, '127.0.0.1', () => sock.write(text));
    sock.on('data', (c) => chunks.push(c));
    sock.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    sock.on('error', reject);
  });
}

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function proxyTo(
  options: Parameters<typeof createProxyHandler>[0],
  withUpgrade = false,
): Promise<{ handler: ProxyHandler; port: number; origin: string }> {
  const handler = createProxyHandler({ log: () => {}, ...options });
  const s = await startRapid(
    (req, res) => handler(req, res),
    withUpgrade ? handler.upgrade : undefined,
  );
  cleanups.push(
    () => s.close(),
    () => handler.close(),
  );
  return { handler, port: s.port, origin: s.origin };
}

describe('reverse proxy', () => {
  let a: Upstream;
  let b: Upstream;
  before(async () => {
    a = await startUpstream('a');
    b = await startUpstream('b');
    cleanups.push(
      () => a.close(),
      () => b.close(),
    );
  });

  it('forwards the request with X-Forwarded-* and Forwarded, Host rewritten', async () => {
    const p = await proxyTo({ upstream: a.origin });
    const r = await fetch(`${p.origin}/path/x?q=1`, {
      headers: { 'X-Forwarded-For': '203.0.113.7', Forwarded: 'for=203.0.113.7' },
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-upstream'), 'a');
    assert.equal(await r.text(), 'a GET /path/x?q=1');
    const seen = a.seen.at(-1)!;
    assert.deepEqual(header(seen.raw, 'host'), [`127.0.0.1:${a.port}`]);
    assert.deepEqual(header(seen.raw, 'x-forwarded-for'), ['203.0.113.7, 127.0.0.1']);
    assert.deepEqual(header(seen.raw, 'x-forwarded-proto'), ['http']);
    assert.deepEqual(header(seen.raw, 'x-forwarded-host'), [`127.0.0.1:${p.port}`]);
    assert.deepEqual(header(seen.raw, 'forwarded'), [
      `for=203.0.113.7, for=127.0.0.1;proto=http;host="127.0.0.1:${p.port}"`,
    ]);
  });

  it('preserves Host when asked, and applies header rules', async () => {
    const p = await proxyTo({
      upstream: a.origin,
      preserveHost: true,
      xForwarded: false,
      headers: { set: { 'X-Api-Key': 'k1' }, remove: ['x-drop-me'] },
    });
    const r = await raw(
      p.port,
      'GET /h HTTP/1.1\r\nHost: example.test\r\nX-Drop-Me: 1\r\nX-Api-Key: client\r\nConnection: close\r\n\r\n',
    );
    assert.match(r, /^HTTP\/1.1 200/);
    const seen = a.seen.at(-1)!;
    assert.deepEqual(header(seen.raw, 'host'), ['example.test']);
    assert.deepEqual(header(seen.raw, 'x-drop-me'), []);
    assert.deepEqual(header(seen.raw, 'x-api-key'), ['k1']);
    assert.deepEqual(header(seen.raw, 'x-forwarded-for'), []);
  });

  it('removes hop-by-hop fields in both directions', async () => {
    const up = await startUpstream('hop', (_req, res) => {
      res.setHeader('Connection', 'X-Up-Secret');
      res.setHeader('X-Up-Secret', 'no');
      res.setHeader('Keep-Alive', 'timeout=99');
      res.setHeader('Proxy-Authenticate', 'Basic');
      res.setHeader('Set-Cookie', ['a=1', 'b=2']);
      res.end('ok');
    });
    cleanups.push(() => up.close());
    const p = await proxyTo({ upstream: up.origin });
    const r = await raw(
      p.port,
      'GET / HTTP/1.1\r\nHost: x\r\nConnection: close, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Authorization: Basic eA==\r\nX-Kept: yes\r\n\r\n',
    );
    const seen = up.seen.at(-1)!;
    for (const name of ['x-secret', 'keep-alive', 'te', 'proxy-authorization']) {
      assert.deepEqual(header(seen.raw, name), [], `${name} reached the upstream`);
    }
    assert.deepEqual(header(seen.raw, 'x-kept'), ['yes']);
    const head = r.slice(0, r.indexOf('\r\n\r\n')).toLowerCase();
    assert.ok(!head.includes('x-up-secret'), head);
    assert.ok(!head.includes('keep-alive'), head);
    assert.ok(!head.includes('proxy-authenticate'), head);
    assert.equal(head.split('set-cookie:').length - 1, 2, head);
  });

  it('streams bodies both ways', async () => {
    const up = await startUpstream('echo', (req, res) => {
      const hash = createHash('sha256');
      let n = 0;
      req.on('data', (c: Buffer) => {
        hash.update(c);
        n += c.length;
      });
      req.on('end', () => {
        res.setHeader('X-Got', `${n} ${hash.digest('hex')}`);
        // 4 MB back in 64 KB writes with backpressure.
        const chunk = Buffer.alloc(65536, 0x61);
        let left = 64;
        const pump = (): void => {
          while (left > 0) {
            left--;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      });
    });
    cleanups.push(() => up.close());
    const p = await proxyTo({ upstream: up.origin });
    const body = Buffer.alloc(1024 * 1024 - 3, 0x42);
    const r = await fetch(`${p.origin}/up`, { method: 'POST', body });
    assert.equal(
      r.headers.get('x-got'),
      `${body.length} ${createHash('sha256').update(body).digest('hex')}`,
    );
    const back = Buffer.from(await r.arrayBuffer());
    assert.equal(back.length, 64 * 65536);
    const chunked = await fetch(`${p.origin}/up`, {
      method: 'POST',
      body: new Blob([body]).stream(),
      duplex: 'half',
    } as RequestInit);
    assert.match(chunked.headers.get('x-got') ?? '', new RegExp(`^${body.length} `));
    await chunked.arrayBuffer();
  });

  it('keeps the upstream Content-Length of a HEAD response', async () => {
    const up = await startUpstream('head', (_req, res) => {
      res.setHeader('Content-Length', '1234');
      res.end();
    });
    cleanups.push(() => up.close());
    const p = await proxyTo({ upstream: up.origin });
    const r = await raw(p.port, 'HEAD /h HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(r, /^HTTP\/1.1 200 /);
    assert.match(r, /\r\nContent-Length: 1234\r\n/);
    assert.ok(r.endsWith('\r\n\r\n'), 'no body after the head');
  });

  it('strips a prefix and adds the upstream base path', async () => {
    const p = await proxyTo({ upstream: `${a.origin}/base/`, stripPrefix: '/api' });
    assert.equal(await (await fetch(`${p.origin}/api/users?x=1`)).text(), 'a GET /base/users?x=1');
    assert.equal(await (await fetch(`${p.origin}/api`)).text(), 'a GET /base/');
    assert.equal((await fetch(`${p.origin}/apix`)).status, 404);
  });

  it('balances round-robin and skips an upstream that is down', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const p = await proxyTo({ upstream: [a.origin, b.origin] });
    const names: string[] = [];
    for (let i = 0; i < 4; i++) names.push((await (await fetch(`${p.origin}/rr`)).text())[0]!);
    assert.deepEqual(names.sort(), ['a', 'a', 'b', 'b']);
    const q = await proxyTo({ upstream: [dead, a.origin] });
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`${q.origin}/rr`);
      assert.equal(r.status, 200);
      assert.equal(await r.text(), 'a GET /rr');
    }
  });

  it('answers 502 when the upstream is unreachable and 504 when it is slow', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const p = await proxyTo({ upstream: dead });
    const r = await fetch(`${p.origin}/`);
    assert.equal(r.status, 502);
    assert.match(await r.text(), /could not be reached/);
    const held: http.ServerResponse[] = [];
    const slow = await startUpstream('slow', (_req, res) => {
      held.push(res);
    });
    cleanups.push(() => slow.close());
    const q = await proxyTo({ upstream: slow.origin, timeout: 300 });
    const t = await fetch(`${q.origin}/`);
    assert.equal(t.status, 504);
    for (const res of held) res.destroy();
  });

  it('cancels the upstream request when the client goes away', async () => {
    let arrived!: () => void;
    const arrivedP = new Promise<void>((r) => (arrived = r));
    let closed!: () => void;
    const closedP = new Promise<void>((r) => (closed = r));
    const up = await startUpstream('hold', (_req, res) => {
      res.on('close', () => closed());
      arrived();
    });
    cleanups.push(() => up.close());
    const p = await proxyTo({ upstream: up.origin });
    const sock = net.connect(p.port, '127.0.0.1');
    sock.write('GET /wait HTTP/1.1\r\nHost: x\r\n\r\n');
    await arrivedP;
    sock.destroy();
    await closedP; // the upstream saw its request end: no leak of a pending upstream request
  });

  it('passes WebSocket upgrades through', async () => {
    const up = await startUpstream('ws');
    up.server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Path: ${req.url}\r\n\r\n`,
      );
      if (head.length > 0) socket.write(head);
      socket.on('data', (d: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
      // http.Server sockets are half-open: an upgraded one must end itself when the peer does.
      socket.on('end', () => socket.end());
    });
    cleanups.push(() => up.close());
    const p = await proxyTo({ upstream: up.origin }, true);
    const sock = net.connect(p.port, '127.0.0.1');
    cleanups.push(() => void sock.destroy());
    let got = '';
    const wait = (s: string): Promise<void> =>
      new Promise((resolve) => {
        const check = (): void => {
          if (got.includes(s)) {
            sock.off('data', onData);
            resolve();
          }
        };
        const onData = (d: Buffer): void => {
          got += d.toString('latin1');
          check();
        };
        sock.on('data', onData);
        check();
      });
    sock.write(
      'GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    await wait('\r\n\r\n');
    assert.match(got, /^HTTP\/1.1 101 /);
    assert.match(got, /X-Path: \/chat/);
    sock.write('hello');
    await wait('echo:hello');
    sock.destroy();
  });

  it('answers an upgrade with 502 when the upstream is down', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const p = await proxyTo({ upstream: dead }, true);
    const r = await raw(
      p.port,
      'GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
    );
    assert.match(r, /^HTTP\/1.1 502 /);
  });
});
