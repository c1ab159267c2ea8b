/**
 * The FastCGI handler against a real php-fpm (Debian's php-fpm, started here in the foreground
 * with a temporary config on a free port): variables, bodies, headers and cookies, redirects,
 * streaming, large output, timeouts, a stopped server, keep-alive reuse and path safety.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createFastCgiHandler, type FastCgiHandler } from '../../src/features/fastcgi/index.js';
import {
  freePort,
  makeRoot,
  phpFpmBinary,
  startPhpFpm,
  startRapid,
  type PhpFpm,
} from '../helpers/php.js';
import { request } from '../helpers/static-site.js';

const skip = phpFpmBinary === null ? 'php-fpm is not installed (apt-get install php-fpm)' : false;

const SCRIPTS: Record<string, string> = {
  'info.php': `<?php
header('Content-Type: application/json');
$keys = ['GATEWAY_INTERFACE','SERVER_PROTOCOL','REQUEST_METHOD','REQUEST_URI','QUERY_STRING',
  'SCRIPT_NAME','SCRIPT_FILENAME','PATH_INFO','DOCUMENT_ROOT','REMOTE_ADDR','REMOTE_PORT',
  'SERVER_NAME','SERVER_PORT','HTTPS','CONTENT_TYPE','CONTENT_LENGTH','HTTP_X_CUSTOM_THING',
  'HTTP_PROXY','HTTP_X_FORWARDED_FOR','PHP_SELF','HTTP_COOKIE'];
$out = [];
foreach ($keys as $k) $out[$k] = $_SERVER[$k] ?? null;
$out['get'] = $_GET; $out['post'] = $_POST; $out['cookie'] = $_COOKIE;
echo json_encode($out);
`,
  'body.php': `<?php
$b = file_get_contents('php://input');
echo strlen($b), ' ', md5($b);
`,
  'headers.php': `<?php
http_response_code(201);
header('X-Made-By: php');
setcookie('a', '1');
setcookie('b', '2');
echo 'made';
`,
  'redirect.php': `<?php header('Location: /info.php?from=redirect');`,
  'absolute.php': `<?php header('Location: https://example.org/x', true, 301);`,
  'missing.php': `<?php http_response_code(404); echo 'no such thing';`,
  'status.php': `<?php header('Status: 418 I am a teapot'); echo 'tea';`,
  'stream.php': `<?php
echo 'first;';
flush();
$f = $_GET['f'];
for ($i = 0; $i < 3000 && !file_exists($f); $i++) usleep(10000);
echo 'second';
`,
  'large.php': `<?php
$chunk = str_repeat('0123456789abcdef', 4096);
for ($i = 0; $i < 80; $i++) echo $chunk;
`,
  'slow.php': `<?php sleep(30); echo 'late';`,
  'stderr.php': `<?php error_log('oops from php'); echo 'ok';`,
  'fatal.php': `<?php this is not php`,
  'sub/index.php': `<?php echo 'sub index ', $_SERVER['SCRIPT_NAME'];`,
  'plain.txt': 'not a script',
  'café/naïve.php': `<?php echo $_SERVER['SCRIPT_NAME'], '|', basename($_SERVER['SCRIPT_FILENAME']);`,
};

let fpm: PhpFpm;
let dirs: { root: string; base: string };
let handler: FastCgiHandler;
let s: Awaited<ReturnType<typeof startRapid>>;
const logs: string[] = [];

before(async () => {
  if (skip !== false) return;
  dirs = makeRoot(SCRIPTS);
  writeFileSync(join(dirs.base, 'secret.php'), '<?php echo "SECRET";');
  fpm = await startPhpFpm({ children: 4 });
  handler = createFastCgiHandler({
    address: fpm.address,
    root: dirs.root,
    // Below pm.max_children (4): the slow-script test's handler needs a child of its own.
    maxConnections: 3,
    log: (level, message) => logs.push(`${level}: ${message}`),
  });
  s = await startRapid((req, res) =>
    handler(req, res, () => {
      res.send('next handler');
    }),
  );
});
after(async () => {
  await s?.close();
  handler?.close();
  await fpm?.stop();
  if (dirs !== undefined) rmSync(dirs.base, { recursive: true, force: true });
});

describe('FastCGI with php-fpm', { skip }, () => {
  it('passes the CGI variables and the query', async () => {
    const r = await fetch(`${s.origin}/info.php/extra/path?x=1&y=two`, {
      headers: { 'X-Custom-Thing': 'yes', Proxy: 'http://evil', Cookie: 'c=3' },
    });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
    const v = (await r.json()) as Record<string, unknown>;
    assert.equal(v.GATEWAY_INTERFACE, 'CGI/1.1');
    assert.equal(v.SERVER_PROTOCOL, 'HTTP/1.1');
    assert.equal(v.REQUEST_METHOD, 'GET');
    assert.equal(v.REQUEST_URI, '/info.php/extra/path?x=1&y=two');
    assert.equal(v.QUERY_STRING, 'x=1&y=two');
    assert.equal(v.SCRIPT_NAME, '/info.php');
    assert.equal(v.PATH_INFO, '/extra/path');
    assert.equal(v.SCRIPT_FILENAME, join(handlerRoot(), 'info.php'));
    assert.equal(v.DOCUMENT_ROOT, handlerRoot());
    assert.equal(v.REMOTE_ADDR, '127.0.0.1');
    assert.match(String(v.REMOTE_PORT), /^\d+$/);
    assert.equal(v.SERVER_NAME, '127.0.0.1');
    assert.equal(v.SERVER_PORT, String(s.port));
    assert.equal(v.HTTPS, null);
    assert.equal(v.HTTP_X_CUSTOM_THING, 'yes');
    assert.equal(v.HTTP_PROXY, null, 'httpoxy: the Proxy header must not become HTTP_PROXY');
    assert.deepEqual(v.get, { x: '1', y: 'two' });
    assert.deepEqual(v.cookie, { c: '3' });
  });

  it('drops header names with underscores (no spoofing of the dash spelling)', async () => {
    const r = await request(s.port, '/info.php', { X_Forwarded_For: '6.6.6.6' });
    assert.equal(r.status, 200);
    const v = JSON.parse(r.body.toString()) as Record<string, unknown>;
    assert.equal(v.HTTP_X_FORWARDED_FOR, null);
  });

  it('POSTs a form', async () => {
    const r = await fetch(`${s.origin}/info.php`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'name=Ada+Lovelace&n=42',
    });
    const v = (await r.json()) as Record<string, unknown>;
    assert.deepEqual(v.post, { name: 'Ada Lovelace', n: '42' });
    assert.equal(v.CONTENT_LENGTH, '22');
    assert.equal(v.CONTENT_TYPE, 'application/x-www-form-urlencoded');
  });

  it('streams a 1 MB body to the script, and a chunked one', async () => {
    const body = Buffer.alloc(1024 * 1024 - 1);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
    const md5 = createHash('md5').update(body).digest('hex');
    const r = await fetch(`${s.origin}/body.php`, { method: 'POST', body });
    assert.equal(await r.text(), `${body.length} ${md5}`);
    const chunked = await fetch(`${s.origin}/body.php`, {
      method: 'POST',
      body: new Blob([body]).stream(),
      duplex: 'half',
    } as RequestInit);
    assert.equal(await chunked.text(), `${body.length} ${md5}`);
  });

  it('passes status, headers and every Set-Cookie', async () => {
    const r = await fetch(`${s.origin}/headers.php`);
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('x-made-by'), 'php');
    assert.deepEqual(r.headers.getSetCookie(), ['a=1', 'b=2']);
    assert.equal(await r.text(), 'made');
    const m = await fetch(`${s.origin}/missing.php`);
    assert.equal(m.status, 404);
    assert.equal(await m.text(), 'no such thing');
    const t = await fetch(`${s.origin}/status.php`);
    assert.equal(t.status, 418);
  });

  it('turns Location into a redirect', async () => {
    const r = await fetch(`${s.origin}/redirect.php`, { redirect: 'manual' });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), '/info.php?from=redirect');
    const a = await fetch(`${s.origin}/absolute.php`, { redirect: 'manual' });
    assert.equal(a.status, 301);
    assert.equal(a.headers.get('location'), 'https://example.org/x');
  });

  it('streams output as the script flushes it', async () => {
    const flag = join(dirs.base, `flag-${Date.now()}`);
    const r = await fetch(`${s.origin}/stream.php?f=${encodeURIComponent(flag)}`);
    assert.equal(r.status, 200);
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes('first;')) {
      const { value, done } = await reader.read();
      assert.ok(!done, 'ended before the first part');
      text += Buffer.from(value).toString();
    }
    assert.ok(!text.includes('second'), 'the second part was written before the flag existed');
    writeFileSync(flag, '');
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
    }
    assert.equal(text, 'first;second');
  });

  it('streams large output intact', async () => {
    const r = await fetch(`${s.origin}/large.php`);
    const body = Buffer.from(await r.arrayBuffer());
    assert.equal(body.length, 80 * 65536);
    const expected = Buffer.from('0123456789abcdef'.repeat(4096 * 80));
    assert.ok(body.equals(expected));
  });

  it('logs STDERR; a parse error is answered by PHP itself', async () => {
    const r = await fetch(`${s.origin}/stderr.php`);
    assert.equal(await r.text(), 'ok');
    assert.ok(
      logs.some((l) => l.includes('oops from php')),
      `stderr not logged: ${logs.join('\n')}`,
    );
    // Without a php.ini display_errors is on: the parse error is the page (PHP decides, not us).
    const f = await fetch(`${s.origin}/fatal.php`);
    assert.match(await f.text(), /Parse error/);
  });

  it('serves index.php for a directory and passes other paths on', async () => {
    const r = await fetch(`${s.origin}/sub/`);
    assert.equal(await r.text(), 'sub index /sub/index.php');
    const p = await fetch(`${s.origin}/plain.txt`);
    assert.equal(await p.text(), 'next handler');
  });

  it('answers 404 for missing scripts and every traversal attempt', async () => {
    for (const path of [
      '/nope.php',
      '/../secret.php',
      '/sub/../../secret.php',
      '/%2e%2e/secret.php',
      '/sub/..%2f..%2fsecret.php',
      '/sub%2f..%2f..%2fsecret.php',
      '/secret.php%00.txt',
      '/..%5csecret.php',
      '/sub/',
    ]) {
      const r = await request(s.port, path);
      assert.ok(!r.body.toString().includes('SECRET'), `${path} leaked`);
      if (path !== '/sub/') assert.equal(r.status, 404, path);
    }
  });

  it('passes non-ASCII script paths as UTF-8', async () => {
    const r = await fetch(`${s.origin}/caf%C3%A9/na%C3%AFve.php`);
    assert.equal(await r.text(), '/café/naïve.php|naïve.php');
  });

  it('reuses one keep-alive connection for sequential requests', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${s.origin}/info.php?i=${i}`);
      await r.arrayBuffer();
    }
    // Requests above ran one after the other: the pool never needed more than the earlier ones.
    assert.ok(handler.connections <= 4, `connections: ${handler.connections}`);
  });

  it('answers 504 when the script is too slow', async () => {
    const slow = createFastCgiHandler({
      address: fpm.address,
      root: dirs.root,
      timeout: 500,
      log: () => {},
    });
    const t = await startRapid((req, res) => slow(req, res));
    try {
      const r = await fetch(`${t.origin}/slow.php`);
      assert.equal(r.status, 504);
      assert.match(await r.text(), /did not answer in time/);
    } finally {
      await t.close();
      slow.close();
    }
  });

  it('answers 502 when nothing listens, and after php-fpm stopped', async () => {
    const port = await freePort();
    const down = createFastCgiHandler({
      address: `127.0.0.1:${port}`,
      root: dirs.root,
      log: () => {},
    });
    const t = await startRapid((req, res) => down(req, res));
    try {
      const r = await fetch(`${t.origin}/info.php`);
      assert.equal(r.status, 502);
      await fpm.stop();
      const again = await fetch(`${s.origin}/info.php`);
      assert.equal(again.status, 502);
    } finally {
      await t.close();
      down.close();
    }
  });

  function handlerRoot(): string {
    return realpathSync(dirs.root);
  }
});
