/**
 * `rapid --config` and `rapid check` as child processes: serving from a config file, one-line
 * errors for bad flags, located errors for bad files, check's exit status, and SIGHUP reloads
 * (a good file applied, a bad one refused and logged) while requests run continuously on
 * keep-alive connections: every request is counted and none may fail or be disconnected.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { Client } from 'undici';
import { projectRoot } from '../helpers/paths.js';
import { request } from '../helpers/static-site.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rapid-cli-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
for (const [site, text] of [
  ['one', 'first'],
  ['two', 'second'],
]) {
  mkdirSync(join(dir, site!));
  writeFileSync(join(dir, site!, 'page.txt'), text!);
}

function config(name: string, root: string): string {
  const p = join(dir, name);
  writeFileSync(
    p,
    `listeners:\n  - { host: 127.0.0.1, port: 0 }\nsites:\n  - name: localhost\n    aliases: [127.0.0.1]\n    root: ./${root}\n`,
  );
  return p;
}

interface Child {
  child: ChildProcess;
  port: number;
  out: () => string;
  err: () => string;
  /** Resolves when stdout+stderr (from `from` on) match. */
  waitFor(re: RegExp, from?: number): Promise<void>;
  exit: Promise<number | null>;
}

function start(args: string[]): Promise<Child> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const waiters = new Set<() => void>();
    const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const onData = () => {
      for (const w of [...waiters]) w();
    };
    const self: Omit<Child, 'port'> = {
      child,
      out: () => out,
      err: () => err,
      exit,
      waitFor(re, from = 0) {
        return new Promise((res, rej) => {
          const check = () => {
            if (re.test((out + err).slice(from))) {
              waiters.delete(check);
              clearTimeout(timer);
              res();
            }
          };
          const timer = setTimeout(() => {
            waiters.delete(check);
            rej(new Error(`timed out waiting for ${re}; output:\n${out}\n${err}`));
          }, 30_000);
          waiters.add(check);
          check();
        });
      },
    };
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      onData();
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m !== null) resolve({ ...self, port: Number(m[1]) });
    });
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      onData();
    });
    void exit.then((code) => reject(new Error(`rapid exited (${code}) before listening: ${err}`)));
  });
}

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('rapid --config', () => {
  it('serves a config file and lists addresses and sites', async () => {
    const p = config('serve.yaml', 'one');
    const c = await start(['--config', p]);
    try {
      assert.match(c.out(), new RegExp(`serving ${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      assert.match(c.out(), /site localhost, 127\.0\.0\.1 -> .*\/one/);
      assert.equal((await request(c.port, '/page.txt')).body.toString(), 'first');
    } finally {
      c.child.kill('SIGTERM');
    }
    assert.equal(await c.exit, 0);
  });

  it('serves the example config', async () => {
    // The example listens on 8080; check it builds, then serve a copy on a free port.
    const r = run(['check', join(projectRoot, 'examples', 'rapid.xml')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /rapid\.xml: OK\n$/);
  });

  it('bad flags exit 2 with one line', () => {
    const p = config('flags.yaml', 'one');
    for (const args of [
      ['--config', p, 'root'],
      ['--config', p, '--port', '1'],
      ['--config'],
      ['check'],
      ['check', 'a', 'b'],
      ['check', p, '--port', '1'],
    ]) {
      const r = run(args);
      assert.equal(r.status, 2, args.join(' '));
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^rapid: /);
    }
  });

  it('a bad config exits 1 with located lines and no stack trace', () => {
    const p = join(dir, 'bad.yaml');
    writeFileSync(p, 'sites:\n  - name: a\n    rot: ./one\n    listing: maybe\n');
    const r = run(['--config', p]);
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      `${p}:3:5: sites[0].rot: unknown setting "rot"; did you mean "root"?\n` +
        `${p}:4:14: sites[0].listing: expected true or false, got "maybe"\n`,
    );
    const missing = run(['--config', join(dir, 'nope.xml')]);
    assert.equal(missing.status, 1);
    assert.equal(missing.stderr, `${join(dir, 'nope.xml')}: file not found\n`);
  });

  it('an address in use exits 1 with one located line', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const p = join(dir, 'inuse.yaml');
      writeFileSync(
        p,
        `listeners:\n  - { host: 127.0.0.1, port: ${port} }\nsites: [{ name: a, root: ./one }]\n`,
      );
      const r = run(['--config', p]);
      assert.equal(r.status, 1);
      assert.equal(
        r.stderr,
        `${p}:2:5: listeners[0]: cannot listen on 127.0.0.1:${port}: address already in use\n`,
      );
    } finally {
      blocker.close();
    }
  });

  it('rapid check prints OK or the problems', () => {
    const good = run(['check', config('check.yaml', 'one')]);
    assert.equal(good.status, 0);
    assert.equal(good.stdout, `${join(dir, 'check.yaml')}: OK\n`);
    const p = join(dir, 'check-bad.xml');
    writeFileSync(p, '<Rapid>\n  <Site name="a" root="./missing"/>\n</Rapid>\n');
    const bad = run(['check', p]);
    assert.equal(bad.status, 1);
    assert.equal(bad.stdout, '');
    assert.match(
      bad.stderr,
      new RegExp(`^${p}:2:18: sites\\[0\\]\\.root: directory not found: .*missing\\n$`),
    );
    const q = join(dir, 'check-feature.yaml');
    writeFileSync(
      q,
      'sites:\n  - name: a\n    handlers:\n      - { type: proxy, upstream: http://127.0.0.1:1 }\n',
    );
    // Every feature is wired in this build (NOT_AVAILABLE is covered in test/unit/config).
    const na = run(['check', q]);
    assert.equal(na.status, 0, na.stderr);
    assert.equal(na.stdout, `${q}: OK\n`);
  });

  it('SIGHUP reloads a good file and refuses a bad one while requests run; none fail', async () => {
    const p = config('reload.yaml', 'one');
    const c = await start(['-c', p]);
    const clients = [0, 1].map(() => new Client(`http://127.0.0.1:${c.port}`, { pipelining: 1 }));
    let ok = 0;
    let failed = 0;
    let disconnects = 0;
    const bodies = new Set<string>();
    let last = '';
    let stop = false;
    for (const client of clients) {
      client.on('disconnect', () => {
        if (!stop) disconnects++;
      });
    }
    const loops = clients.map(async (client) => {
      while (!stop) {
        try {
          const r = await client.request({
            path: '/page.txt',
            method: 'GET',
            headers: { host: 'localhost' },
          });
          const text = await r.body.text();
          if (r.statusCode === 200) {
            ok++;
            last = text;
            bodies.add(text);
          } else failed++;
        } catch {
          failed++;
        }
      }
    });
    const until = async (pred: () => boolean) => {
      while (!pred()) await new Promise((r) => setTimeout(r, 10));
    };
    try {
      await until(() => ok >= 50);
      // A good file: new requests get the new root, on the same connections.
      config('reload.yaml', 'two');
      let mark = c.out().length + c.err().length;
      c.child.kill('SIGHUP');
      await c.waitFor(/rapid: reloaded /, mark);
      const before = ok;
      await until(() => last === 'second' && ok >= before + 50);
      // A bad file: refused with the error logged, the old config keeps serving.
      writeFileSync(p, 'sites:\n  - name: a\n    root: [\n');
      mark = c.out().length + c.err().length;
      c.child.kill('SIGHUP');
      await c.waitFor(
        /reload refused, the previous configuration keeps serving:\n.*reload\.yaml:4:1: invalid YAML/,
        mark,
      );
      const after = ok;
      await until(() => ok >= after + 50);
      assert.equal(last, 'second');
    } finally {
      stop = true;
      await Promise.all(loops);
      await Promise.all(clients.map((x) => x.close()));
      c.child.kill('SIGTERM');
    }
    assert.equal(await c.exit, 0);
    assert.equal(failed, 0, `${failed} of ${ok + failed} requests failed`);
    assert.equal(disconnects, 0, 'no connection was dropped');
    assert.ok(ok >= 150, `${ok} requests`);
    assert.deepEqual([...bodies].sort(), ['first', 'second']);
  });
});
