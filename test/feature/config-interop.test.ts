/**
 * FastCGI, CGI and the reverse proxy from a config file, through startFromConfig(): a PHP site on
 * a real php-fpm (root defaulting to the site's root, relative paths against the config's
 * directory), a CGI script, and a proxy to a node:http upstream with an Upgrade passed through.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startFromConfig, type ConfigServer } from '../../src/config/start.js';
import { get } from '../helpers/cli-child.js';
import { phpFpmBinary, startPhpFpm, type PhpFpm } from '../helpers/php.js';

const dir = mkdtempSync(join(tmpdir(), 'rapid-config-interop-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** An upgrade through the proxy: the raw bytes the client gets back, until the upstream ends. */
function upgradeThrough(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () =>
      s.write(
        'GET /api/ws HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nping',
      ),
    );
    let got = '';
    s.setEncoding('latin1');
    s.on('data', (c: string) => (got += c));
    s.on('end', () => resolve(got));
    s.on('error', reject);
  });
}

describe('config: FastCGI, CGI, proxy', () => {
  it(
    'php-fpm, a CGI script and a proxied upstream from one YAML file',
    { skip: phpFpmBinary === null ? 'php-fpm not installed' : false, timeout: 60_000 },
    async () => {
      mkdirSync(join(dir, 'php'));
      writeFileSync(join(dir, 'php', 'index.php'), '<?php echo "php ", $_SERVER["SCRIPT_NAME"];');
      writeFileSync(join(dir, 'php', 'plain.txt'), 'static beside php\n');
      mkdirSync(join(dir, 'cgi-bin'));
      writeFileSync(
        join(dir, 'cgi-bin', 'hello.sh'),
        '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\ncgi %s" "$QUERY_STRING"\n',
      );
      chmodSync(join(dir, 'cgi-bin', 'hello.sh'), 0o755);
      const upstream = http.createServer((req, res) => {
        res.setHeader('Content-Type', 'text/plain');
        res.end(
          `upstream ${req.url} host=${req.headers.host} xff=${req.headers['x-forwarded-for']}`,
        );
      });
      upstream.on('upgrade', (_req, socket: net.Socket, head: Buffer) => {
        socket.write(
          'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n',
        );
        socket.end(`echo:${head.toString()}`);
      });
      await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
      const upPort = (upstream.address() as net.AddressInfo).port;
      let fpm: PhpFpm | undefined;
      let app: ConfigServer | undefined;
      try {
        fpm = await startPhpFpm({ children: 2 });
        const file = join(dir, 'rapid.yaml');
        writeFileSync(
          file,
          `listeners:
  - { host: 127.0.0.1, port: 0 }
sites:
  - name: php.test
    root: ./php
    handlers:
      - { type: fastcgi, path: "*.php", address: "${fpm.address}" }
      - { type: cgi, path: /cgi-bin, root: . }
  - name: app.test
    handlers:
      - { type: proxy, path: /api, upstream: "http://127.0.0.1:${upPort}", stripPrefix: /api }
`,
        );
        app = await startFromConfig(file);
        const port = app.listeners[0]!.server.port;
        const php = await get(port, '/index.php', 'php.test');
        assert.equal(php.status, 200, php.body);
        assert.equal(php.body, 'php /index.php');
        assert.equal((await get(port, '/plain.txt', 'php.test')).body, 'static beside php\n');
        const cgi = await get(port, '/cgi-bin/hello.sh?x=1', 'php.test');
        assert.equal(cgi.status, 200, cgi.body);
        assert.equal(cgi.body, 'cgi x=1');
        const proxied = await get(port, '/api/users?id=2', 'app.test');
        assert.equal(proxied.status, 200);
        assert.equal(proxied.body, `upstream /users?id=2 host=127.0.0.1:${upPort} xff=127.0.0.1`);
        assert.equal((await get(port, '/other', 'app.test')).status, 404);
        const up = await upgradeThrough(port);
        assert.match(up, /^HTTP\/1\.1 101 /);
        assert.match(up, /echo:ping$/);
      } finally {
        await app?.close();
        await fpm?.stop();
        await new Promise((r) => upstream.close(r));
      }
    },
  );
});
