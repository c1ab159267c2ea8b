/**
 * Content coding over real sockets: Accept-Encoding negotiation with q-values (RFC 9110 §12.5.3),
 * compressible types and the minimum size, Vary, precompressed siblings, cached variants, and
 * on-the-fly compression of streamed files.
 */
import assert from 'node:assert/strict';
import { utimesSync } from 'node:fs';
import { join } from 'node:path';
import {
  brotliCompressSync,
  brotliDecompressSync,
  gunzipSync,
  gzipSync,
  inflateSync,
} from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { StaticOptions } from '../../src/features/static/index.js';
import {
  makeSite,
  removeSite,
  request,
  startStatic,
  type StaticServer,
} from '../helpers/static-site.js';

const CSS = 'body { margin: 0; padding: 0; color: #333; }\n'.repeat(80);
const JS = 'function hello() { return "hello, world"; }\n'.repeat(80);
const SIBLING_BR = 'console.log("from the .br sibling");\n'.repeat(40);
const SIBLING_GZ = 'console.log("from the .gz sibling");\n'.repeat(40);
const PNG = Buffer.alloc(4096, 7);
const PAST = new Date('2020-01-01T00:00:00Z');

function decode(coding: string | undefined, body: Buffer): string {
  if (coding === undefined) return body.toString();
  if (coding === 'gzip') return gunzipSync(body).toString();
  if (coding === 'br') return brotliDecompressSync(body).toString();
  if (coding === 'deflate') return inflateSync(body).toString();
  throw new Error(`unexpected coding ${coding}`);
}

function site(): string {
  const root = makeSite({
    'big.css': CSS,
    'small.css': 'a{}',
    'img.png': PNG,
    'app.js': JS,
    'app.js.br': brotliCompressSync(SIBLING_BR),
    'app.js.gz': gzipSync(SIBLING_GZ),
    'stale.js': JS,
    'stale.js.gz': gzipSync('stale sibling'),
  });
  utimesSync(join(root, 'stale.js.gz'), PAST, PAST);
  return root;
}

const modes: [string, Partial<StaticOptions>][] = [
  ['output cache', {}],
  ['streamed', { cache: { maxFileSize: 0 } }],
];

for (const [mode, extra] of modes) {
  describe(`compression (${mode})`, () => {
    let root: string;
    let s: StaticServer;
    before(async () => {
      root = site();
      s = await startStatic({ root, ...extra });
    });
    after(async () => {
      await s.close();
      removeSite(root);
    });

    const negotiation: [string | undefined, string | undefined][] = [
      [undefined, undefined],
      ['gzip, deflate, br', 'br'],
      ['gzip, deflate, br, zstd', 'br'],
      ['gzip', 'gzip'],
      ['x-gzip', 'gzip'],
      ['deflate', 'deflate'],
      ['br;q=0.5, gzip;q=0.8', 'gzip'],
      ['br;q=0.5, gzip;q=0.8, deflate;q=0.9', 'deflate'],
      ['br;q=0, gzip', 'gzip'],
      ['br;q=0, gzip;q=0, deflate;q=0', undefined],
      ['identity;q=0, br;q=0, gzip;q=0, deflate;q=0', undefined],
      ['gzip;q=0.5, identity', undefined],
      ['identity', undefined],
      ['*', 'br'],
      ['gzip;q=0, br;q=0, *', 'deflate'],
      ['*;q=0', undefined],
      ['', undefined],
      ['compress, zstd', undefined],
    ];
    for (const [ae, coding] of negotiation) {
      it(`Accept-Encoding ${JSON.stringify(ae)} -> ${coding ?? 'identity'}`, async () => {
        const r = await request(
          s.port,
          '/big.css',
          ae === undefined ? {} : { 'Accept-Encoding': ae },
        );
        assert.equal(r.status, 200);
        assert.equal(r.headers['content-encoding'], coding);
        assert.equal(r.headers.vary, 'Accept-Encoding');
        assert.equal(r.headers['content-type'], 'text/css; charset=utf-8');
        assert.equal(decode(coding, r.body), CSS);
        if (coding !== undefined) assert.ok(r.body.length < CSS.length);
      });
    }

    it('leaves small files and incompressible types alone, without Vary', async () => {
      for (const path of ['/small.css', '/img.png']) {
        const r = await request(s.port, path, { 'Accept-Encoding': 'gzip, br' });
        assert.equal(r.headers['content-encoding'], undefined, path);
        assert.equal(r.headers.vary, undefined, path);
      }
    });

    it('uses fresh precompressed siblings as they are', async () => {
      const br = await request(s.port, '/app.js', { 'Accept-Encoding': 'br' });
      assert.equal(br.headers['content-encoding'], 'br');
      assert.equal(br.headers['content-type'], 'text/javascript; charset=utf-8');
      assert.equal(brotliDecompressSync(br.body).toString(), SIBLING_BR);
      assert.match(br.headers.etag!, /-br"$/);
      const gz = await request(s.port, '/app.js', { 'Accept-Encoding': 'gzip' });
      assert.equal(gunzipSync(gz.body).toString(), SIBLING_GZ);
      // deflate has no sibling: compressed from the file itself.
      const df = await request(s.port, '/app.js', { 'Accept-Encoding': 'deflate' });
      assert.equal(inflateSync(df.body).toString(), JS);
      assert.equal((await request(s.port, '/app.js')).body.toString(), JS);
    });

    it('ignores siblings older than the file', async () => {
      const r = await request(s.port, '/stale.js', { 'Accept-Encoding': 'gzip' });
      assert.equal(r.headers['content-encoding'], 'gzip');
      assert.equal(gunzipSync(r.body).toString(), JS);
    });

    it('HEAD names the coding GET would use', async () => {
      const g = await request(s.port, '/app.js', { 'Accept-Encoding': 'br' });
      const h = await request(s.port, '/app.js', { 'Accept-Encoding': 'br' }, 'HEAD');
      assert.equal(h.headers['content-encoding'], 'br');
      assert.equal(h.headers['content-length'], g.headers['content-length']);
      assert.equal(h.headers.etag, g.headers.etag);
    });
  });
}

describe('compression options and the variant cache', () => {
  it('caches each variant once and serves the same bytes', async () => {
    const root = site();
    const s = await startStatic({ root });
    try {
      const a = await request(s.port, '/big.css', { 'Accept-Encoding': 'gzip' });
      const before = s.handler.cacheStats();
      const b = await request(s.port, '/big.css', { 'Accept-Encoding': 'gzip' });
      const afterStats = s.handler.cacheStats();
      assert.deepEqual(a.body, b.body);
      assert.equal(a.headers.etag, b.headers.etag);
      assert.equal(afterStats.bytes, before.bytes, 'no new bytes for a second gzip request');
      assert.equal(afterStats.hits, before.hits + 1);
      await request(s.port, '/big.css', { 'Accept-Encoding': 'br' });
      assert.ok(s.handler.cacheStats().bytes > before.bytes, 'the br variant is charged');
    } finally {
      await s.close();
      removeSite(root);
    }
  });

  it('compression: false serves identity without Vary; encodings limits the offer', async () => {
    const root = site();
    const off = await startStatic({ root, compression: false });
    const gz = await startStatic({ root, compression: { encodings: ['gzip'] } });
    const min = await startStatic({ root, compression: { minSize: 2 } });
    try {
      const r = await request(off.port, '/big.css', { 'Accept-Encoding': 'gzip, br' });
      assert.equal(r.headers['content-encoding'], undefined);
      assert.equal(r.headers.vary, undefined);
      const g = await request(gz.port, '/big.css', { 'Accept-Encoding': 'br, gzip' });
      assert.equal(g.headers['content-encoding'], 'gzip');
      // Tiny "a{}" does not shrink: identity, but the response still varies.
      const m = await request(min.port, '/small.css', { 'Accept-Encoding': 'gzip' });
      assert.equal(m.headers['content-encoding'], undefined);
      assert.equal(m.headers.vary, 'Accept-Encoding');
      assert.equal(m.body.toString(), 'a{}');
    } finally {
      await off.close();
      await gz.close();
      await min.close();
      removeSite(root);
    }
  });
});
