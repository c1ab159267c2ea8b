/**
 * HTTPS from a config file, through the CLI: `rapid --config rapid.xml` with a cleartext and a TLS
 * listener, two sites with two certificates picked by SNI (curl --resolve, verifying each against
 * its own certificate), HTTP/2 by ALPN, redirectToHttps and hsts per site, and SIGHUP re-reading a
 * certificate that changed on disk; h2c on the cleartext listener.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { get, RAPID_MAIN, startRapid, type RapidChild } from '../helpers/cli-child.js';
import { cleanupCerts, makeCert, run, tlsConnect } from '../helpers/tls.js';

const dir = mkdtempSync(join(tmpdir(), 'rapid-config-tls-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
  cleanupCerts();
});

async function fingerprint(port: number, servername: string): Promise<string> {
  const s = await tlsConnect(port, { servername });
  const f = s.getPeerCertificate().fingerprint256;
  s.destroy();
  return f;
}

describe('config: TLS listeners and sites', () => {
  it(
    'two sites, two certificates, h2, redirect, hsts; SIGHUP reloads a certificate',
    { timeout: 90_000 },
    async () => {
      const fallback = makeCert('localhost');
      const a = makeCert('a.test');
      const b = makeCert('b.test');
      const b2 = makeCert('b.test');
      for (const s of ['a', 'b']) {
        mkdirSync(join(dir, s));
        writeFileSync(join(dir, s, 'index.html'), `site ${s}\n`);
      }
      // b's certificate lives in the config's directory, so it can be replaced.
      copyFileSync(b.cert, join(dir, 'b.pem'));
      copyFileSync(b.key, join(dir, 'b.key'));
      const file = join(dir, 'rapid.xml');
      writeFileSync(
        file,
        `<Rapid>
  <Listen host="127.0.0.1" port="0" h2c="true" http2Engine="node"/>
  <Listen host="127.0.0.1" port="0">
    <Tls cert="${fallback.cert}" key="${fallback.key}"/>
  </Listen>
  <Site name="a.test" root="./a" redirectToHttps="true">
    <Tls cert="${a.cert}" key="${a.key}"/>
    <Hsts maxAge="31536000" includeSubDomains="true"/>
  </Site>
  <Site name="b.test" root="./b">
    <Tls cert="b.pem" key="b.key"/>
  </Site>
</Rapid>
`,
      );
      let c: RapidChild | undefined;
      try {
        c = await startRapid(['--config', file], /listening on https:[^\n]*\n/);
        assert.match(c.out(), /listening on http:\/\/127\.0\.0\.1:\d+\//);
        const [plain, secure] = c.ports as [number, number];
        const curl = (host: string, ca: string, ...extra: string[]) =>
          run('curl', [
            '-sS',
            '-i',
            '--resolve',
            `${host}:${secure}:127.0.0.1`,
            '--cacert',
            ca,
            ...extra,
            `https://${host}:${secure}/`,
          ]);
        const ra = await curl('a.test', a.cert, '--http2');
        assert.equal(ra.code, 0, ra.stderr);
        assert.match(ra.stdout, /^HTTP\/2 200/);
        assert.match(ra.stdout, /strict-transport-security: max-age=31536000; includeSubDomains/i);
        assert.match(ra.stdout, /site a\n$/);
        const rb = await curl('b.test', b.cert, '--http1.1');
        assert.equal(rb.code, 0, rb.stderr);
        assert.match(rb.stdout, /^HTTP\/1\.1 200/);
        assert.doesNotMatch(rb.stdout, /strict-transport-security/i);
        assert.match(rb.stdout, /site b\n$/);
        // Cleartext: a.test is redirected to the TLS listener, b.test is served.
        const redirect = await get(plain, '/x?y=1', 'a.test');
        assert.equal(redirect.status, 301);
        assert.equal(redirect.headers.location, `https://a.test:${secure}/x?y=1`);
        assert.equal(redirect.headers['strict-transport-security'], undefined);
        assert.equal((await get(plain, '/', 'b.test')).body, 'site b\n');
        // h2c on the cleartext listener (prior knowledge), on the node:http2 engine.
        const h2c = await run('curl', [
          '-sS',
          '-i',
          '--http2-prior-knowledge',
          '-H',
          'Host: b.test',
          `http://127.0.0.1:${plain}/`,
        ]);
        assert.equal(h2c.code, 0, h2c.stderr);
        assert.match(h2c.stdout, /^HTTP\/2 200/);
        assert.match(h2c.stdout, /site b\n$/);

        // A renewed certificate for b.test: SIGHUP, and new handshakes get it.
        const before = await fingerprint(secure, 'b.test');
        copyFileSync(b2.cert, join(dir, 'b.pem'));
        copyFileSync(b2.key, join(dir, 'b.key'));
        const from = c.out().length;
        c.child.kill('SIGHUP');
        await c.waitFor(/rapid: reloaded /, from);
        const afterReload = await fingerprint(secure, 'b.test');
        assert.notEqual(afterReload, before);
        const rb2 = await curl('b.test', b2.cert);
        assert.equal(rb2.code, 0, rb2.stderr);
        assert.equal(await c.stop(), 0);

        // rapid check loads every certificate: a missing one is a located line.
        const bad = join(dir, 'bad.xml');
        writeFileSync(
          bad,
          `<Rapid>\n  <Listen port="0"><Tls cert="${a.cert}" key="${a.key}"/></Listen>\n` +
            `  <Site name="b.test" root="./b"><Tls cert="gone.pem" key="gone.key"/></Site>\n</Rapid>\n`,
        );
        const check = await run(process.execPath, [RAPID_MAIN, 'check', bad]);
        assert.equal(check.code, 1);
        assert.match(check.stderr, /^.*bad\.xml:2:\d+: listeners\[0\]\.tls: .*gone\.pem/);
      } finally {
        c?.kill();
      }
    },
  );
});
