/**
 * The `rapid` command as a child process: serving the bundled example site and a given root on
 * a port it reports, one-line errors for user mistakes, and a graceful exit on SIGTERM/SIGINT.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { projectRoot } from '../helpers/paths.js';
import { makeSite, removeSite, request } from '../helpers/static-site.js';

// The CLI compiled next to this test (same outDir).
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const SITE = join(projectRoot, 'examples', 'site');

interface Running {
  child: ChildProcess;
  port: number;
  stdout: () => string;
  exit: Promise<number | null>;
}

function start(args: string[]): Promise<Running> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m !== null) resolve({ child, port: Number(m[1]), stdout: () => out, exit });
    });
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    void exit.then((code) => reject(new Error(`rapid exited (${code}) before listening: ${err}`)));
  });
}

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertOneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line, got: ${stderr}`);
  assert.match(lines[0]!, pattern);
  assert.ok(!stderr.includes('    at '), 'no stack trace');
}

describe('rapid CLI', () => {
  it('serves the example site by default and closes on SIGTERM', async () => {
    const r = await start(['--port', '0']);
    try {
      assert.match(
        r.stdout(),
        new RegExp(`serving ${SITE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
      );
      const index = await request(r.port, '/');
      assert.equal(index.status, 200);
      assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(index.body.toString(), readFileSync(join(SITE, 'index.html'), 'utf8'));
      const docs = await request(r.port, '/docs');
      assert.equal(docs.status, 301);
      assert.equal(docs.headers.location, '/docs/');
      assert.equal((await request(r.port, '/docs/')).status, 200);
      assert.equal(
        (await request(r.port, '/assets/logo.svg')).headers['content-type'],
        'image/svg+xml',
      );
      const missing = await request(r.port, '/no-such-page');
      assert.equal(missing.status, 404);
      assert.equal(missing.body.toString(), readFileSync(join(SITE, '404.html'), 'utf8'));
      // Through fetch too, as a browser-like client.
      const f = await fetch(`http://127.0.0.1:${r.port}/docs/`);
      assert.match(await f.text(), /Getting started/);
    } finally {
      r.child.kill('SIGTERM');
    }
    assert.equal(await r.exit, 0);
  });

  it('serves a given root and closes on SIGINT', async () => {
    const root = makeSite({ 'hello.txt': 'hello from a custom root' });
    const r = await start([root, '--port', '0', '--host', '127.0.0.1']);
    try {
      assert.equal(
        (await request(r.port, '/hello.txt')).body.toString(),
        'hello from a custom root',
      );
    } finally {
      r.child.kill('SIGINT');
      assert.equal(await r.exit, 0);
      removeSite(root);
    }
  });

  it('bad flags exit 2 with one line', () => {
    for (const args of [
      ['--bogus'],
      ['-x'],
      ['--port'],
      ['--port', 'abc'],
      ['--port', '70000'],
      ['a', 'b'],
    ]) {
      const r = run(args);
      assert.equal(r.status, 2, args.join(' '));
      assertOneLine(r.stderr, /^rapid: /);
    }
  });

  it('a missing root or a file as root exits 1 with one line', () => {
    const r = run(['/no/such/dir', '--port', '0']);
    assert.equal(r.status, 1);
    assertOneLine(r.stderr, /^rapid: root directory not found: \/no\/such\/dir$/);
    const f = run([join(SITE, 'index.html'), '--port', '0']);
    assert.equal(f.status, 1);
    assertOneLine(f.stderr, /^rapid: root is not a directory/);
  });

  it('a port in use exits 1 with one line', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = run(['--port', String(port)]);
      assert.equal(r.status, 1);
      assertOneLine(
        r.stderr,
        new RegExp(`^rapid: cannot listen on 127\\.0\\.0\\.1:${port}: address already in use$`),
      );
    } finally {
      blocker.close();
    }
  });

  it('--version and --help', () => {
    const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    const v = run(['--version']);
    assert.equal(v.status, 0);
    assert.equal(v.stdout.trim(), `rapid ${pkg.version}`);
    const h = run(['--help']);
    assert.equal(h.status, 0);
    assert.match(h.stdout, /^Usage: rapid \[root\]/);
    assert.match(h.stdout, /--port/);
  });

  it('starts with #!/usr/bin/env node', () => {
    assert.ok(readFileSync(MAIN, 'utf8').startsWith('#!/usr/bin/env node\n'));
  });
});
