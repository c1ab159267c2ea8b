/**
 * The config loaders: each form on valid and invalid files, with the exact file:line:column,
 * setting path and message of every error; unknown settings with suggestions; defaults,
 * durations and sizes; features this build does not have; checks beyond the schema.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, type ConfigIssue } from '../../../src/config/issues.js';
import { loadConfig, loadConfigValue } from '../../../src/config/load.js';
import { parseDuration, parseSize } from '../../../src/config/validate.js';

const dir = mkdtempSync(join(tmpdir(), 'rapid-config-'));
mkdirSync(join(dir, 'site'));
mkdirSync(join(dir, 'other'));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(ext: string, text: string): string {
  const p = join(dir, `c${++n}${ext}`);
  writeFileSync(p, text);
  return p;
}

interface Want {
  code: string;
  line?: number;
  column?: number;
  path?: string;
  message: RegExp;
}

async function issues(p: Promise<unknown>): Promise<readonly ConfigIssue[]> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ConfigError, `a ConfigError, got ${String(err)}`);
    return err.issues;
  }
  assert.fail('expected a ConfigError');
}

async function rejects(p: Promise<unknown>, ...want: Want[]): Promise<void> {
  const got = await issues(p);
  assert.equal(got.length, want.length, got.map((i) => `${i.path}: ${i.message}`).join('\n'));
  want.forEach((w, i) => {
    const g = got[i]!;
    assert.equal(g.spec.code, `RAPID_ERR_${w.code}`, g.message);
    if (w.line !== undefined)
      assert.deepEqual(g.pos, { line: w.line, column: w.column }, g.message);
    if (w.path !== undefined) assert.equal(g.path, w.path);
    assert.match(g.message, w.message);
  });
}

describe('durations and sizes', () => {
  it('parse with units; bare numbers are ms and bytes', () => {
    assert.equal(parseDuration('75s'), 75_000);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('250'), 250);
    assert.equal(parseDuration('5 sec'), undefined);
    assert.equal(parseSize('64k'), 65_536);
    assert.equal(parseSize('1mb'), 1_048_576);
    assert.equal(parseSize('2MiB'), 2_097_152);
    assert.equal(parseSize('1G'), 1024 ** 3);
    assert.equal(parseSize('10'), 10);
    assert.equal(parseSize('1 TB'), undefined);
  });
});

describe('XML', () => {
  it('reads attributes, elements, lists and tables with their types and defaults', async () => {
    const p = file(
      '.xml',
      `<Rapid workers="1">
  <Listen host="::1" port="0"/>
  <Listen socket="./rapid.sock"/>
  <KeepAlive maxRequests="10" timeout="2m"/>
  <Limits maxBodyBytes="64k"/>
  <DefaultDocuments><Add>index.htm</Add></DefaultDocuments>
  <Site name="example.com" aliases="www.example.com, example.org" root="site">
    <MimeTypes><Add extension="md" type="text/markdown"/></MimeTypes>
    <Compression enabled="no" types="text/*, application/json"/>
    <Cache maxFileSize="1mb" revalidate="250"/>
    <Mount path="/x" root="other" listing="on"/>
    <Handler type="static" path="*.txt" root="other"/>
  </Site>
  <Site name="*.test" default="true"><Root>other</Root><Alias>x.test</Alias><Alias>y.test</Alias></Site>
</Rapid>`,
    );
    const { config } = await loadConfig(p);
    assert.deepEqual(config.listeners[0], {
      host: '::1',
      port: 0,
      backlog: 2048,
      reusePort: false,
    });
    assert.equal(config.listeners[1]!.socket, join(dir, 'rapid.sock'));
    assert.deepEqual(config.keepAlive, { maxRequests: 10, timeout: 120_000 });
    assert.equal(config.limits.maxBodyBytes, 65_536);
    assert.equal(config.limits.maxHeaderBytes, 16_384);
    const [a, b] = config.sites;
    assert.deepEqual(a!.aliases, ['www.example.com', 'example.org']);
    assert.equal(a!.root, join(dir, 'site'));
    assert.deepEqual(a!.index, ['index.htm']);
    assert.deepEqual(a!.mimeTypes, { md: 'text/markdown' });
    assert.equal(a!.compression.enabled, false);
    assert.deepEqual(a!.compression.types, ['text/*', 'application/json']);
    assert.equal(a!.compression.level, 9, 'inherited default');
    assert.equal(a!.cache.maxFileSize, 1_048_576);
    assert.equal(a!.cache.revalidate, 250);
    assert.deepEqual(a!.mounts, [{ path: '/x', root: join(dir, 'other'), listing: true }]);
    assert.deepEqual(a!.handlers[0], { type: 'static', path: '*.txt', root: join(dir, 'other') });
    assert.equal(b!.default, true);
    assert.equal(b!.root, join(dir, 'other'));
    assert.deepEqual(b!.aliases, ['x.test', 'y.test']);
  });

  it('syntax errors name line and column', async () => {
    await rejects(loadConfig(file('.xml', '<Rapid>\n  <Site name="a">\n</Rapid>\n')), {
      code: 'CONFIG_SYNTAX',
      line: 3,
      column: 8,
      message: /^invalid XML: unexpected close tag/,
    });
    await rejects(loadConfig(file('.xml', '<Config/>')), {
      code: 'CONFIG_SYNTAX',
      line: 1,
      column: 1,
      message: /root element must be <Rapid>, not <Config>/,
    });
  });

  it('entities declared in a DOCTYPE are not expanded (no entity bombs, no external files)', async () => {
    const text =
      '<!DOCTYPE r [<!ENTITY a "x"><!ENTITY b "&a;&a;">]>\n<Rapid><Site name="&b;"/></Rapid>\n';
    await rejects(loadConfig(file('.xml', text)), {
      code: 'CONFIG_SYNTAX',
      line: 2,
      column: 22,
      message: /^invalid XML: undefined entity/,
    });
  });

  it('unknown elements and attributes get suggestions at their exact position', async () => {
    const p = file(
      '.xml',
      `<Rapid>
  <KeepAlve timeout="5s"/>
  <Site name="a"   lisitng="true">
    <MimeType/>
  </Site>
</Rapid>`,
    );
    await rejects(
      loadConfig(p),
      {
        code: 'CONFIG_UNKNOWN_SETTING',
        line: 2,
        column: 3,
        path: 'KeepAlve',
        message: /did you mean <KeepAlive>\?/,
      },
      {
        code: 'CONFIG_UNKNOWN_SETTING',
        line: 3,
        column: 20,
        path: 'sites[0].lisitng',
        message: /unknown setting "lisitng"; did you mean "listing"\?/,
      },
      {
        code: 'CONFIG_UNKNOWN_SETTING',
        line: 4,
        column: 5,
        path: 'sites[0].MimeType',
        message: /did you mean <MimeTypes>\?/,
      },
    );
  });

  it('wrong values name the attribute and what was expected', async () => {
    const p = file(
      '.xml',
      `<Rapid>
  <Listen port="http"/>
  <KeepAlive timeout="soon"/>
  <Site name="a" default="maybe"><Compression codings="br,zstd"/></Site>
</Rapid>`,
    );
    await rejects(
      loadConfig(p),
      {
        code: 'CONFIG_INVALID_VALUE',
        line: 2,
        column: 11,
        path: 'listeners[0].port',
        message: /^expected an integer from 0 to 65535, got "http"$/,
      },
      {
        code: 'CONFIG_INVALID_VALUE',
        line: 3,
        column: 14,
        path: 'keepAlive.timeout',
        message: /^expected a duration such as "75s"/,
      },
      {
        code: 'CONFIG_INVALID_VALUE',
        line: 4,
        column: 18,
        path: 'sites[0].default',
        message: /^expected true or false, got "maybe"$/,
      },
      {
        code: 'CONFIG_INVALID_VALUE',
        line: 4,
        column: 47,
        path: 'sites[0].compression.codings[1]',
        message: /^expected one of "br", "gzip" or "deflate", got "zstd"$/,
      },
    );
  });

  it('a missing required setting names its element', async () => {
    await rejects(loadConfig(file('.xml', '<Rapid>\n  <Site root="site"/>\n</Rapid>')), {
      code: 'CONFIG_MISSING_SETTING',
      line: 2,
      column: 3,
      path: 'sites[0].name',
      message: /missing required setting "name"/,
    });
    await rejects(loadConfig(file('.xml', '<Rapid/>')), {
      code: 'CONFIG_MISSING_SETTING',
      path: 'sites',
      message: /missing required setting "sites"/,
    });
  });
});

describe('YAML', () => {
  it('reads a valid file', async () => {
    const p = file('.yaml', 'keepAlive:\n  timeout: 500ms\nsites:\n  - name: a\n    root: site\n');
    const { config } = await loadConfig(p);
    assert.equal(config.keepAlive.timeout, 500);
    assert.equal(config.sites[0]!.root, join(dir, 'site'));
    assert.deepEqual(config.listeners, [
      { host: '0.0.0.0', port: 8080, backlog: 2048, reusePort: false },
    ]);
  });

  it('anchors and aliases work', async () => {
    const p = file('.yml', 'sites:\n  - &s { name: a, root: site }\n  - { name: b, root: site }\n');
    assert.equal((await loadConfig(p)).config.sites.length, 2);
  });

  it('syntax errors, unknown keys, wrong types and duplicates have positions', async () => {
    await rejects(loadConfig(file('.yaml', 'sites:\n  - name: [a\n')), {
      code: 'CONFIG_SYNTAX',
      line: 3,
      column: 1,
      message: /^invalid YAML/,
    });
    await rejects(
      loadConfig(
        file('.yaml', 'sites:\n  - name: a\n    keepAlive:\n      timeout: 5s\n    roots: site\n'),
      ),
      {
        code: 'CONFIG_UNKNOWN_SETTING',
        line: 3,
        column: 5,
        path: 'sites[0].keepAlive',
        message: /^"keepAlive" applies to the whole server .*: set it at the top level$/,
      },
      {
        code: 'CONFIG_UNKNOWN_SETTING',
        line: 5,
        column: 5,
        path: 'sites[0].roots',
        message: /did you mean "root"\?/,
      },
    );
    await rejects(loadConfig(file('.yaml', 'listeners:\n  - port: yes\nsites: [{ name: a }]\n')), {
      code: 'CONFIG_INVALID_VALUE',
      line: 2,
      column: 11,
      path: 'listeners[0].port',
      message: /^expected an integer from 0 to 65535, got "yes"$/,
    });
    await rejects(loadConfig(file('.yaml', 'sites: [{ name: a }]\nsites: []\n')), {
      code: 'CONFIG_SYNTAX',
      line: 2,
      column: 1,
      message: /unique/i,
    });
  });
});

describe('JSON', () => {
  it('reads a file with comments and trailing commas', async () => {
    const p = file(
      '.json',
      '{\n  // the site\n  "sites": [{ "name": "a", "root": "site", },],\n}\n',
    );
    assert.equal((await loadConfig(p)).config.sites[0]!.name, 'a');
  });

  it('syntax errors, unknown keys and duplicates have positions', async () => {
    await rejects(
      loadConfig(
        file('.json', '{\n  "sites": [\n    { "name": "a" }\n    { "name": "b" }\n  ]\n}'),
      ),
      {
        code: 'CONFIG_SYNTAX',
        line: 4,
        column: 5,
        message: /^invalid JSON: comma expected/,
      },
    );
    await rejects(
      loadConfig(file('.json', '{\n  "sites": [{ "name": "a", "mimetypes": {} }]\n}')),
      {
        code: 'CONFIG_UNKNOWN_SETTING',
        line: 2,
        column: 28,
        path: 'sites[0].mimetypes',
        message: /did you mean "mimeTypes"\?/,
      },
    );
    await rejects(loadConfig(file('.json', '{ "sites": [{ "name": "a" }], "sites": [] }')), {
      code: 'CONFIG_SYNTAX',
      line: 1,
      column: 31,
      message: /duplicate key "sites"/,
    });
    await rejects(loadConfig(file('.json', '')), {
      code: 'CONFIG_SYNTAX',
      message: /empty|value expected/,
    });
  });
});

describe('modules', () => {
  it('a .mjs module exporting a config, or a function returning one', async () => {
    const a = file('.mjs', "export default { sites: [{ name: 'a', root: 'site' }] };\n");
    assert.equal((await loadConfig(a)).config.sites[0]!.root, join(dir, 'site'));
    const b = file(
      '.mjs',
      "export default async () => ({ sites: [{ name: 'b', root: 'site' }] });\n",
    );
    assert.equal((await loadConfig(b)).config.sites[0]!.name, 'b');
  });

  it('a .ts module', async () => {
    const p = file(
      '.mts',
      "const root: string = 'site';\nexport default { sites: [{ name: 'ts', root }] };\n",
    );
    assert.equal((await loadConfig(p)).config.sites[0]!.name, 'ts');
  });

  it('errors name the file and the setting (modules have no positions)', async () => {
    await rejects(
      loadConfig(
        file('.mjs', "export default { sites: [{ name: 'a', keepAlive: {} }], port: 1 };"),
      ),
      {
        code: 'CONFIG_UNKNOWN_SETTING',
        path: 'sites[0].keepAlive',
        message: /^"keepAlive" applies to the whole server .*: set it at the top level$/,
      },
      {
        code: 'CONFIG_UNKNOWN_SETTING',
        path: 'port',
        message: /unknown setting "port"/,
      },
    );
    await rejects(
      loadConfig(file('.mjs', "export default { sites: [{ name: 'a', root: () => 1 }] };")),
      {
        code: 'CONFIG_INVALID_VALUE',
        path: 'sites[0].root',
        message: /expected a string, got a function/,
      },
    );
    await rejects(loadConfig(file('.mjs', 'export const x = 1;')), {
      code: 'CONFIG_MODULE_FAILED',
      message: /no default export/,
    });
    await rejects(loadConfig(file('.mjs', 'throw new Error("boom");')), {
      code: 'CONFIG_MODULE_FAILED',
      message: /boom/,
    });
  });

  it('a config value (defineConfig) loads without a file', () => {
    const l = loadConfigValue(
      { sites: [{ name: 'v', root: 'site' }], limits: { bodyTimeout: '1m' } },
      { baseDir: dir },
    );
    assert.equal(l.config.limits.bodyTimeout, 60_000);
    assert.equal(l.config.baseDir, dir);
  });
});

describe('files and features', () => {
  it('unknown extensions and missing files', async () => {
    await rejects(loadConfig(join(dir, 'rapid.toml')), {
      code: 'CONFIG_UNSUPPORTED_FORMAT',
      message: /\.toml/,
    });
    await rejects(loadConfig(join(dir, 'missing.yaml')), {
      code: 'CONFIG_FILE_NOT_FOUND',
      message: /not found/,
    });
  });

  it('settings of features this build lacks are refused at their position, never ignored', async () => {
    const p = file(
      '.yaml',
      [
        'workers: 4',
        'sites:',
        '  - name: a',
        '    root: site',
        '    handlers:',
        '      - type: fastcgi',
        '        address: 127.0.0.1:9000',
        '',
      ].join('\n'),
    );
    // A build without these factories (this one has them all).
    await rejects(
      loadConfig(p, { features: {} }),
      {
        code: 'CONFIG_NOT_AVAILABLE',
        line: 1,
        column: 1,
        path: 'workers',
        message: /worker processes are not available/,
      },
      {
        code: 'CONFIG_NOT_AVAILABLE',
        line: 6,
        column: 9,
        path: 'sites[0].handlers[0]',
        message: /FastCGI handlers are not available/,
      },
    );
    // Defaults and explicit "off" values need nothing.
    await loadConfig(file('.yaml', 'workers: 1\nsites: [{ name: a, access: [] }]\n'));
    // With the factory present, the same settings load, in the agreed shapes with defaults.
    const { config } = await loadConfig(p, {
      features: { fastcgi: () => () => {}, access: () => () => {}, workers: true },
    });
    assert.deepEqual(config.sites[0]!.handlers[0], {
      type: 'fastcgi',
      address: '127.0.0.1:9000',
      index: 'index.php',
      extensions: ['.php'],
      splitPathInfo: true,
    });
    assert.equal(config.workers, 4);
  });

  it('checks beyond the schema: roots, listeners, default sites, host names', async () => {
    const p = file(
      '.yaml',
      [
        'listeners:',
        '  - { port: 8080 }',
        '  - { port: 8080 }',
        '  - { socket: /tmp/x.sock, port: 1 }',
        'sites:',
        '  - { name: a, root: nowhere, default: true }',
        '  - { name: "bad name!", default: true }',
        '  - name: c',
        '    mounts: [{ path: x, root: site }]',
        '    handlers: [{ type: module, path: api, module: ./none.mjs }]',
        '',
      ].join('\n'),
    );
    await rejects(
      loadConfig(p),
      {
        code: 'CONFIG_INVALID_VALUE',
        line: 3,
        column: 5,
        path: 'listeners[1]',
        message: /same address as listeners\[0\]/,
      },
      {
        code: 'CONFIG_INVALID_VALUE',
        line: 4,
        column: 7,
        path: 'listeners[2].socket',
        message: /either a socket or a host and port/,
      },
      {
        code: 'CONFIG_INVALID_VALUE',
        line: 6,
        column: 16,
        path: 'sites[0].root',
        message: /directory not found: .*nowhere/,
      },
      {
        code: 'CONFIG_INVALID_VALUE',
        line: 7,
        column: 7,
        path: 'sites[1].name',
        message: /Invalid virtual host name/,
      },
      {
        code: 'CONFIG_INVALID_VALUE',
        line: 7,
        column: 26,
        path: 'sites[1].default',
        message: /only one site can be the default/,
      },
      {
        code: 'CONFIG_INVALID_VALUE',
        line: 9,
        column: 16,
        path: 'sites[2].mounts[0].path',
        message: /must start with "\/"/,
      },
      {
        code: 'CONFIG_INVALID_VALUE',
        line: 10,
        column: 32,
        path: 'sites[2].handlers[0].path',
        message: /starting with "\/" or a glob/,
      },
      {
        code: 'CONFIG_INVALID_VALUE',
        line: 10,
        column: 43,
        path: 'sites[2].handlers[0].module',
        message: /module not found/,
      },
    );
  });
});

describe('every setting in XML and YAML', () => {
  const all = {
    fastcgi: () => () => {},
    cgi: () => () => {},
    proxy: () => () => {},
    access: () => () => {},
    headers: () => () => {},
    redirects: () => () => {},
    rewrites: () => () => {},
    tls: () => ({}),
    http2: () => ({}),
    accessLog: true,
    errorLog: true,
    status: true,
    workers: true,
  };

  it('the two forms of a config using every feature load to the same model', async () => {
    const xml = file(
      '.xml',
      `<Rapid workers="auto" shutdownTimeout="30s">
  <Listen host="::" port="8443" http2="true">
    <Tls cert="cert.pem" key="key.pem" minVersion="TLSv1.3">
      <Sni name="*.example.org" cert="org.pem" key="org-key.pem"/>
    </Tls>
  </Listen>
  <Listen port="8080" h2c="true"/>
  <AccessLog path="stdout" format="json"/>
  <ErrorLog path="stderr" level="warn"/>
  <Status path="/status"><Allow from="127.0.0.1"/><Allow from="10.0.0.0/8"/></Status>
  <Site name="example.com" root="site" redirectToHttps="true">
    <Tls cert="site.pem" key="site-key.pem"/>
    <Hsts maxAge="31536000" includeSubDomains="true"/>
    <ResponseHeaders path="/assets/*">
      <Set name="Cache-Control" value="public, max-age=600"/>
      <Add name="Link" value="&lt;/a.css&gt;; rel=preload"/>
      <Remove name="X-Powered-By"/>
    </ResponseHeaders>
    <Redirect from="^/old/(.*)$" to="/new/$1" status="308"/>
    <Rewrite from="^/app/.*$" to="/index.html"/>
    <Access path="/admin" satisfy="any">
      <Allow from="127.0.0.1"/>
      <Deny from="all"/>
      <Auth realm="Admin" htpasswd="users.htpasswd" users="alice, bob"/>
    </Access>
    <Handler path="*.php" type="fastcgi" address="unix:/run/php.sock" timeout="30s">
      <Param name="APP_ENV" value="prod"/>
    </Handler>
    <Handler path="/cgi-bin" type="cgi" timeout="10s">
      <Interpreter extension=".py" command="/usr/bin/python3"/>
      <Env name="LANG" value="C.UTF-8"/>
    </Handler>
    <Handler path="/api" type="proxy" stripPrefix="/api" connectTimeout="2s">
      <Upstream>http://127.0.0.1:3000</Upstream>
      <Upstream>http://127.0.0.1:3001</Upstream>
      <Headers><Set name="X-From" value="rapid"/><Remove name="Cookie"/></Headers>
    </Handler>
  </Site>
</Rapid>`,
    );
    const yaml = file(
      '.yaml',
      `workers: auto
shutdownTimeout: 30s
listeners:
  - host: '::'
    port: 8443
    http2: true
    tls:
      cert: cert.pem
      key: key.pem
      minVersion: TLSv1.3
      sni: { '*.example.org': { cert: org.pem, key: org-key.pem } }
  - { port: 8080, h2c: true }
accessLog: { path: stdout, format: json }
errorLog: { path: stderr, level: warn }
status: { path: /status, allow: [127.0.0.1, 10.0.0.0/8] }
sites:
  - name: example.com
    root: site
    redirectToHttps: true
    tls: { cert: site.pem, key: site-key.pem }
    hsts: { maxAge: 31536000, includeSubDomains: true }
    headers:
      - path: /assets/*
        set: { Cache-Control: 'public, max-age=600' }
        add: { Link: '</a.css>; rel=preload' }
        remove: [X-Powered-By]
    redirects: [{ from: '^/old/(.*)$', to: '/new/$1', status: 308 }]
    rewrites: [{ from: '^/app/.*$', to: /index.html }]
    access:
      - path: /admin
        satisfy: any
        allow: [127.0.0.1]
        deny: [all]
        auth: { realm: Admin, htpasswd: users.htpasswd, users: [alice, bob] }
    handlers:
      - { path: '*.php', type: fastcgi, address: 'unix:/run/php.sock', timeout: 30s, params: { APP_ENV: prod } }
      - path: /cgi-bin
        type: cgi
        timeout: 10s
        interpreters: { .py: /usr/bin/python3 }
        env: { LANG: C.UTF-8 }
      - path: /api
        type: proxy
        stripPrefix: /api
        connectTimeout: 2s
        upstream: [http://127.0.0.1:3000, http://127.0.0.1:3001]
        headers: { set: { X-From: rapid }, remove: [Cookie] }
`,
    );
    const a = (await loadConfig(xml, { features: all })).config;
    const b = (await loadConfig(yaml, { features: all })).config;
    assert.deepStrictEqual(a, b);
    assert.deepEqual(a.sites[0]!.headers, [
      {
        path: '/assets/*',
        set: { 'Cache-Control': 'public, max-age=600' },
        add: { Link: '</a.css>; rel=preload' },
        remove: ['X-Powered-By'],
      },
    ]);
    assert.deepEqual(a.sites[0]!.handlers[2], {
      type: 'proxy',
      path: '/api',
      upstream: ['http://127.0.0.1:3000', 'http://127.0.0.1:3001'],
      preserveHost: false,
      stripPrefix: '/api',
      connectTimeout: 2000,
      xForwarded: true,
      headers: { set: { 'X-From': 'rapid' }, remove: ['Cookie'] },
      websocket: true,
    });
    assert.deepEqual(a.sites[0]!.redirects, [{ from: '^/old/(.*)$', to: '/new/$1', status: 308 }]);
    assert.equal(a.workers, 'auto');
    assert.deepEqual(a.listeners[0]!.tls!.sni, {
      '*.example.org': { cert: 'org.pem', key: 'org-key.pem' },
    });
  });
});
