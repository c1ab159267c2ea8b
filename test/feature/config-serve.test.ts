/**
 * Config -> running servers over real sockets: the four example forms load to one model and
 * serve examples/site; sites by Host with a default; handlers by prefix and glob (also when the
 * path is percent-encoded); module handlers of every kind; the factory table; reload swapping
 * sites and limits on the same socket and connection, refusing a bad config as a whole, adding
 * and removing listeners.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startServers, type RunningConfig } from '../../src/config/build.js';
import { ConfigError } from '../../src/config/issues.js';
import { loadConfig, loadConfigValue, type LoadedConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { projectRoot } from '../helpers/paths.js';
import { RawClient, req } from '../helpers/raw.js';
import { request } from '../helpers/static-site.js';

const EXAMPLES = join(projectRoot, 'examples');
const dir = mkdtempSync(join(tmpdir(), 'rapid-config-serve-'));
after(() => rmSync(dir, { recursive: true, force: true }));
function write(rel: string, text: string): string {
  const p = join(dir, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
}
write('a/index.html', 'site a');
write('a/x.txt', 'a text');
write('b/index.html', 'site b');
write('b/x.txt', 'b text');
write('t/x.txt', 'from the txt handler');
write('t/m/x.txt', 'from the txt handler');
write('m/file.txt', 'mounted');
write(
  'native.mjs',
  'export default (req, res, next) => req.path === "/native/skip" ? next() : res.send("native " + req.path);\n',
);
write(
  'fetch.mjs',
  'export default (request) => new Response("fetch " + new URL(request.url).pathname);\n',
);
write(
  'object.mjs',
  'export const hono = { fetch(request) { return new Response("object " + new URL(request.url).pathname); } };\n',
);
write('bad.mjs', 'export default 42;\n');

const running: RunningConfig[] = [];
after(() => Promise.all(running.map((r) => r.close(500))));

/** A loaded config with every listener on 127.0.0.1 port 0. */
function onFreePorts(loaded: LoadedConfig): LoadedConfig {
  const listeners = loaded.config.listeners.map((l) => ({ ...l, host: '127.0.0.1', port: 0 }));
  return { ...loaded, config: { ...loaded.config, listeners } };
}

async function start(
  input: ConfigInput,
  features?: Parameters<typeof startServers>[1],
): Promise<{ r: RunningConfig; port: number }> {
  const loaded = loadConfigValue(input, { baseDir: dir, features: features?.features });
  const r = await startServers(loaded, features);
  running.push(r);
  return { r, port: r.listeners[0]!.server.port };
}

const L = [{ host: '127.0.0.1', port: 0 }];

describe('config examples', () => {
  it('rapid.xml, rapid.yaml, rapid.json and rapid.config.ts load to the same model', async () => {
    const models = [];
    for (const f of ['rapid.xml', 'rapid.yaml', 'rapid.json', 'rapid.config.ts']) {
      models.push((await loadConfig(join(EXAMPLES, f))).config);
    }
    for (let i = 1; i < models.length; i++) assert.deepStrictEqual(models[i], models[0]);
    assert.equal(models[0]!.sites[0]!.root, join(EXAMPLES, 'site'));
  });

  it('each serves examples/site', async () => {
    for (const f of ['rapid.xml', 'rapid.yaml', 'rapid.json', 'rapid.config.ts']) {
      const r = await startServers(onFreePorts(await loadConfig(join(EXAMPLES, f))));
      try {
        const port = r.listeners[0]!.server.port;
        const index = await request(port, '/');
        assert.equal(index.status, 200, f);
        assert.match(index.body.toString(), /<html/);
        const css = await request(port, '/assets/site.css', { 'Accept-Encoding': 'br' });
        assert.equal(css.headers['cache-control'], 'public, max-age=3600');
        assert.equal((await request(port, '/missing')).status, 404);
        assert.equal((await request(port, '/files/')).status, 200, 'mount with a listing');
        const api = await request(port, '/api/hello');
        assert.equal(api.body.toString(), '{"hello":"world","path":"/api/hello"}');
      } finally {
        await r.close(500);
      }
    }
  });
});

describe('sites and handlers', () => {
  it('picks the site by Host, the default one for unknown hosts', async () => {
    const { port } = await start({
      listeners: L,
      sites: [
        { name: 'a.test', aliases: ['www.a.test'], root: 'a' },
        { name: '*.b.test', root: 'b', default: true },
      ],
    });
    // Sent raw: request() has its own Host field.
    const c = await RawClient.connect(port);
    await c.send(req('GET', '/', { host: 'www.a.test' }));
    await c.send(req('GET', '/', { host: 'x.b.test' }));
    await c.send(req('GET', '/', { host: 'elsewhere' }));
    const [r1, r2, r3] = await c.waitResponses(3);
    c.socket.destroy();
    assert.equal(r1!.text(), 'site a');
    assert.equal(r2!.text(), 'site b');
    assert.equal(r3!.text(), 'site b');
    assert.equal((await request(port, '/')).body.toString(), 'site b', 'Host: 127.0.0.1');
  });

  it('handlers by glob and prefix, in order, before mounts and the root', async () => {
    const { port } = await start({
      listeners: L,
      sites: [
        {
          name: '*',
          root: 'a',
          mounts: [{ path: '/m', root: 'm' }],
          handlers: [
            { type: 'static', path: '*.txt', root: 't' },
            { type: 'module', path: '/native', module: 'native.mjs' },
            { type: 'module', path: '/fetch', module: 'fetch.mjs' },
            { type: 'module', path: '/obj', module: 'object.mjs', export: 'hono' },
          ],
        },
      ],
    });
    const body = async (p: string) => (await request(port, p)).body.toString();
    assert.equal(await body('/x.txt'), 'from the txt handler');
    assert.equal(await body('/x.tx%74'), 'from the txt handler', 'encoded paths match globs');
    assert.equal(await body('/native/a'), 'native /native/a');
    assert.equal((await request(port, '/native/skip')).status, 404, 'next() falls through');
    assert.equal(await body('/fetch/b'), 'fetch /fetch/b');
    assert.equal(await body('/obj/c'), 'object /obj/c');
    assert.equal(await body('/m/x.txt'), 'from the txt handler', 'handlers come first');
    assert.equal(await body('/m/file.txt'), 'mounted', 'a static handler falls through');
    assert.equal((await request(port, '/m/')).status, 404);
    assert.equal(await body('/'), 'site a');
    assert.equal((await request(port, '/nativex')).status, 404, 'prefixes stop at segments');
  });

  it('a module that exports no handler is refused, located at its setting', async () => {
    const loaded = loadConfigValue(
      { listeners: L, sites: [{ name: '*', handlers: [{ type: 'module', module: 'bad.mjs' }] }] },
      { baseDir: dir, file: 'x.yaml' },
    );
    await assert.rejects(startServers(loaded), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.code, 'RAPID_ERR_CONFIG_MODULE_FAILED');
      assert.equal(err.issues[0]!.path, 'sites[0].handlers[0].module');
      assert.match(err.issues[0]!.message, /not a Rapid handler/);
      return true;
    });
  });

  it('features come from the factory table, in the agreed shapes', async () => {
    const seen: unknown[] = [];
    const features = {
      headers: (rules: unknown) => {
        seen.push(rules);
        return (
          _q: unknown,
          res: { setHeader(n: string, v: string): void },
          next?: () => void | Promise<void>,
        ) => {
          res.setHeader('X-Rule', 'yes');
          return next?.();
        };
      },
      fastcgi: (o: unknown, ctx: { baseDir: string }) => {
        seen.push(o, ctx.baseDir);
        return (_q: unknown, res: { send(b: string): void }) => res.send('fcgi');
      },
    };
    const { port } = await start(
      {
        listeners: L,
        sites: [
          {
            name: '*',
            root: 'a',
            headers: [{ path: '/', set: { 'X-A': '1' } }],
            handlers: [
              { type: 'fastcgi', path: '*.php', address: '127.0.0.1:9000', timeout: '30s' },
            ],
          },
        ],
      },
      { features: features as never },
    );
    const php = await request(port, '/index.php');
    assert.equal(php.body.toString(), 'fcgi');
    assert.equal(php.headers['x-rule'], 'yes');
    assert.deepEqual(seen, [
      [{ path: '/', set: { 'X-A': '1' }, add: {}, remove: [] }],
      {
        address: '127.0.0.1:9000',
        root: join(dir, 'a'),
        index: 'index.php',
        extensions: ['.php'],
        timeout: 30_000,
        splitPathInfo: true,
      },
      dir,
    ]);
  });
});

describe('reload', () => {
  it('swaps sites and limits on the same socket and keep-alive connection', async () => {
    const { r, port } = await start({ listeners: L, sites: [{ name: '*', root: 'a' }] });
    const c = await RawClient.connect(port);
    await c.send(req('GET', '/x.txt'));
    assert.equal((await c.waitResponses(1))[0]!.text(), 'a text');
    await r.reload(
      loadConfigValue(
        { listeners: L, limits: { maxBodyBytes: 10 }, sites: [{ name: '*', root: 'b' }] },
        { baseDir: dir },
      ),
    );
    assert.equal(r.listeners[0]!.server.port, port, 'the listening socket is kept');
    await c.send(req('GET', '/x.txt'));
    assert.equal((await c.waitResponses(2))[1]!.text(), 'b text', 'same connection, new site');
    assert.equal(c.closed, false);
    await c.send(req('POST', '/x.txt', {}, 'more than ten bytes'));
    assert.equal((await c.waitResponses(3))[2]!.status, 413, 'new limits apply');
    c.socket.destroy();
  });

  it('a config that cannot be built is refused whole; the old one keeps serving', async () => {
    const { r, port } = await start({ listeners: L, sites: [{ name: '*', root: 'a' }] });
    const bad = loadConfigValue(
      {
        listeners: L,
        sites: [{ name: '*', root: 'b', handlers: [{ type: 'module', module: 'bad.mjs' }] }],
      },
      { baseDir: dir },
    );
    await assert.rejects(r.reload(bad), ConfigError);
    assert.equal((await request(port, '/x.txt')).body.toString(), 'a text');
  });

  it('adds and removes listeners', async () => {
    const { r, port } = await start({ listeners: L, sites: [{ name: '*', root: 'a' }] });
    const sock = join(dir, 'r.sock');
    await r.reload(
      loadConfigValue(
        { listeners: [{ socket: sock }], sites: [{ name: '*', root: 'b' }] },
        { baseDir: dir },
      ),
    );
    assert.deepEqual(
      r.listeners.map((l) => l.url),
      [`unix:${sock}`],
    );
    await assert.rejects(request(port, '/'), /ECONNREFUSED/);
    const text = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      import('node:net').then(({ default: net }) => {
        const s = net.connect(sock, () =>
          s.write('GET /x.txt HTTP/1.1\r\nHost: u\r\nConnection: close\r\n\r\n'),
        );
        s.on('data', (b: Buffer) => chunks.push(b));
        s.on('end', () => resolve(Buffer.concat(chunks).toString()));
        s.on('error', reject);
      }, reject);
    });
    assert.match(text, /\r\n\r\nb text$/);
  });
});
