/**
 * Validators, conditional requests (RFC 9110 §13) and byte ranges (§14) over real sockets, in
 * each of the handler's three serving paths: the output cache, uncached in-memory reads, and
 * streaming from a file handle.
 */
import assert from 'node:assert/strict';
import { utimesSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { StaticOptions } from '../../src/features/static/index.js';
import {
  makeSite,
  removeSite,
  request,
  startStatic,
  type StaticServer,
} from '../helpers/static-site.js';

const DATA = Buffer.alloc(1000);
for (let i = 0; i < DATA.length; i++) DATA[i] = (i * 7 + 3) & 0xff;
const TEXT = 'The quick brown fox jumps over the lazy dog. '.repeat(100);
const PAST = new Date('2020-01-02T03:04:05Z');
const PAST_HTTP = 'Thu, 02 Jan 2020 03:04:05 GMT';

/** Splits a multipart/byteranges body into parts. */
function parts(
  body: Buffer,
  contentType: string,
): { headers: Record<string, string>; data: Buffer }[] {
  const boundary = /boundary=([^;]+)/.exec(contentType)![1]!;
  const text = body.toString('latin1');
  assert.ok(text.endsWith(`\r\n--${boundary}--\r\n`), 'closing delimiter');
  const out: { headers: Record<string, string>; data: Buffer }[] = [];
  const chunks = text.slice(0, -`\r\n--${boundary}--\r\n`.length).split(`--${boundary}\r\n`);
  assert.equal(chunks[0], '', 'no preamble');
  for (let i = 1; i < chunks.length; i++) {
    let c = chunks[i]!;
    if (i < chunks.length - 1) {
      assert.ok(c.endsWith('\r\n'));
      c = c.slice(0, -2);
    }
    const sep = c.indexOf('\r\n\r\n');
    const headers: Record<string, string> = {};
    for (const line of c.slice(0, sep).split('\r\n')) {
      const j = line.indexOf(':');
      headers[line.slice(0, j).toLowerCase()] = line.slice(j + 1).trim();
    }
    out.push({ headers, data: Buffer.from(c.slice(sep + 4), 'latin1') });
  }
  return out;
}

const modes: [string, Partial<StaticOptions>][] = [
  ['output cache', {}],
  ['uncached', { cache: false }],
  ['streamed', { cache: { maxFileSize: 0 } }],
];

for (const [mode, extra] of modes) {
  describe(`conditional and range requests (${mode})`, () => {
    let root: string;
    let s: StaticServer;
    let etag: string;
    let lastModified: string;

    before(async () => {
      root = makeSite({ 'data.bin': DATA, 'old.bin': DATA, 'page.txt': TEXT });
      utimesSync(join(root, 'old.bin'), PAST, PAST);
      s = await startStatic({ root, ...extra });
      const r = await request(s.port, '/data.bin');
      etag = r.headers.etag!;
      lastModified = r.headers['last-modified']!;
    });
    after(async () => {
      await s.close();
      removeSite(root);
    });

    it('sends a strong ETag "<mtime µs>-<size>" and Last-Modified', async () => {
      assert.match(etag, /^"[0-9a-f]+-3e8"$/);
      const old = await request(s.port, '/old.bin');
      assert.equal(old.headers['last-modified'], PAST_HTTP);
      assert.equal(old.headers.etag, `"${(PAST.getTime() * 1000).toString(16)}-3e8"`);
      assert.equal(old.headers['accept-ranges'], 'bytes');
    });

    it('If-None-Match: 304 on a (weak) match, no body, no Content-Length', async () => {
      for (const inm of [etag, `"nope", ${etag}`, `W/${etag}`, '*']) {
        const r = await request(s.port, '/data.bin', { 'If-None-Match': inm });
        assert.equal(r.status, 304, inm);
        assert.equal(r.body.length, 0);
        assert.equal(r.headers['content-length'], undefined);
        assert.equal(r.headers.etag, etag);
        assert.equal(r.headers['content-type'], undefined);
      }
      assert.equal(
        (await request(s.port, '/data.bin', { 'If-None-Match': '"other"' })).status,
        200,
      );
      const head = await request(s.port, '/data.bin', { 'If-None-Match': etag }, 'HEAD');
      assert.equal(head.status, 304);
    });

    it('If-Modified-Since: 304 unless modified after the date; ignored with If-None-Match', async () => {
      assert.equal(
        (await request(s.port, '/data.bin', { 'If-Modified-Since': lastModified })).status,
        304,
      );
      assert.equal(
        (
          await request(s.port, '/old.bin', {
            'If-Modified-Since': 'Thu, 02 Jan 2020 03:04:04 GMT',
          })
        ).status,
        200,
      );
      assert.equal(
        (
          await request(s.port, '/old.bin', {
            'If-Modified-Since': 'Fri, 03 Jan 2020 00:00:00 GMT',
          })
        ).status,
        304,
      );
      assert.equal(
        (await request(s.port, '/data.bin', { 'If-Modified-Since': 'not a date' })).status,
        200,
      );
      const both = await request(s.port, '/data.bin', {
        'If-None-Match': '"other"',
        'If-Modified-Since': lastModified,
      });
      assert.equal(both.status, 200);
    });

    it('If-Match: 412 unless a strong match', async () => {
      assert.equal((await request(s.port, '/data.bin', { 'If-Match': '"other"' })).status, 412);
      assert.equal((await request(s.port, '/data.bin', { 'If-Match': `W/${etag}` })).status, 412);
      assert.equal((await request(s.port, '/data.bin', { 'If-Match': etag })).status, 200);
      assert.equal((await request(s.port, '/data.bin', { 'If-Match': '*' })).status, 200);
      // 412 takes precedence over a matching If-None-Match (§13.2.2 step 1 before step 3).
      assert.equal(
        (await request(s.port, '/data.bin', { 'If-Match': '"x"', 'If-None-Match': etag })).status,
        412,
      );
    });

    it('If-Unmodified-Since: 412 when modified after the date, ignored with If-Match', async () => {
      assert.equal(
        (
          await request(s.port, '/old.bin', {
            'If-Unmodified-Since': 'Thu, 02 Jan 2020 03:04:04 GMT',
          })
        ).status,
        412,
      );
      assert.equal(
        (await request(s.port, '/old.bin', { 'If-Unmodified-Since': PAST_HTTP })).status,
        200,
      );
      const oldTag = (await request(s.port, '/old.bin')).headers.etag!;
      assert.equal(
        (
          await request(s.port, '/old.bin', {
            'If-Match': oldTag,
            'If-Unmodified-Since': 'Thu, 02 Jan 2020 03:04:04 GMT',
          })
        ).status,
        200,
      );
    });

    it('single ranges: closed, open, suffix, clamped', async () => {
      const cases: [string, number, number][] = [
        ['bytes=0-99', 0, 99],
        ['bytes=900-', 900, 999],
        ['bytes=-100', 900, 999],
        ['bytes=990-5000', 990, 999],
        ['bytes=-5000', 0, 999],
        ['bytes=5-5', 5, 5],
      ];
      for (const [range, start, end] of cases) {
        const r = await request(s.port, '/data.bin', { Range: range });
        assert.equal(r.status, 206, range);
        assert.equal(r.headers['content-range'], `bytes ${start}-${end}/1000`);
        assert.equal(r.headers['content-length'], String(end - start + 1));
        assert.equal(r.headers['content-type'], 'application/octet-stream');
        assert.equal(r.headers.etag, etag);
        assert.deepEqual(r.body, DATA.subarray(start, end + 1), range);
      }
    });

    it('multiple ranges: multipart/byteranges with exact framing', async () => {
      const r = await request(s.port, '/data.bin', { Range: 'bytes=0-9, 500-509,-5' });
      assert.equal(r.status, 206);
      assert.match(r.headers['content-type']!, /^multipart\/byteranges; boundary=[0-9a-f]+$/);
      assert.equal(r.headers['content-range'], undefined);
      assert.equal(Number(r.headers['content-length']), r.body.length);
      const ps = parts(r.body, r.headers['content-type']!);
      assert.equal(ps.length, 3);
      const want: [number, number][] = [
        [0, 9],
        [500, 509],
        [995, 999],
      ];
      ps.forEach((p, i) => {
        const [a, b] = want[i]!;
        assert.equal(p.headers['content-type'], 'application/octet-stream');
        assert.equal(p.headers['content-range'], `bytes ${a}-${b}/1000`);
        assert.deepEqual(p.data, DATA.subarray(a, b + 1));
      });
    });

    it('416 with Content-Range: bytes */size when nothing is satisfiable', async () => {
      for (const range of ['bytes=1000-', 'bytes=2000-3000', 'bytes=-0', 'bytes=1000-1001,5000-']) {
        const r = await request(s.port, '/data.bin', { Range: range });
        assert.equal(r.status, 416, range);
        assert.equal(r.headers['content-range'], 'bytes */1000');
      }
      // Satisfiable members survive the unsatisfiable ones.
      const mixed = await request(s.port, '/data.bin', { Range: 'bytes=2000-3000,0-1' });
      assert.equal(mixed.status, 206);
      assert.equal(mixed.headers['content-range'], 'bytes 0-1/1000');
    });

    it('ignores invalid, foreign-unit, abusive and repeated Range fields (200, whole file)', async () => {
      for (const range of ['bytes=5-1', 'bytes=x-y', 'items=0-1', 'bytes=0-999,0-999', 'bytes']) {
        const r = await request(s.port, '/data.bin', { Range: range });
        assert.equal(r.status, 200, range);
        assert.deepEqual(r.body, DATA);
      }
      const twice = `GET /data.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\nRange: bytes=0-1\r\nRange: bytes=2-3\r\n\r\n`;
      const { rawExchange, parseResponse } = await import('../helpers/static-site.js');
      assert.equal(parseResponse(await rawExchange(s.port, twice)).status, 200);
    });

    it('HEAD ignores Range (§14.2: ranges are defined for GET only)', async () => {
      const r = await request(s.port, '/data.bin', { Range: 'bytes=0-9' }, 'HEAD');
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-length'], '1000');
    });

    it('If-Range: strong ETag or exact old Last-Modified allows the range; otherwise 200', async () => {
      assert.equal(
        (await request(s.port, '/data.bin', { Range: 'bytes=0-9', 'If-Range': etag })).status,
        206,
      );
      const stale = await request(s.port, '/data.bin', {
        Range: 'bytes=0-9',
        'If-Range': '"stale"',
      });
      assert.equal(stale.status, 200);
      assert.deepEqual(stale.body, DATA);
      assert.equal(
        (await request(s.port, '/data.bin', { Range: 'bytes=0-9', 'If-Range': `W/${etag}` }))
          .status,
        200,
      );
      assert.equal(
        (await request(s.port, '/old.bin', { Range: 'bytes=0-9', 'If-Range': PAST_HTTP })).status,
        206,
      );
      assert.equal(
        (
          await request(s.port, '/old.bin', {
            Range: 'bytes=0-9',
            'If-Range': 'Thu, 02 Jan 2020 03:04:06 GMT',
          })
        ).status,
        200,
      );
    });

    it('Range requests get the identity representation even when gzip is accepted', async () => {
      const r = await request(s.port, '/page.txt', {
        Range: 'bytes=0-8',
        'Accept-Encoding': 'gzip',
      });
      assert.equal(r.status, 206);
      assert.equal(r.headers['content-encoding'], undefined);
      assert.equal(r.body.toString(), 'The quick');
      assert.equal(r.headers.vary, 'Accept-Encoding');
    });

    it('compressed representations have their own ETag and revalidate against it', async () => {
      const g = await request(s.port, '/page.txt', { 'Accept-Encoding': 'gzip' });
      assert.equal(g.headers['content-encoding'], 'gzip');
      assert.equal(gunzipSync(g.body).toString(), TEXT);
      const id = await request(s.port, '/page.txt');
      assert.match(g.headers.etag!, /-gz"$/);
      assert.notEqual(g.headers.etag, id.headers.etag);
      const nm = await request(s.port, '/page.txt', {
        'Accept-Encoding': 'gzip',
        'If-None-Match': g.headers.etag!,
      });
      assert.equal(nm.status, 304);
      assert.equal(nm.headers.etag, g.headers.etag);
      assert.equal(nm.headers.vary, 'Accept-Encoding');
      // The identity tag does not validate the gzip representation, and vice versa.
      const cross = await request(s.port, '/page.txt', {
        'Accept-Encoding': 'gzip',
        'If-None-Match': id.headers.etag!,
      });
      assert.equal(cross.status, 200);
      assert.equal(cross.headers['content-encoding'], 'gzip');
      assert.equal(
        (await request(s.port, '/page.txt', { 'If-None-Match': g.headers.etag! })).status,
        200,
      );
    });
  });
}
