/**
 * Path safety over raw sockets (the request target reaches the server exactly as written):
 * traversal with dot segments in every encoding, encoded slashes and backslashes, NUL and other
 * controls, overlong UTF-8, double encoding, and symbolic links leading out of the root.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  parseResponse,
  rawExchange,
  removeSite,
  request,
  startStatic,
  type StaticServer,
} from '../helpers/static-site.js';

const SECRET = 'TOP SECRET outside the root';
let base: string;
let root: string;
let s: StaticServer;

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'rapid-safety-'));
  root = join(base, 'www');
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(join(base, 'private'));
  writeFileSync(join(base, 'secret.txt'), SECRET);
  writeFileSync(join(base, 'private', 'key.txt'), SECRET);
  writeFileSync(join(root, 'index.html'), 'public index');
  writeFileSync(join(root, 'sub', 'x.txt'), 'inside');
  mkdirSync(join(root, '%2e%2e'));
  writeFileSync(join(root, '%2e%2e', 'lit.txt'), 'literal percent name');
  symlinkSync(join(base, 'secret.txt'), join(root, 'out.txt'));
  symlinkSync('../secret.txt', join(root, 'rel-out.txt'));
  symlinkSync(join(base, 'private'), join(root, 'outdir'));
  symlinkSync('index.html', join(root, 'in.html'));
  symlinkSync('sub', join(root, 'indir'));
  symlinkSync('nowhere', join(root, 'dangling.txt'));
  s = await startStatic({ root });
});
after(async () => {
  await s.close();
  removeSite(base);
});

function assertNoSecret(body: Buffer, what: string): void {
  assert.ok(!body.toString('latin1').includes('TOP SECRET'), `${what} leaked the secret`);
}

describe('traversal', () => {
  const attempts: [string, number][] = [
    ['/../secret.txt', 400],
    ['/sub/../../secret.txt', 400],
    ['/sub/../index.html', 400],
    ['/./index.html', 400],
    ['/..', 400],
    ['/%2e%2e/secret.txt', 400],
    ['/%2E%2E/secret.txt', 400],
    ['/.%2e/secret.txt', 400],
    ['/sub/%2e%2e/%2e%2e/secret.txt', 400],
    ['/%2e%2e%2fsecret.txt', 404],
    ['/..%2fsecret.txt', 404],
    ['/..%2Fsecret.txt', 404],
    ['/sub%2f..%2f..%2fsecret.txt', 404],
    ['/%252e%252e/secret.txt', 404],
    ['/%252e%252e%252fsecret.txt', 404],
    ['/..\\secret.txt', 400],
    ['/sub\\..\\..\\secret.txt', 400],
    ['/%5c..%5csecret.txt', 400],
    ['/..%5csecret.txt', 400],
    ['/index.html%00', 400],
    ['/index.html%00.txt', 400],
    ['/%00/../secret.txt', 400],
    ['/sub%0a/x.txt', 400],
    ['/%c0%ae%c0%ae/secret.txt', 400],
    ['/%c0%af..%c0%afsecret.txt', 400],
    ['/%e0%80%ae%e0%80%ae/secret.txt', 400],
    ['/%', 400],
    ['/%zz', 400],
    ['/%2', 400],
    ['http://127.0.0.1/../secret.txt', 400],
  ];
  for (const [target, status] of attempts) {
    it(`${target} -> ${status}`, async () => {
      const r = await request(s.port, target);
      assert.equal(r.status, status);
      assertNoSecret(r.body, target);
    });
  }

  it('a raw NUL in the target never reaches a file', async () => {
    const data = await rawExchange(
      s.port,
      'GET /index.html\0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    const r = parseResponse(data);
    assert.equal(r.status, 400);
  });

  it('double encoding stays literal: %252e%252e is a directory named "%2e%2e"', async () => {
    const r = await request(s.port, '/%252e%252e/lit.txt');
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'literal percent name');
  });

  it('the server keeps serving after every refused request', async () => {
    const r = await request(s.port, '/sub/x.txt');
    assert.equal(r.body.toString(), 'inside');
  });
});

describe('symbolic links', () => {
  it('links leading out of the root are 404, links inside are served', async () => {
    for (const p of [
      '/out.txt',
      '/rel-out.txt',
      '/outdir/key.txt',
      '/outdir/',
      '/outdir',
      '/dangling.txt',
    ]) {
      const r = await request(s.port, p);
      assert.equal(r.status, 404, p);
      assertNoSecret(r.body, p);
    }
    assert.equal((await request(s.port, '/in.html')).body.toString(), 'public index');
    assert.equal((await request(s.port, '/indir/x.txt')).body.toString(), 'inside');
  });

  it('followSymlinks: "any" follows them anywhere', async () => {
    const any = await startStatic({ root, followSymlinks: 'any' });
    try {
      assert.equal((await request(any.port, '/out.txt')).body.toString(), SECRET);
      assert.equal((await request(any.port, '/outdir/key.txt')).body.toString(), SECRET);
      // Lexical traversal is still refused.
      assert.equal((await request(any.port, '/../secret.txt')).status, 400);
    } finally {
      await any.close();
    }
  });

  it('the listing hides links that lead out of the root', async () => {
    const l = await startStatic({ root, listing: true });
    try {
      const html = (await request(l.port, '/sub/')).body.toString();
      assert.ok(html.includes('x.txt'));
      const top = (await request(l.port, '/indir/')).body.toString();
      assert.ok(top.includes('x.txt'));
      mkdirSync(join(root, 'list'));
      symlinkSync(join(base, 'secret.txt'), join(root, 'list', 'leak.txt'));
      writeFileSync(join(root, 'list', 'ok.txt'), 'ok');
      const page = (await request(l.port, '/list/')).body.toString();
      assert.ok(page.includes('ok.txt'));
      assert.ok(!page.includes('leak.txt'));
    } finally {
      await l.close();
    }
  });
});
