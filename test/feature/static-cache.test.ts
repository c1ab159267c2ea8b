/**
 * The output cache never serves a file that changed before the request was sent: in-place
 * writes, atomic replacement, deletion, directory swaps, same-size same-mtime rewrites, new
 * default documents and precompressed siblings, on new and on kept-alive connections, and
 * concurrent requests while a file changes. No timing assertions: each change is made, then the
 * next request must see it.
 */
import assert from 'node:assert/strict';
import {
  mkdirSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { Agent, request as undiciRequest } from 'undici';
import {
  makeSite,
  removeSite,
  request,
  startStatic,
  type StaticServer,
} from '../helpers/static-site.js';

describe('output cache freshness (fs.watch)', () => {
  let root: string;
  let s: StaticServer;
  before(async () => {
    root = makeSite({
      'a.txt': 'version 0',
      'del.txt': 'to be deleted',
      'assets/app.js': 'old app',
      'assets/deep/x.css': 'old css',
      'idx/index.htm': 'htm index',
      'page.html': 'old page '.repeat(300),
    });
    s = await startStatic({ root, index: ['index.html', 'index.htm'] });
  });
  after(async () => {
    await s.close();
    removeSite(root);
  });

  it('serves from the cache (a hit is counted)', async () => {
    await request(s.port, '/a.txt');
    const before = s.handler.cacheStats().hits;
    await request(s.port, '/a.txt');
    assert.equal(s.handler.cacheStats().hits, before + 1);
  });

  it('sees in-place rewrites at once, same size or not', async () => {
    for (let i = 1; i <= 30; i++) {
      const text = i % 2 === 0 ? `version ${i}` : `v${i}`;
      writeFileSync(join(root, 'a.txt'), text);
      const r = await request(s.port, '/a.txt');
      assert.equal(r.body.toString(), text, `round ${i}`);
    }
  });

  it('sees a rewrite with the same size and the same mtime', async () => {
    const p = join(root, 'a.txt');
    writeFileSync(p, 'AAAA');
    utimesSync(p, new Date(1e12), new Date(1e12));
    assert.equal((await request(s.port, '/a.txt')).body.toString(), 'AAAA');
    writeFileSync(p, 'BBBB');
    utimesSync(p, new Date(1e12), new Date(1e12));
    assert.equal((await request(s.port, '/a.txt')).body.toString(), 'BBBB');
  });

  it('sees atomic replacement by rename', async () => {
    for (let i = 0; i < 10; i++) {
      writeFileSync(join(root, '.tmp-a'), `renamed ${i}`);
      renameSync(join(root, '.tmp-a'), join(root, 'a.txt'));
      assert.equal((await request(s.port, '/a.txt')).body.toString(), `renamed ${i}`);
    }
  });

  it('answers 404 at once after deletion and 200 after re-creation', async () => {
    assert.equal((await request(s.port, '/del.txt')).status, 200);
    assert.equal((await request(s.port, '/del.txt')).status, 200);
    unlinkSync(join(root, 'del.txt'));
    assert.equal((await request(s.port, '/del.txt')).status, 404);
    writeFileSync(join(root, 'del.txt'), 'back');
    assert.equal((await request(s.port, '/del.txt')).body.toString(), 'back');
  });

  it('sees a swapped directory (atomic deploy of assets/)', async () => {
    assert.equal((await request(s.port, '/assets/app.js')).body.toString(), 'old app');
    assert.equal((await request(s.port, '/assets/deep/x.css')).body.toString(), 'old css');
    mkdirSync(join(root, 'assets-new/deep'), { recursive: true });
    writeFileSync(join(root, 'assets-new/app.js'), 'new app');
    writeFileSync(join(root, 'assets-new/deep/x.css'), 'new css');
    renameSync(join(root, 'assets'), join(root, 'assets-old'));
    renameSync(join(root, 'assets-new'), join(root, 'assets'));
    assert.equal((await request(s.port, '/assets/app.js')).body.toString(), 'new app');
    assert.equal((await request(s.port, '/assets/deep/x.css')).body.toString(), 'new css');
    rmSync(join(root, 'assets-old'), { recursive: true });
    rmSync(join(root, 'assets'), { recursive: true });
    assert.equal((await request(s.port, '/assets/app.js')).status, 404);
  });

  it('switches to a new default document', async () => {
    assert.equal((await request(s.port, '/idx/')).body.toString(), 'htm index');
    writeFileSync(join(root, 'idx/index.html'), 'html index');
    assert.equal((await request(s.port, '/idx/')).body.toString(), 'html index');
    unlinkSync(join(root, 'idx/index.html'));
    assert.equal((await request(s.port, '/idx/')).body.toString(), 'htm index');
  });

  it('rebuilds compressed variants and picks up new precompressed siblings', async () => {
    const p = join(root, 'page.html');
    const g1 = await request(s.port, '/page.html', { 'Accept-Encoding': 'gzip' });
    assert.equal(gunzipSync(g1.body).toString(), 'old page '.repeat(300));
    writeFileSync(p, 'new page '.repeat(300));
    const g2 = await request(s.port, '/page.html', { 'Accept-Encoding': 'gzip' });
    assert.equal(gunzipSync(g2.body).toString(), 'new page '.repeat(300));
    assert.notEqual(g2.headers.etag, g1.headers.etag);
    writeFileSync(`${p}.gz`, gzipSync('sibling page '.repeat(300)));
    const g3 = await request(s.port, '/page.html', { 'Accept-Encoding': 'gzip' });
    assert.equal(gunzipSync(g3.body).toString(), 'sibling page '.repeat(300));
    unlinkSync(`${p}.gz`);
    const g4 = await request(s.port, '/page.html', { 'Accept-Encoding': 'gzip' });
    assert.equal(gunzipSync(g4.body).toString(), 'new page '.repeat(300));
  });

  it('sees changes on a kept-alive connection', async () => {
    const agent = new Agent({ connections: 1, pipelining: 1 });
    try {
      const url = `http://127.0.0.1:${s.port}/a.txt`;
      for (let i = 0; i < 20; i++) {
        writeFileSync(join(root, 'a.txt'), `keep-alive ${i}`);
        const r = await undiciRequest(url, { dispatcher: agent });
        assert.equal(await r.body.text(), `keep-alive ${i}`);
      }
    } finally {
      await agent.close();
    }
  });

  it('concurrent requests during changes each get one whole version, then the new one', async () => {
    const p = join(root, 'a.txt');
    const versions = Array.from({ length: 8 }, (_, i) => `${String(i).repeat(2000 + i * 100)}`);
    writeFileSync(p, versions[0]!);
    const agent = new Agent({ connections: 16 });
    try {
      const url = `http://127.0.0.1:${s.port}/a.txt`;
      const inflight: Promise<{ body: string; etag: string; len: string }>[] = [];
      const fire = (): void => {
        for (let k = 0; k < 25; k++) {
          inflight.push(
            undiciRequest(url, { dispatcher: agent }).then(async (r) => ({
              body: await r.body.text(),
              etag: String(r.headers.etag),
              len: String(r.headers['content-length']),
            })),
          );
        }
      };
      for (let v = 1; v < versions.length; v++) {
        fire();
        // Atomic replacement while requests are in flight.
        writeFileSync(`${p}.tmp`, versions[v]!);
        renameSync(`${p}.tmp`, p);
        fire();
        await new Promise((r) => setImmediate(r));
      }
      const results = await Promise.all(inflight);
      const byEtag = new Map<string, string>();
      for (const r of results) {
        assert.ok(versions.includes(r.body), 'a whole version, never a mix');
        assert.equal(Number(r.len), Buffer.byteLength(r.body));
        // One ETag always goes with one body.
        const seen = byEtag.get(r.etag);
        if (seen !== undefined) assert.equal(seen, r.body);
        byEtag.set(r.etag, r.body);
      }
      const last = await undiciRequest(url, { dispatcher: agent });
      assert.equal(await last.body.text(), versions[versions.length - 1]);
    } finally {
      await agent.close();
    }
  });
});

describe('output cache freshness without fs.watch', () => {
  it('revalidateMs: 0 stats on every hit and sees changes of size or mtime', async () => {
    const root = makeSite({ 'f.txt': 'one' });
    const s = await startStatic({ root, cache: { watch: false, revalidateMs: 0 } });
    try {
      const p = join(root, 'f.txt');
      assert.equal((await request(s.port, '/f.txt')).body.toString(), 'one');
      for (let i = 0; i < 10; i++) {
        const text = 'x'.repeat(i + 1);
        writeFileSync(p, text);
        assert.equal((await request(s.port, '/f.txt')).body.toString(), text);
      }
      unlinkSync(p);
      assert.equal((await request(s.port, '/f.txt')).status, 404);
    } finally {
      await s.close();
      removeSite(root);
    }
  });

  it('invalidate() makes a change visible at once, for a file or for everything', async () => {
    const root = makeSite({ 'f.txt': 'one', 'd/g.txt': 'g1' });
    const s = await startStatic({ root, cache: { watch: false, revalidateMs: 3_600_000 } });
    try {
      assert.equal((await request(s.port, '/f.txt')).body.toString(), 'one');
      assert.equal((await request(s.port, '/d/g.txt')).body.toString(), 'g1');
      writeFileSync(join(root, 'f.txt'), 'two');
      writeFileSync(join(root, 'd/g.txt'), 'g2');
      // Without watching and with a long window the entry is still what was read...
      assert.equal((await request(s.port, '/f.txt')).body.toString(), 'one');
      s.handler.invalidate('f.txt');
      assert.equal((await request(s.port, '/f.txt')).body.toString(), 'two');
      assert.equal((await request(s.port, '/d/g.txt')).body.toString(), 'g1');
      s.handler.invalidate(join(root, 'd'));
      assert.equal((await request(s.port, '/d/g.txt')).body.toString(), 'g2');
      writeFileSync(join(root, 'f.txt'), 'three');
      s.handler.invalidate();
      assert.equal((await request(s.port, '/f.txt')).body.toString(), 'three');
      assert.equal(s.handler.cacheStats().entries, 1);
    } finally {
      await s.close();
      removeSite(root);
    }
  });
});

describe('output cache bounds', () => {
  it('keeps at most maxEntries files and maxBytes bytes, evicting the least recently used', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 10; i++) files[`f${i}.txt`] = String(i).repeat(100);
    const root = makeSite(files);
    const s = await startStatic({
      root,
      cache: { maxEntries: 4, maxBytes: 350 },
      compression: false,
    });
    try {
      for (let i = 0; i < 10; i++) await request(s.port, `/f${i}.txt`);
      let st = s.handler.cacheStats();
      assert.ok(st.entries <= 3, `entries ${st.entries}`);
      assert.ok(st.bytes <= 350);
      // f9 is the most recent: a hit.
      const hits = st.hits;
      await request(s.port, '/f9.txt');
      assert.equal(s.handler.cacheStats().hits, hits + 1);
      // f0 was evicted long ago: a miss, then cached again.
      const misses = s.handler.cacheStats().misses;
      assert.equal((await request(s.port, '/f0.txt')).body.toString(), files['f0.txt']);
      st = s.handler.cacheStats();
      assert.equal(st.misses, misses + 1);
    } finally {
      await s.close();
      removeSite(root);
    }
  });

  it('files over maxFileSize are streamed, not cached', async () => {
    const root = makeSite({ 'big.bin': Buffer.alloc(5000, 1), 'small.bin': Buffer.alloc(10, 2) });
    const s = await startStatic({ root, cache: { maxFileSize: 4096 } });
    try {
      const r = await request(s.port, '/big.bin');
      assert.equal(r.body.length, 5000);
      await request(s.port, '/small.bin');
      assert.equal(s.handler.cacheStats().entries, 1);
      assert.equal(statSync(join(root, 'big.bin')).size, 5000);
    } finally {
      await s.close();
      removeSite(root);
    }
  });
});
