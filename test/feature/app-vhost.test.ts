/**
 * Virtual hosts over raw sockets (fetch cannot set Host): exact names, aliases, wildcards, the
 * default site, ports, case, trailing dot, absolute-form targets, and the parent app as the
 * fallback for unknown hosts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createApp } from '../../src/app/index.js';
import { exchange, req as rawReq } from '../helpers/raw.js';
import { startServer } from '../helpers/server.js';

function site(name: string) {
  const app = createApp();
  app.get('/', (req) => `${name} ${req.hostname}`);
  app.get('/only-here', () => `${name} only`);
  return app;
}

async function startSites(): Promise<number> {
  const app = createApp({ logError: () => {} });
  app.site({ names: 'example.com', aliases: ['www.example.com', 'example.org'] }, site('main'));
  app.site('*.shop.example', site('shop'));
  app.site('api.example.com:8443', site('api-8443'));
  app.site('api.example.com', site('api'));
  app.site(['[::1]', '127.0.0.1'], site('ip'));
  app.get('/', () => 'fallback');
  // The parent's onRequest hooks run for every request, before a site is picked.
  app.onRequest((req, res) => void res.setHeader('X-Root-Hook', req.raw.host));
  const withDefault = createApp();
  withDefault.site({ names: 'known.test' }, site('known'));
  withDefault.site({ names: 'catch.test', default: true }, site('catch-all'));
  app.mount('/nested', withDefault);
  return (await startServer(app.handler)).port;
}

const port = await startSites();

describe('app virtual hosts', () => {
  async function host(
    h: string,
    target = '/',
  ): Promise<{ status: number; body: string; hook: string | undefined }> {
    const { responses, client } = await exchange(port, rawReq('GET', target, { Host: h }), {
      responses: 1,
    });
    client.destroy();
    const r = responses[0]!;
    return { status: r.status, body: r.text(), hook: r.header('x-root-hook') };
  }

  it('picks sites by exact name and alias', async () => {
    const main = await host('example.com');
    assert.equal(main.body, 'main example.com');
    assert.equal(main.hook, 'example.com');
    assert.equal((await host('www.example.com')).body, 'main www.example.com');
    assert.equal((await host('example.org')).body, 'main example.org');
  });

  it('is case-insensitive and ignores a trailing dot', async () => {
    assert.equal((await host('EXAMPLE.Com')).body, 'main EXAMPLE.Com');
    assert.equal((await host('example.com.')).body, 'main example.com.');
  });

  it('matches wildcards at any depth, not the bare suffix', async () => {
    assert.equal((await host('a.shop.example')).body, 'shop a.shop.example');
    assert.equal((await host('x.y.shop.example')).body, 'shop x.y.shop.example');
    assert.equal((await host('shop.example')).body, 'fallback');
  });

  it('considers the port of the Host header', async () => {
    assert.equal((await host('api.example.com:8443')).body, 'api-8443 api.example.com');
    assert.equal((await host('api.example.com:80')).body, 'api api.example.com');
    assert.equal((await host('api.example.com')).body, 'api api.example.com');
    assert.equal((await host('example.com:8080')).body, 'main example.com');
  });

  it('matches IP literals', async () => {
    assert.equal((await host('[::1]:80')).body, 'ip [::1]');
    assert.equal((await host('127.0.0.1')).body, 'ip 127.0.0.1');
  });

  it('uses the authority of an absolute-form target', async () => {
    const r = await host('ignored.test', 'http://www.example.com/only-here');
    assert.equal(r.body, 'main only');
  });

  it('leaves unknown hosts to the parent app, or to a default site', async () => {
    assert.equal((await host('unknown.test')).body, 'fallback');
    assert.equal((await host('unknown.test', '/only-here')).status, 404);
    assert.equal((await host('known.test', '/nested/')).body, 'known known.test');
    assert.equal((await host('other.test', '/nested/')).body, 'catch-all other.test');
  });

  it('rejects bad and duplicate names at registration', () => {
    const app = createApp();
    app.site('a.test', site('a'));
    assert.throws(() => app.site('a.test', site('b')), { code: 'RAPID_ERR_VHOST_CONFLICT' });
    assert.throws(() => app.site('bad host', site('b')), { code: 'RAPID_ERR_VHOST_INVALID_NAME' });
    assert.throws(() => app.site([], site('b')), { code: 'RAPID_ERR_VHOST_INVALID_NAME' });
  });
});
