/**
 * TLS listeners over real sockets: ALPN selection, protocol versions and ciphers, SNI with two
 * sites, a wildcard and the default, session resumption, certificate reload without dropping
 * connections, curl, HTTPS redirects and HSTS, option errors, garbage on the port.
 */
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type tls from 'node:tls';
import type { Handler } from '../../src/core/types.js';
import { serve, type RapidServer, type ServeOptions } from '../../src/server/server.js';
import { cleanupCerts, makeCert, run, servedCN, tempDir, tlsConnect } from '../helpers/tls.js';

after(cleanupCerts);

const hello: Handler = (req, res) => {
  res.setHeader('Content-Type', 'text/plain');
  res.send(`${req.httpVersion} ${req.secure ? 'https' : 'http'} ${req.host} ${req.url}`);
};

const servers: RapidServer[] = [];
after(() => Promise.all(servers.map((s) => s.close(1000))));

async function start(opts: Partial<ServeOptions>): Promise<RapidServer> {
  const s = await serve({ port: 0, host: '127.0.0.1', handler: hello, onError: () => {}, ...opts });
  servers.push(s);
  return s;
}

/** One HTTP/1.1 request on an open TLS socket; resolves with the response text. */
function h1On(socket: tls.TLSSocket, path: string, host = 'x.test'): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    const onData = (c: Buffer): void => {
      data += c.toString('latin1');
      const end = data.indexOf('\r\n\r\n');
      if (end === -1) return;
      const len = Number(/content-length: (\d+)/i.exec(data)?.[1] ?? 0);
      if (data.length >= end + 4 + len) {
        socket.off('data', onData);
        resolve(data);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  });
}

describe('TLS listener', () => {
  const main = makeCert('main.test', '127.0.0.1');

  it('offers h2 and http/1.1 by ALPN and serves HTTP/1.1 on TLS with secure requests', async () => {
    const s = await start({ tls: { cert: main.cert, key: main.key } });
    assert.equal(s.secure, true);
    const h2 = await tlsConnect(s.port, { ALPNProtocols: ['h2', 'http/1.1'] });
    assert.equal(h2.alpnProtocol, 'h2');
    h2.destroy();
    const h1 = await tlsConnect(s.port, { ALPNProtocols: ['http/1.1'] });
    assert.equal(h1.alpnProtocol, 'http/1.1');
    assert.match(
      await h1On(h1, '/a?b'),
      /^HTTP\/1\.1 200 OK[\s\S]*\r\n\r\n1\.1 https x\.test \/a\?b$/,
    );
    h1.destroy();
    const none = await tlsConnect(s.port);
    assert.equal(none.alpnProtocol, false);
    assert.match(await h1On(none, '/n'), /1\.1 https x\.test \/n$/);
    none.destroy();
  });

  it('offers only http/1.1 when http2 is false', async () => {
    const s = await start({ tls: { cert: main.cert, key: main.key }, http2: false });
    const c = await tlsConnect(s.port, { ALPNProtocols: ['h2', 'http/1.1'] });
    assert.equal(c.alpnProtocol, 'http/1.1');
    c.destroy();
  });

  it('accepts TLS 1.2 and 1.3 only, with AEAD ciphers by default', async () => {
    const s = await start({ tls: { cert: main.certPem, key: main.keyPem } });
    const t13 = await tlsConnect(s.port);
    assert.equal(t13.getProtocol(), 'TLSv1.3');
    t13.destroy();
    const t12 = await tlsConnect(s.port, { maxVersion: 'TLSv1.2' });
    assert.equal(t12.getProtocol(), 'TLSv1.2');
    assert.match(t12.getCipher().name, /GCM|CHACHA20/);
    t12.destroy();
    await assert.rejects(tlsConnect(s.port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }));
    await assert.rejects(
      tlsConnect(s.port, { maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA:AES256-SHA' }),
    );
    // The server is still fine.
    const again = await tlsConnect(s.port);
    again.destroy();
  });

  it('minVersion TLSv1.3 refuses TLS 1.2 clients', async () => {
    const s = await start({ tls: { cert: main.cert, key: main.key, minVersion: 'TLSv1.3' } });
    await assert.rejects(tlsConnect(s.port, { maxVersion: 'TLSv1.2' }));
    const ok = await tlsConnect(s.port);
    assert.equal(ok.getProtocol(), 'TLSv1.3');
    ok.destroy();
  });

  it('chooses the certificate by SNI: exact names, a wildcard, else the default', async () => {
    const a = makeCert('a.test');
    const b = makeCert('b.test');
    const w = makeCert('*.w.test');
    const s = await start({
      tls: {
        cert: main.cert,
        key: main.key,
        sni: {
          'a.test': { cert: a.cert, key: a.key },
          'B.Test': { cert: b.certPem, key: b.keyPem },
          '*.w.test': { cert: w.cert, key: w.key },
        },
      },
    });
    assert.equal(await servedCN(s.port, 'a.test'), 'a.test');
    assert.equal(await servedCN(s.port, 'b.test'), 'b.test');
    assert.equal(await servedCN(s.port, 'x.w.test'), '*.w.test');
    assert.equal(await servedCN(s.port, 'w.test'), 'main.test'); // one label, not the apex
    assert.equal(await servedCN(s.port, 'y.x.w.test'), 'main.test');
    assert.equal(await servedCN(s.port, 'other.test'), 'main.test');
    assert.equal(await servedCN(s.port), 'main.test'); // no SNI at all
  });

  it('uses the first SNI certificate as the default when there is no top-level one', async () => {
    const a = makeCert('a.test');
    const b = makeCert('b.test');
    const s = await start({
      tls: { sni: { 'a.test': { cert: a.cert, key: a.key }, 'b.test': b } },
    });
    assert.equal(await servedCN(s.port, 'b.test'), 'b.test');
    assert.equal(await servedCN(s.port, 'zzz.test'), 'a.test');
  });

  it('resumes sessions with tickets', async () => {
    const s = await start({ tls: { cert: main.cert, key: main.key } });
    const first = await tlsConnect(s.port, { ALPNProtocols: ['http/1.1'] });
    const session = new Promise<Buffer>((resolve) => first.once('session', resolve));
    await h1On(first, '/');
    const ticket = await session;
    first.destroy();
    const second = await tlsConnect(s.port, { session: ticket, ALPNProtocols: ['http/1.1'] });
    assert.equal(second.isSessionReused(), true);
    second.destroy();
  });

  it('reloads certificates from their files without dropping connections', async () => {
    const dir = tempDir();
    const one = makeCert('one.test');
    const two = makeCert('two.test');
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    copyFileSync(one.cert, cert);
    copyFileSync(one.key, key);
    const s = await start({ tls: { cert: 'cert.pem', key: 'key.pem', baseDir: dir } });
    const open = await tlsConnect(s.port, { ALPNProtocols: ['http/1.1'] });
    assert.match(await h1On(open, '/before'), /200 OK/);
    assert.equal(open.getPeerCertificate().subject.CN, 'one.test');

    copyFileSync(two.cert, cert);
    copyFileSync(two.key, key);
    assert.equal(await servedCN(s.port), 'one.test'); // nothing changes until asked
    s.reloadCertificates();
    assert.equal(await servedCN(s.port), 'two.test');
    // The connection made before the reload is still served.
    assert.match(await h1On(open, '/after'), /200 OK[\s\S]*\/after$/);

    // A broken file: the reload throws, and the current certificate stays.
    writeFileSync(key, 'not a key');
    assert.throws(() => s.reloadCertificates(), { code: 'RAPID_ERR_TLS_INVALID_CERT' });
    assert.equal(await servedCN(s.port), 'two.test');
    open.destroy();
  });

  it('serves curl over --http2 and --http1.1, with --resolve for SNI', async (t) => {
    const a = makeCert('a.test');
    const s = await start({
      tls: { cert: main.cert, key: main.key, sni: { 'a.test': { cert: a.cert, key: a.key } } },
    });
    const h2 = await run('curl', [
      '-sk',
      '--http2',
      '-w',
      '|%{http_version}',
      `https://127.0.0.1:${s.port}/x`,
    ]);
    if (h2.code === null) return t.skip('curl not available');
    assert.equal(h2.stdout, `2.0 https 127.0.0.1:${s.port} /x|2`);
    const h1 = await run('curl', [
      '-sk',
      '--http1.1',
      '-w',
      '|%{http_version}',
      `https://127.0.0.1:${s.port}/y`,
    ]);
    assert.equal(h1.stdout, `1.1 https 127.0.0.1:${s.port} /y|1.1`);
    const sni = await run('curl', [
      '-s',
      '--cacert',
      a.cert,
      '--resolve',
      `a.test:${s.port}:127.0.0.1`,
      `https://a.test:${s.port}/z`,
    ]);
    assert.equal(sni.code, 0, sni.stderr);
    assert.equal(sni.stdout, `2.0 https a.test:${s.port} /z`);
  });

  it('gives fetch handlers https URLs', async () => {
    const s = await start({
      handler: undefined,
      fetch: (r) => new Response(r.url),
      tls: { cert: main.cert, key: main.key },
    });
    const out = await run('curl', ['-sk', `https://127.0.0.1:${s.port}/f?q=1`]);
    assert.equal(out.stdout, `https://127.0.0.1:${s.port}/f?q=1`);
  });

  it('survives garbage and abandoned handshakes on the port', async () => {
    const s = await start({ tls: { cert: main.cert, key: main.key } });
    await new Promise<void>((resolve) => {
      const c = net.connect(s.port, '127.0.0.1', () => c.end('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      c.on('error', () => {});
      c.on('close', () => resolve());
      c.resume();
    });
    const half = net.connect(s.port, '127.0.0.1');
    half.on('error', () => {});
    await new Promise((r) => half.once('connect', r));
    half.write(Buffer.from([0x16, 0x03, 0x01, 0x00]));
    half.destroy();
    assert.equal(await servedCN(s.port), 'main.test');
  });

  it('rejects bad options with catalog errors', async () => {
    const other = makeCert('other.test');
    const base = { port: 0, host: '127.0.0.1', handler: hello };
    await assert.rejects(serve({ ...base, tls: { cert: '/nonexistent/c.pem', key: main.key } }), {
      code: 'RAPID_ERR_TLS_CERT_READ_FAILED',
      message: /\/nonexistent\/c\.pem: ENOENT/,
    });
    await assert.rejects(serve({ ...base, tls: { cert: main.cert, key: other.key } }), {
      code: 'RAPID_ERR_TLS_INVALID_CERT',
    });
    await assert.rejects(serve({ ...base, tls: {} }), { code: 'RAPID_ERR_TLS_INVALID_OPTION' });
    await assert.rejects(
      serve({
        ...base,
        tls: { cert: main.cert, key: main.key, minVersion: 'TLSv1.1' as 'TLSv1.2' },
      }),
      { code: 'RAPID_ERR_TLS_INVALID_OPTION' },
    );
    await assert.rejects(
      serve({ ...base, tls: { cert: main.cert, key: main.key, sni: { 'bad name': other } } }),
      { code: 'RAPID_ERR_TLS_INVALID_OPTION' },
    );
    await assert.rejects(serve({ ...base, hsts: { maxAge: -1 } }), {
      code: 'RAPID_ERR_TLS_INVALID_OPTION',
    });
  });

  it('decrypts a key with its passphrase, and names a wrong one', async () => {
    const dir = tempDir();
    const enc = join(dir, 'enc.key');
    const r = await run('openssl', [
      'pkey',
      '-in',
      main.key,
      '-aes256',
      '-passout',
      'pass:sesame',
      '-out',
      enc,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const s = await start({ tls: { cert: main.cert, key: enc, passphrase: 'sesame' } });
    assert.equal(await servedCN(s.port), 'main.test');
    await assert.rejects(
      serve({ port: 0, handler: hello, tls: { cert: main.cert, key: enc, passphrase: 'wrong' } }),
      { code: 'RAPID_ERR_TLS_INVALID_CERT' },
    );
  });
});

describe('HTTPS redirect and HSTS', () => {
  const main = makeCert('main.test', '127.0.0.1');

  it('redirects cleartext requests: 301 for GET/HEAD, 308 otherwise, host and target kept', async () => {
    const s = await start({ handler: undefined, redirectToHttps: { port: 8443 } });
    const get = await run('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code} %{redirect_url}',
      '-H',
      'Host: example.com:8080',
      `http://127.0.0.1:${s.port}/a/b?c=1`,
    ]);
    assert.equal(get.stdout, '301 https://example.com:8443/a/b?c=1');
    const post = await fetch(`http://127.0.0.1:${s.port}/form`, {
      method: 'POST',
      body: 'x',
      redirect: 'manual',
    });
    assert.equal(post.status, 308);
    assert.equal(post.headers.get('location'), 'https://127.0.0.1:8443/form');
    await post.arrayBuffer();
    const s443 = await start({ redirectToHttps: true });
    const r = await run('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code} %{redirect_url}',
      '-H',
      'Host: [::1]:80',
      `http://127.0.0.1:${s443.port}/v6`,
    ]);
    assert.equal(r.stdout, '301 https://[::1]/v6');
  });

  it('sends HSTS on HTTPS responses only', async () => {
    const hsts = { maxAge: 31536000, includeSubDomains: true, preload: true };
    const secure = await start({ tls: { cert: main.cert, key: main.key }, hsts });
    const r = await run('curl', [
      '-sk',
      '-D',
      '-',
      '-o',
      '/dev/null',
      `https://127.0.0.1:${secure.port}/`,
    ]);
    assert.match(
      r.stdout,
      /strict-transport-security: max-age=31536000; includeSubDomains; preload/i,
    );
    const plain = await start({ hsts });
    const p = await fetch(`http://127.0.0.1:${plain.port}/`);
    assert.equal(p.headers.get('strict-transport-security'), null);
    await p.arrayBuffer();
  });
});
