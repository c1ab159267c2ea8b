/**
 * The status endpoint and the response observer in one process: Prometheus text (HELP/TYPE,
 * cumulative buckets ending in +Inf equal to _count, _sum), the HTML page by ?html and by Accept,
 * 403 for addresses not allowed, keep-alive reuse, bytes, static cache hits, 499 for a client that
 * left, and no observer at all when nothing is configured.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { describe, it } from 'node:test';
import { createStaticHandler } from '../../src/features/static/index.js';
import { Metrics } from '../../src/features/metrics/index.js';
import { serve } from '../../src/server/server.js';
import { makeSite, removeSite, request } from '../helpers/static-site.js';

function keepAliveGets(port: number, paths: string[]): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const one = (path: string): Promise<number> =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path, agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        })
        .on('error', reject);
    });
  return paths
    .reduce<Promise<number[]>>(
      async (acc, p) => [...(await acc), await one(p)],
      Promise.resolve([]),
    )
    .finally(() => agent.destroy());
}

describe('status endpoint', () => {
  it('Prometheus text with correct HELP/TYPE lines and a cumulative histogram', async () => {
    const root = makeSite({ 'index.html': '<p>hi</p>' });
    const files = createStaticHandler({ root });
    const metrics = new Metrics();
    metrics.addSources({ cache: () => files.cacheStats() });
    const server = await serve({ port: 0, host: '127.0.0.1', handler: files, metrics, status: {} });
    try {
      const statuses = await keepAliveGets(server.port, ['/', '/', '/', '/missing']);
      assert.deepEqual(statuses, [200, 200, 200, 404]);
      const r = await request(server.port, '/server-status');
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
      const text = r.body.toString();
      // Every sample's metric has HELP and TYPE lines before it, once.
      const typed = new Map<string, string>();
      for (const line of text.trimEnd().split('\n')) {
        const t = /^# TYPE (\S+) (counter|gauge|histogram)$/.exec(line);
        if (t !== null) {
          assert.ok(!typed.has(t[1]!), `one TYPE for ${t[1]}`);
          typed.set(t[1]!, t[2]!);
          continue;
        }
        if (line.startsWith('# HELP ')) continue;
        const m = /^([a-z_]+?)(_bucket|_sum|_count)?(\{[^}]*\})? (\S+)$/.exec(line);
        assert.ok(m !== null, `sample line: ${line}`);
        const base = typed.has(m[1]! + (m[2] ?? '')) ? m[1]! + (m[2] ?? '') : m[1]!;
        assert.ok(typed.has(base), `TYPE before ${line}`);
        assert.ok(Number.isFinite(Number(m[4])), line);
      }
      assert.equal(typed.get('rapid_request_duration_seconds'), 'histogram');
      const buckets = [
        ...text.matchAll(/^rapid_request_duration_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm),
      ];
      const counts = buckets.map((b) => Number(b[2]));
      for (let i = 1; i < counts.length; i++) assert.ok(counts[i]! >= counts[i - 1]!, 'cumulative');
      assert.equal(buckets.at(-1)![1], '+Inf');
      assert.equal(counts.at(-1), 4);
      assert.match(text, /^rapid_request_duration_seconds_count 4$/m);
      assert.match(text, /^rapid_request_duration_seconds_sum \d/m);
      assert.match(text, /^rapid_requests_total\{site="127.0.0.1",class="2xx"\} 3$/m);
      assert.match(text, /^rapid_requests_total\{site="127.0.0.1",class="4xx"\} 1$/m);
      assert.match(text, /^rapid_keepalive_reused_requests_total 3$/m);
      assert.match(text, /^rapid_cache_hits_total [12]$/m);
      assert.match(text, /^rapid_cache_misses_total [12]$/m);
      assert.match(text, /^rapid_open_connections 1$/m);
      const bytes = Number(/^rapid_response_bytes_total (\d+)$/m.exec(text)![1]);
      assert.ok(bytes > 4 * 100);
    } finally {
      await server.close(1000);
      files.close();
      removeSite(root);
    }
  });

  it('HTML with ?html or Accept: text/html; 403 for an address not allowed; 405 for POST', async () => {
    const server = await serve({
      port: 0,
      host: '127.0.0.1',
      handler: (_q, r) => r.send('x'),
      status: { path: '/st' },
    });
    const denied = await serve({
      port: 0,
      host: '127.0.0.1',
      handler: (_q, r) => r.send('x'),
      status: { allow: ['10.0.0.0/8'] },
    });
    try {
      const a = await request(server.port, '/st?html');
      assert.equal(a.headers['content-type'], 'text/html; charset=utf-8');
      assert.match(a.body.toString(), /<title>Rapid status<\/title>/);
      const b = await request(server.port, '/st', { Accept: 'text/html,application/xhtml+xml' });
      assert.match(b.body.toString(), /<h1>Rapid status<\/h1>/);
      assert.equal((await request(server.port, '/st', {}, 'POST')).status, 405);
      assert.equal(
        (await request(server.port, '/other')).body.toString(),
        'x',
        'other paths reach the handler',
      );
      const d = await request(denied.port, '/server-status');
      assert.equal(d.status, 403);
    } finally {
      await server.close(1000);
      await denied.close(1000);
    }
  });

  it('a client that leaves before the answer is counted as 499', async () => {
    const metrics = new Metrics();
    let release: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      release = resolve;
    });
    const server = await serve({
      port: 0,
      host: '127.0.0.1',
      metrics,
      handler: () => {
        release(); // never answers
      },
    });
    try {
      const sock = net.connect(server.port, '127.0.0.1');
      sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await started;
      await new Promise<void>((resolve) => {
        sock.on('close', () => resolve());
        sock.on('error', () => undefined);
        sock.resetAndDestroy(); // RST: the client is gone (a FIN would be a half-close)
      });
      for (let i = 0; i < 100 && metrics.snapshot().requests['x'] === undefined; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual(metrics.snapshot().requests['x'], [0, 0, 0, 1, 0]);
    } finally {
      await server.close(500);
    }
  });

  it('rejects bad options with catalog errors', async () => {
    await assert.rejects(
      serve({ port: 0, host: '127.0.0.1', handler: () => undefined, status: { allow: ['nope'] } }),
      { code: 'RAPID_ERR_METRICS_INVALID_OPTION' },
    );
    await assert.rejects(
      serve({ port: 0, host: '127.0.0.1', handler: () => undefined, status: { path: 'x' } }),
      { code: 'RAPID_ERR_METRICS_INVALID_OPTION' },
    );
    await assert.rejects(
      serve({
        port: 0,
        host: '127.0.0.1',
        handler: () => undefined,
        accessLog: { path: '/x', format: 'fancy' as 'json' },
      }),
      { code: 'RAPID_ERR_LOG_INVALID_OPTION' },
    );
    await assert.rejects(
      serve({
        port: 0,
        host: '127.0.0.1',
        handler: () => undefined,
        accessLog: { path: '/etc/hostname/x/y.log' },
      }),
      { code: 'RAPID_ERR_LOG_OPEN_FAILED' },
    );
  });

  it('without logging or metrics no observer is installed', async () => {
    const server = await serve({ port: 0, host: '127.0.0.1', handler: (_q, r) => r.send('x') });
    try {
      assert.equal(server.observability, null);
    } finally {
      await server.close(500);
    }
  });
});
