/**
 * `rapid cert` and HTTPS on the command line, as child processes: the certificate it writes is
 * trusted by curl (--cacert, hostname and IP checked) over HTTP/2 and HTTP/1.1, SIGHUP reloads
 * the certificate files, and mistakes are one line.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { projectRoot } from '../helpers/paths.js';
import { cleanupCerts, run, servedCN, tempDir } from '../helpers/tls.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const SITE = join(projectRoot, 'examples', 'site');
after(cleanupCerts);

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('rapid cert', () => {
  it('writes a certificate curl trusts, and the CLI serves HTTPS and HTTP/2 with it', async () => {
    const dir = tempDir();
    const made = cli(['cert', 'localhost', '127.0.0.1', '--out', dir, '--days', '30']);
    assert.equal(made.status, 0, made.stderr);
    assert.match(
      made.stdout,
      /wrote a self-signed certificate for localhost, 127\.0\.0\.1 \(30 days\)/,
    );
    assert.match(made.stdout, /--cert .*cert\.pem --key .*key\.pem/);
    assert.equal(statSync(join(dir, 'key.pem')).mode & 0o777, 0o600);

    const child = spawn(
      process.execPath,
      [MAIN, SITE, '--port', '0', '--cert', join(dir, 'cert.pem'), '--key', join(dir, 'key.pem')],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    let out = '';
    const lines = (re: RegExp): Promise<RegExpExecArray> =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const m = re.exec(out);
          if (m !== null) {
            child.stdout.off('data', onData);
            resolve(m);
          }
        };
        const onData = (c: Buffer): void => {
          out += c.toString();
          check();
        };
        child.stdout.on('data', onData);
        void exit.then((code) => reject(new Error(`rapid exited (${code}): ${out}`)));
        check();
      });
    try {
      const port = Number((await lines(/listening on https:\/\/127\.0\.0\.1:(\d+)\//))[1]);
      const cacert = join(dir, 'cert.pem');
      for (const [flag, version] of [
        ['--http2', '2'],
        ['--http1.1', '1.1'],
      ]) {
        for (const host of ['localhost', '127.0.0.1']) {
          const r = await run('curl', [
            '-s',
            flag as string,
            '--cacert',
            cacert,
            '-o',
            '/dev/null',
            '-w',
            '%{http_code} %{http_version}',
            `https://${host}:${port}/`,
          ]);
          assert.equal(r.code, 0, r.stderr);
          assert.equal(r.stdout, `200 ${version}`);
        }
      }
      // SIGHUP re-reads the files.
      const again = cli(['cert', 'renewed.test', '--out', dir]);
      assert.equal(again.status, 0, again.stderr);
      child.kill('SIGHUP');
      await lines(/certificates reloaded/);
      assert.equal(await servedCN(port), 'renewed.test');
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exit, 0);
  });

  it('explains mistakes in one line', () => {
    const none = cli(['cert']);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /^rapid cert: give at least one host name/);
    const bad = cli(['cert', 'no spaces']);
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
    const days = cli(['cert', 'x.test', '--days', 'soon']);
    assert.equal(days.status, 2);
    const half = cli(['--cert', 'only.pem']);
    assert.equal(half.status, 2);
    assert.match(half.stderr, /--cert and --key go together/);
    const missing = cli([
      '--port',
      '0',
      '--cert',
      '/nonexistent/c.pem',
      '--key',
      '/nonexistent/k.pem',
    ]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^rapid: .*\/nonexistent\/c\.pem: ENOENT\n$/);
  });
});
