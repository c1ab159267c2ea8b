/**
 * Access rules, header rules, redirects and rewrites from a config file (YAML, loaded and built by
 * src/config), over real sockets: the factory table wires them in, in the documented order
 * (headers, redirects, rewrites, access), with htpasswd paths relative to the config file.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startServers, type RunningConfig } from '../../src/config/build.js';
import { loadConfig } from '../../src/config/load.js';
import { basic, fetchFrom, htpasswd, tempDir } from '../helpers/access.js';

const dir = tempDir('rapid-config-access-');
mkdirSync(join(dir, 'site', 'admin'), { recursive: true });
mkdirSync(join(dir, 'site', 'private'), { recursive: true });
writeFileSync(join(dir, 'site', 'index.html'), 'home');
writeFileSync(join(dir, 'site', 'admin', 'index.html'), 'admin area');
writeFileSync(join(dir, 'site', 'private', 'x.txt'), 'secret');
writeFileSync(join(dir, 'site', 'page.html'), 'a page');
htpasswd(join(dir, 'admins.htpasswd'), 'B', 'alice', 'pw', true);
const file = join(dir, 'rapid.yaml');
writeFileSync(
  file,
  [
    'listeners:',
    '  - { host: 127.0.0.1, port: 0 }',
    'sites:',
    '  - name: localhost',
    '    default: true',
    '    root: site',
    '    headers:',
    '      - set: { X-Frame-Options: DENY }',
    '    redirects:',
    '      - { from: "^/old/(.*)$", to: "/$1" }',
    '    rewrites:',
    '      - { from: "^/p/(\\\\w+)$", to: "/$1.html" }',
    '      - { from: "/hidden", to: "/private/x.txt" }',
    '    access:',
    '      - { path: /private, deny: [all] }',
    '      - path: /admin',
    '        auth: { realm: Admin, htpasswd: admins.htpasswd }',
    '',
  ].join('\n'),
);

describe('access and rules from a config file', async () => {
  const running: RunningConfig = await startServers(await loadConfig(file));
  after(() => running.close(500));
  const origin = `http://127.0.0.1:${running.listeners[0]!.server.port}`;

  it('serves with header rules on every answer', async () => {
    const r = await fetchFrom(origin, '/');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'home');
    assert.equal(r.headers['x-frame-options'], 'DENY');
  });

  it('redirects (default 301), with the header rule too', async () => {
    const r = await fetchFrom(origin, '/old/page.html?q=1');
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, '/page.html?q=1');
    assert.equal(r.headers['x-frame-options'], 'DENY');
  });

  it('rewrites to files, and access rules guard what is served', async () => {
    assert.equal((await fetchFrom(origin, '/p/page')).body, 'a page');
    assert.equal((await fetchFrom(origin, '/private/x.txt')).status, 403);
    const hidden = await fetchFrom(origin, '/hidden');
    assert.equal(hidden.status, 403);
    assert.equal(hidden.headers['x-frame-options'], 'DENY');
  });

  it('Basic auth with the htpasswd file next to the config', async () => {
    const no = await fetchFrom(origin, '/admin/');
    assert.equal(no.status, 401);
    assert.equal(no.headers['www-authenticate'], 'Basic realm="Admin", charset="UTF-8"');
    const yes = await fetchFrom(origin, '/admin/', {
      headers: { authorization: basic('alice', 'pw') },
    });
    assert.equal(yes.status, 200);
    assert.equal(yes.body, 'admin area');
  });
});
