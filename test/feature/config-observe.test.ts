/**
 * Logging and the status endpoint from a config file, through startFromConfig(): the server-wide
 * and per-site access logs (one writer for two listeners), the error log, the status endpoint,
 * reopening logs, reloads that change or turn on the logs (also for HTTP/2 on h2c, both engines),
 * and a bad log path refused at start.
 */
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError } from '../../src/config/issues.js';
import { startFromConfig, type ConfigServer } from '../../src/config/start.js';
import { eventually, get } from '../helpers/cli-child.js';
import { run } from '../helpers/tls.js';

const dir = mkdtempSync(join(tmpdir(), 'rapid-config-observe-'));
after(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'site'));
writeFileSync(join(dir, 'site', 'index.html'), 'home\n');
writeFileSync(
  join(dir, 'fail.mjs'),
  "export default (req, res) => { throw new Error('boom in ' + req.path); };\n",
);

function yaml(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const lines = (f: string): string[] =>
  existsSync(f)
    ? readFileSync(f, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
    : [];

const SITES = `sites:
  - name: a.test
    root: ./site
    accessLog: { path: ./logs/a.log, format: json }
    handlers:
      - { type: module, path: /fail, module: ./fail.mjs }
  - name: b.test
    root: ./site
`;

describe('config: logs and status', () => {
  it('access logs per server and per site, error log, status, reopen, reload', async () => {
    mkdirSync(join(dir, 'logs'), { recursive: true });
    const file = yaml(
      'rapid.yaml',
      `listeners:
  - { host: 127.0.0.1, port: 0 }
  - { host: 127.0.0.1, port: 0 }
accessLog: { path: ./logs/access.log, format: common }
errorLog: { path: ./logs/error.log, level: info }
status: { path: /server-status, allow: [127.0.0.1] }
${SITES}`,
    );
    let app: ConfigServer | undefined;
    try {
      app = await startFromConfig(file);
      const [p1, p2] = app.listeners.map((l) => l.server.port) as [number, number];
      assert.equal((await get(p1, '/', 'a.test')).body, 'home\n');
      assert.equal((await get(p2, '/', 'b.test')).status, 200);
      assert.equal((await get(p1, '/', 'b.test:8080')).status, 200);
      assert.equal((await get(p2, '/fail', 'a.test')).status, 500);
      const status = await get(p1, '/server-status');
      assert.equal(status.status, 200);
      assert.match(status.body, /rapid_requests_total\{site="b\.test",class="2xx"\} 2/);
      assert.match(status.body, /rapid_requests_total\{site="a\.test",class="5xx"\} 1/);

      const access = join(dir, 'logs', 'access.log');
      const a = join(dir, 'logs', 'a.log');
      const errors = join(dir, 'logs', 'error.log');
      await eventually(async () => lines(access).length >= 2 && lines(a).length >= 2, 'the logs');
      // b.test (both listeners, one file) in the server-wide log; a.test in its own, as JSON.
      assert.equal(lines(access).filter((l) => /"GET \/ HTTP\/1\.1" 200 5$/.test(l)).length, 2);
      const aLines = lines(a).map((l) => JSON.parse(l) as { host: string; status: number });
      assert.deepEqual(
        aLines.map((l) => [l.host, l.status]),
        [
          ['a.test', 200],
          ['a.test', 500],
        ],
      );
      await eventually(async () => /boom in \/fail/.test(lines(errors).join('\n')), 'error log');

      // logrotate: rename, reopen, new lines in a new file.
      renameSync(access, `${access}.1`);
      await app.reopenLogs();
      assert.equal((await get(p1, '/', 'b.test')).status, 200);
      await eventually(async () => lines(access).length === 1, 'the reopened log');

      // A reload with another format writes the new format from the next request on.
      yaml('rapid.yaml', readFileSync(file, 'utf8').replace('format: common', 'format: combined'));
      await app.reload();
      assert.equal((await get(p2, '/', 'b.test')).status, 200);
      await eventually(
        async () => lines(access).some((l) => /" 200 5 "-" "-"$/.test(l)),
        'a combined line',
      );

      // A bad log path is refused; the old config keeps serving and logging.
      const good = readFileSync(file, 'utf8');
      yaml('rapid.yaml', good.replace('./logs/access.log', './site'));
      await assert.rejects(app.reload(), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.detail, /rapid\.yaml:\d+:\d+: accessLog: /);
        return true;
      });
      const before = lines(access).length;
      assert.equal((await get(p1, '/', 'b.test')).status, 200);
      await eventually(async () => lines(access).length === before + 1, 'still logging');
    } finally {
      await app?.close();
    }
  });

  it('a reload can turn the access log on', async () => {
    const file = yaml(
      'later.yaml',
      `listeners:\n  - { host: 127.0.0.1, port: 0 }\nsites:\n  - { name: b.test, root: ./site }\n`,
    );
    let app: ConfigServer | undefined;
    try {
      app = await startFromConfig(file);
      const port = app.listeners[0]!.server.port;
      assert.equal((await get(port, '/', 'b.test')).status, 200);
      assert.equal((await get(port, '/server-status')).status, 404);
      // Off means off: no response observer on the listener (the plain request path).
      const server = app.listeners[0]!.server;
      assert.equal(server.h1?.onResponse ?? null, null);
      yaml(
        'later.yaml',
        `${readFileSync(file, 'utf8')}accessLog: { path: ./logs/later.log }\nstatus: {}\n`,
      );
      await app.reload();
      assert.equal(typeof server.h1?.onResponse, 'function');
      assert.equal((await get(port, '/', 'b.test')).status, 200);
      const log = join(dir, 'logs', 'later.log');
      await eventually(async () => lines(log).length === 1, 'the new log');
      assert.match((await get(port, '/server-status')).body, /site="b\.test",class="2xx"\} 1/);
    } finally {
      await app?.close();
    }
  });

  for (const engine of ['rapid', 'node'] as const) {
    it(`a reload that turns the access log on reaches new h2c connections (${engine} engine)`, async () => {
      const name = `later-h2-${engine}.yaml`;
      const file = yaml(
        name,
        `listeners:\n  - { host: 127.0.0.1, port: 0, h2c: true, http2Engine: ${engine} }\n` +
          `sites:\n  - { name: b.test, root: ./site }\n`,
      );
      const log = join(dir, 'logs', `later-h2-${engine}.log`);
      const h2get = async (port: number): Promise<string> => {
        const r = await run('curl', [
          '-s',
          '--http2-prior-knowledge',
          '-H',
          'Host: b.test',
          '-w',
          ' %{http_version} %{http_code}',
          `http://127.0.0.1:${port}/`,
        ]);
        assert.equal(r.code, 0, r.stderr);
        return r.stdout;
      };
      let app: ConfigServer | undefined;
      try {
        app = await startFromConfig(file);
        const server = app.listeners[0]!.server;
        assert.equal(await h2get(server.port), 'home\n 2 200');
        assert.equal(server.h2?.onResponse ?? null, null, 'no observer while off');
        yaml(
          name,
          `${readFileSync(file, 'utf8')}accessLog: { path: ./logs/later-h2-${engine}.log }\n`,
        );
        await app.reload();
        assert.equal(typeof server.h2?.onResponse, 'function');
        assert.equal(await h2get(server.port), 'home\n 2 200');
        await eventually(async () => lines(log).length === 1, 'the new log');
        assert.match(lines(log)[0]!, /"GET \/ HTTP\/2\.0" 200 5$/);
      } finally {
        await app?.close();
      }
    });
  }

  it('a log that cannot be opened is refused at start with file:line', async () => {
    const file = yaml(
      'bad.yaml',
      `listeners:\n  - { host: 127.0.0.1, port: 0 }\nerrorLog: { path: ./logs }\nsites:\n  - { name: b.test, root: ./site }\n`,
    );
    await assert.rejects(startFromConfig(file), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.detail, /bad\.yaml:3:\d+: errorLog: /);
      return true;
    });
  });
});
