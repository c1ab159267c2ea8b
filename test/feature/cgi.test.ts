/**
 * The CGI handler with real scripts: PHP through Debian's php-cgi, and shell and Perl scripts run
 * directly by their #! line. Variables, bodies both ways, headers, a timeout that kills the
 * script's whole process group, a client that leaves, broken scripts, and path safety.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createCgiHandler, type CgiHandler } from '../../src/features/cgi/index.js';
import { makeRoot, phpCgiBinary, startRapid } from '../helpers/php.js';
import { eventually } from '../helpers/raw.js';
import { request } from '../helpers/static-site.js';

const SCRIPTS: Record<string, string> = {
  'info.php': `<?php
header('Content-Type: application/json');
setcookie('a', '1');
setcookie('b', '2');
echo json_encode(['uri' => $_SERVER['REQUEST_URI'], 'script' => $_SERVER['SCRIPT_NAME'],
  'info' => $_SERVER['PATH_INFO'] ?? null, 'get' => $_GET, 'post' => $_POST,
  'proxy' => getenv('HTTP_PROXY'), 'secret' => getenv('RAPID_TEST_SECRET')]);
`,
  'body.php': `<?php $b = file_get_contents('php://input'); echo strlen($b), ' ', md5($b);`,
  'teapot.php': `<?php http_response_code(418); echo 'tea';`,
  'echo.sh': `#!/bin/sh
printf 'Content-Type: application/octet-stream\\r\\nX-Path-Info: %s\\r\\nX-Query: %s\\r\\n\\r\\n' "$PATH_INFO" "$QUERY_STRING"
exec cat
`,
  'env.pl': `#!/usr/bin/perl
print "Status: 202 Accepted\\n";
print "Content-Type: text/plain\\n\\n";
print "$ENV{REQUEST_METHOD} $ENV{SCRIPT_NAME} $ENV{SERVER_PROTOCOL} $ENV{GATEWAY_INTERFACE}\\n";
`,
  'large.sh': `#!/bin/sh
printf 'Content-Type: text/plain\\n\\n'
exec head -c 5000000 /dev/zero
`,
  'sleep.sh': `#!/bin/sh
echo $$ > "$PID_FILE"
sleep 30
echo after
`,
  'noheaders.sh': `#!/bin/sh
exit 3
`,
  'garbage.sh': `#!/bin/sh
echo 'this is not a header'
echo
echo body
`,
  'stderr.sh': `#!/bin/sh
echo 'warning from the script' >&2
printf 'Content-Type: text/plain\\n\\nok'
`,
  'plain.txt': 'not executable',
};

let dirs: { root: string; base: string };
let handler: CgiHandler;
let s: Awaited<ReturnType<typeof startRapid>>;
const logs: string[] = [];

before(async () => {
  dirs = makeRoot(SCRIPTS);
  for (const name of Object.keys(SCRIPTS)) {
    if (/\.(sh|pl)$/.test(name)) chmodSync(join(dirs.root, name), 0o755);
  }
  writeFileSync(join(dirs.base, 'secret.sh'), '#!/bin/sh\necho SECRET\n');
  chmodSync(join(dirs.base, 'secret.sh'), 0o755);
  process.env.RAPID_TEST_SECRET = 'server environment must not leak';
  handler = createCgiHandler({
    root: dirs.root,
    interpreters: phpCgiBinary === null ? {} : { '.php': phpCgiBinary },
    env: { PID_FILE: join(dirs.base, 'pid') },
    timeout: 20_000,
    log: (level, message) => logs.push(`${level}: ${message}`),
  });
  s = await startRapid((req, res) => handler(req, res));
});
after(async () => {
  delete process.env.RAPID_TEST_SECRET;
  await s?.close();
  handler?.close();
  if (dirs !== undefined) rmSync(dirs.base, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe(
  'CGI with php-cgi',
  { skip: phpCgiBinary === null ? 'php-cgi is not installed' : false },
  () => {
    it('runs PHP with the CGI variables, cookies and no leaked environment', async () => {
      const r = await fetch(`${s.origin}/info.php/more/info?x=1`, {
        headers: { Proxy: 'http://evil' },
      });
      assert.equal(r.status, 200);
      assert.deepEqual(r.headers.getSetCookie(), ['a=1', 'b=2']);
      const v = (await r.json()) as Record<string, unknown>;
      assert.equal(v.uri, '/info.php/more/info?x=1');
      assert.equal(v.script, '/info.php');
      assert.equal(v.info, '/more/info');
      assert.deepEqual(v.get, { x: '1' });
      assert.equal(v.proxy, false);
      assert.equal(v.secret, false);
    });

    it('POSTs a form and a 1 MB body', async () => {
      const f = await fetch(`${s.origin}/info.php`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'a=b&c=d',
      });
      assert.deepEqual(((await f.json()) as { post: unknown }).post, { a: 'b', c: 'd' });
      const body = Buffer.alloc(1024 * 1024, 0x5a);
      const r = await fetch(`${s.origin}/body.php`, { method: 'POST', body });
      assert.equal(
        await r.text(),
        `${body.length} ${createHash('md5').update(body).digest('hex')}`,
      );
      const t = await fetch(`${s.origin}/teapot.php`);
      assert.equal(t.status, 418);
    });
  },
);

describe('CGI scripts run directly', () => {
  it('streams the body through a shell script both ways', async () => {
    const body = Buffer.alloc(1024 * 1024 - 5); // under the engine's default maxBodyBytes
    for (let i = 0; i < body.length; i++) body[i] = i & 0xff;
    const r = await fetch(`${s.origin}/echo.sh/a/b?q=2`, { method: 'POST', body });
    assert.equal(r.status, 200, logs.join('\n'));
    assert.equal(r.headers.get('x-path-info'), '/a/b');
    assert.equal(r.headers.get('x-query'), 'q=2');
    const back = Buffer.from(await r.arrayBuffer());
    assert.ok(back.equals(body), `echoed ${back.length} bytes of ${body.length}`);
  });

  it('takes Status from a Perl script', async () => {
    const r = await fetch(`${s.origin}/env.pl`);
    assert.equal(r.status, 202);
    assert.equal(await r.text(), 'GET /env.pl HTTP/1.1 CGI/1.1\n');
  });

  it('streams large output', async () => {
    const r = await fetch(`${s.origin}/large.sh`);
    assert.equal((await r.arrayBuffer()).byteLength, 5_000_000);
  });

  it('logs stderr lines', async () => {
    const r = await fetch(`${s.origin}/stderr.sh`);
    assert.equal(await r.text(), 'ok');
    await eventually(() => logs.some((l) => l.includes('warning from the script')), 'stderr log');
  });

  it('answers 502 for a script without headers, with bad headers, or not executable', async () => {
    for (const path of ['/noheaders.sh', '/garbage.sh', '/plain.txt']) {
      const r = await fetch(`${s.origin}${path}`);
      assert.equal(r.status, 502, path);
      await r.arrayBuffer();
    }
  });

  it('kills a script that runs too long (504) with its children', async () => {
    const quick = createCgiHandler({
      root: dirs.root,
      env: { PID_FILE: join(dirs.base, 'pid-timeout') },
      timeout: 500,
      log: () => {},
    });
    const t = await startRapid((req, res) => quick(req, res));
    try {
      const r = await fetch(`${t.origin}/sleep.sh`);
      assert.equal(r.status, 504);
      const pid = Number(readFileSync(join(dirs.base, 'pid-timeout'), 'utf8'));
      await eventually(() => !alive(pid), 'the script to be killed');
      await eventually(() => quick.running === 0, 'no script running');
    } finally {
      await t.close();
      quick.close();
    }
  });

  it('kills the script when the client goes away', async () => {
    const pidFile = join(dirs.base, 'pid');
    rmSync(pidFile, { force: true });
    const sock = net.connect(s.port, '127.0.0.1');
    sock.on('error', () => {});
    sock.write('GET /sleep.sh HTTP/1.1\r\nHost: x\r\n\r\n');
    let pid = 0;
    await eventually(() => {
      try {
        pid = Number(readFileSync(pidFile, 'utf8'));
        return pid > 0;
      } catch {
        return false;
      }
    }, 'the script to start');
    sock.destroy();
    await eventually(() => !alive(pid), 'the script to be killed');
    await eventually(() => handler.running === 0, 'no script running');
  });

  it('leaks no file descriptors or processes over many runs', async () => {
    const fds = (): number => readdirSync('/proc/self/fd').length;
    // Warm up (the server's keep-alive connection from fetch, lazily opened files).
    await (await fetch(`${s.origin}/env.pl`)).text();
    const before = fds();
    for (let i = 0; i < 20; i++) {
      const path = i % 3 === 0 ? '/noheaders.sh' : i % 3 === 1 ? '/env.pl' : '/garbage.sh';
      await (await fetch(`${s.origin}${path}`)).arrayBuffer();
    }
    await eventually(() => handler.running === 0, 'no script running');
    // fetch's own pool may hold a connection or two more than before; a leak would be 3 per run.
    await eventually(() => fds() <= before + 4, `fds back near ${before} (now ${fds()})`);
  });

  it('answers 404 for missing scripts and traversal attempts', async () => {
    for (const path of [
      '/nope.sh',
      '/../secret.sh',
      '/%2e%2e/secret.sh',
      '/echo.sh%2f..%2f..%2fsecret.sh',
      '/..%5csecret.sh',
    ]) {
      const r = await request(s.port, path);
      assert.equal(r.status, 404, path);
      assert.ok(!r.body.toString().includes('SECRET'), path);
    }
    assert.equal(realpathSync(dirs.root).length > 0, true);
  });
});
