/**
 * IP allow/deny over real sockets: clients from 127.0.0.x source addresses (localAddress), an
 * IPv6 server on ::1, a dual-stack server where IPv4 peers arrive as ::ffff:a.b.c.d, path and
 * method rules, encoded paths that try to slip past a rule, X-Forwarded-For only with trustProxy,
 * and the rules as app middleware.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createApp } from '../../src/app/index.js';
import { createAccessControl } from '../../src/features/access/index.js';
import { chain, echo, fetchFrom, rawFrom, startOn } from '../helpers/access.js';

describe('IP rules on 127.0.0.1 with 127.0.0.x clients', async () => {
  const ac = createAccessControl([
    { path: '/private', deny: ['all'] },
    { path: '*.php', deny: ['all'] },
    { path: '/local', allow: ['127.0.0.2', '127.0.0.8/30'] },
    { path: '/writes', methods: ['POST', 'DELETE'], allow: ['127.0.0.2'] },
    { path: '/open' },
    { deny: ['127.0.0.3', '127.0.0.16/28'], allow: ['127.0.0.0/8'] },
  ]);
  const { port } = await startOn('127.0.0.1', chain([ac], echo));
  const origin = `http://127.0.0.1:${port}`;
  const status = async (path: string, localAddress: string, method = 'GET'): Promise<number> =>
    (await fetchFrom(origin, path, { localAddress, method })).status;

  it('site-wide deny list inside an allowed /8', async () => {
    assert.equal(await status('/x', '127.0.0.1'), 200);
    assert.equal(await status('/x', '127.0.0.3'), 403);
    assert.equal(await status('/x', '127.0.0.15'), 200);
    assert.equal(await status('/x', '127.0.0.16'), 403);
    assert.equal(await status('/x', '127.0.0.31'), 403);
    assert.equal(await status('/x', '127.0.0.32'), 200);
  });

  it('path allow list with a single address and a /30', async () => {
    assert.equal(await status('/local', '127.0.0.2'), 200);
    assert.equal(await status('/local/deeper/x', '127.0.0.2'), 200);
    assert.equal(await status('/local', '127.0.0.1'), 403);
    for (const last of [8, 9, 10, 11]) assert.equal(await status('/local', `127.0.0.${last}`), 200);
    assert.equal(await status('/local', '127.0.0.7'), 403);
    assert.equal(await status('/local', '127.0.0.12'), 403);
    // A rule for /local does not cover /localhost.
    assert.equal(await status('/localhost', '127.0.0.1'), 200);
  });

  it('the first matching rule decides: /open is not subject to the site rule', async () => {
    assert.equal(await status('/open', '127.0.0.3'), 200);
    assert.equal(await status('/opened', '127.0.0.3'), 403);
  });

  it('deny all for a path and for *.php, whatever the address', async () => {
    const r = await fetchFrom(origin, '/private/file', { localAddress: '127.0.0.1' });
    assert.equal(r.status, 403);
    assert.equal(r.body, 'Forbidden\n');
    assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(await status('/index.php', '127.0.0.1'), 403);
    assert.equal(await status('/a/b/c.php/path/info', '127.0.0.1'), 403);
    assert.equal(await status('/a/b/c.phps', '127.0.0.1'), 200);
  });

  it('method rules apply only to their methods (and GET brings HEAD)', async () => {
    assert.equal(await status('/writes', '127.0.0.1', 'GET'), 200);
    assert.equal(await status('/writes', '127.0.0.1', 'POST'), 403);
    assert.equal(await status('/writes', '127.0.0.1', 'DELETE'), 403);
    assert.equal(await status('/writes', '127.0.0.2', 'POST'), 200);
  });

  it('encoded and doubled paths cannot slip past a rule; dot segments are refused', async () => {
    const raw = async (target: string): Promise<number> =>
      (
        await rawFrom(port, `GET ${target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`, {
          localAddress: '127.0.0.1',
        })
      ).status;
    assert.equal(await raw('/%70rivate'), 403);
    assert.equal(await raw('//private'), 403);
    assert.equal(await raw('/x%2Fprivate'), 200);
    assert.equal(await raw('/%2Fprivate'), 403);
    assert.equal(await raw('/index.ph%70'), 403);
    assert.equal(await raw('/open/../private'), 400);
    assert.equal(await raw('/open/%2e%2e/private'), 400);
    assert.equal(await raw('/%zz'), 400);
    assert.equal(await raw('http://t/private'), 403);
  });

  it('X-Forwarded-For is ignored without trustProxy', async () => {
    const r = await fetchFrom(origin, '/local', {
      localAddress: '127.0.0.1',
      headers: { 'x-forwarded-for': '127.0.0.2' },
    });
    assert.equal(r.status, 403);
  });
});

describe('IP rules with trustProxy', async () => {
  const ac = createAccessControl([{ allow: ['203.0.113.0/24'] }], { trustProxy: 'loopback' });
  const { port } = await startOn('127.0.0.1', chain([ac], echo));
  const origin = `http://127.0.0.1:${port}`;

  it('a trusted proxy peer makes the forwarded client the one checked', async () => {
    const ok = await fetchFrom(origin, '/', { headers: { 'x-forwarded-for': '203.0.113.9' } });
    assert.equal(ok.status, 200);
    const no = await fetchFrom(origin, '/', { headers: { 'x-forwarded-for': '198.51.100.1' } });
    assert.equal(no.status, 403);
    const fwd = await fetchFrom(origin, '/', { headers: { forwarded: 'for="203.0.113.1:4711"' } });
    assert.equal(fwd.status, 200);
    // No forwarded address: the peer itself (127.0.0.1) is checked.
    assert.equal((await fetchFrom(origin, '/')).status, 403);
  });
});

describe('IP rules on ::1', async () => {
  const ac = createAccessControl([
    { path: '/v6only', allow: ['::1/128'] },
    { path: '/no6', deny: ['::/0'] },
    { path: '/v4only', allow: ['127.0.0.0/8'] },
  ]);
  const { port } = await startOn('::1', chain([ac], echo));
  const origin = `http://[::1]:${port}`;

  it('IPv6 entries match an IPv6 peer; IPv4 entries do not', async () => {
    assert.equal((await fetchFrom(origin, '/v6only')).status, 200);
    assert.equal((await fetchFrom(origin, '/no6')).status, 403);
    assert.equal((await fetchFrom(origin, '/v4only')).status, 403);
    assert.equal((await fetchFrom(origin, '/other')).status, 200);
  });
});

describe('IP rules on a dual-stack socket (::): IPv4 peers as ::ffff:a.b.c.d', async () => {
  const seen: string[] = [];
  const ac = createAccessControl([
    { path: '/four', allow: ['127.0.0.4'] },
    { path: '/mapped', allow: ['::ffff:127.0.0.0/120'] },
    { path: '/six', allow: ['::1'] },
  ]);
  const { port } = await startOn(
    '::',
    chain([ac], (req, res) => {
      seen.push(req.remoteAddress);
      res.send('ok');
    }),
  );

  it('IPv4 rules match mapped peers, mapped rules match IPv4 peers', async () => {
    const v4 = `http://127.0.0.1:${port}`;
    assert.equal((await fetchFrom(v4, '/four', { localAddress: '127.0.0.4' })).status, 200);
    assert.match(seen[seen.length - 1] as string, /^::ffff:127\.0\.0\.4$/);
    assert.equal((await fetchFrom(v4, '/four', { localAddress: '127.0.0.5' })).status, 403);
    assert.equal((await fetchFrom(v4, '/mapped', { localAddress: '127.0.0.200' })).status, 200);
    assert.equal((await fetchFrom(v4, '/six', { localAddress: '127.0.0.1' })).status, 403);
    const v6 = `http://[::1]:${port}`;
    assert.equal((await fetchFrom(v6, '/six')).status, 200);
    assert.equal((await fetchFrom(v6, '/four')).status, 403);
  });
});

describe('access rules as app middleware', async () => {
  const app = createApp({ trustProxy: 'loopback' });
  app.use(createAccessControl([{ path: '/admin', allow: ['198.51.100.7'] }]));
  app.get('/admin/panel', () => 'panel');
  app.get('/', () => 'home');
  const { port } = await startOn('127.0.0.1', app.handler);
  const origin = `http://127.0.0.1:${port}`;

  it("follows req.ip, i.e. the app's own trustProxy", async () => {
    assert.equal((await fetchFrom(origin, '/')).status, 200);
    assert.equal((await fetchFrom(origin, '/admin/panel')).status, 403);
    const r = await fetchFrom(origin, '/admin/panel', {
      headers: { 'x-forwarded-for': '198.51.100.7' },
    });
    assert.equal(r.status, 200);
    assert.equal(r.body, 'panel');
  });
});
