/**
 * `rapid --workers N` and `rapid reload` as child processes: the workers serve the root, reload
 * replaces them (new pids behind the same port), SIGTERM ends everything with status 0, and a
 * port in use is one line on stderr.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { request } from '../helpers/static-site.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

describe('rapid --workers', () => {
  it(
    'serves from N workers; rapid reload restarts them; SIGTERM exits 0',
    { timeout: 90_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rapid-cli-w-'));
      const pidFile = join(dir, 'rapid.pid');
      const child = spawn(
        process.execPath,
        [MAIN, '--workers', '2', '--port', '0', '--pid-file', pidFile],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        },
      );
      let out = '';
      let err = '';
      child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
      const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      try {
        const port = await new Promise<number>((resolve, reject) => {
          child.stdout!.on('data', (c: Buffer) => {
            out += c.toString();
            const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\/[\s\S]*2 workers/.exec(out);
            if (m !== null) resolve(Number(m[1]));
          });
          void exit.then((code) => reject(new Error(`exited ${code}: ${err}`)));
        });
        assert.equal((await request(port, '/')).status, 200);
        const r = spawnSync(process.execPath, [MAIN, 'reload', '--pid-file', pidFile], {
          encoding: 'utf8',
        });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /rolling restart of \d+ requested/);
        // The site keeps answering throughout.
        for (let i = 0; i < 20; i++) assert.equal((await request(port, '/')).status, 200);
        child.kill('SIGTERM');
        assert.equal(await exit, 0);
        assert.equal(err, '');
        const again = spawnSync(process.execPath, [MAIN, 'reload', '--pid-file', pidFile], {
          encoding: 'utf8',
        });
        assert.equal(again.status, 1);
        assert.match(again.stderr, /^rapid: No running server found .*\n$/);
      } finally {
        try {
          process.kill(-(child.pid as number), 'SIGKILL');
        } catch {
          // gone
        }
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('a port in use is one line and status 1', { timeout: 60_000 }, async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = spawnSync(process.execPath, [MAIN, '-w', '2', '--port', String(port)], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(r.status, 1);
      assert.equal(r.stderr, `rapid: cannot listen on 127.0.0.1:${port}: address already in use\n`);
    } finally {
      blocker.close();
    }
  });

  it('rejects a bad --workers value with one line', () => {
    const r = spawnSync(process.execPath, [MAIN, '--workers', 'many'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, 'rapid: invalid --workers "many" (auto or 1-1024)\n');
  });
});
