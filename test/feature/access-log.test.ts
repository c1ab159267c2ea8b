/**
 * The access log on real sockets: the exact line of each format (common, combined, json), per-site
 * logs chosen by Host, engine answers to unparsable requests, HEAD without a body, reopen after a
 * rename (in process and through SIGUSR1 to a cluster), the bounded buffer, the flush at exit, and
 * the error log's levels.
 */
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createErrorLog, LineWriter } from '../../src/features/log/index.js';
import { serve } from '../../src/server/server.js';
import { get, startCluster } from '../helpers/cluster-child.js';
import { withServer } from '../helpers/log-server.js';
import { rawExchange, request } from '../helpers/static-site.js';

const dir = mkdtempSync(join(tmpdir(), 'rapid-log-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (): string => join(dir, `access-${++n}.log`);

const TS = /\[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]/;

const lines = (path: string): string[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
const UA = 'curl/8.0 "quoted"';
const HEADERS = { Referer: 'http://example.com/from', 'User-Agent': UA };

describe('access log', () => {
  it('common format, exact text', async () => {
    const path = file();
    await withServer({ accessLog: { path, format: 'common' } }, async (port) => {
      await request(port, '/a?b=1', HEADERS);
      await request(port, '/a', {}, 'HEAD');
    });
    const [a, b] = lines(path);
    assert.equal(a!.replace(TS, '[T]'), '127.0.0.1 - - [T] "GET /a?b=1 HTTP/1.1" 200 5');
    assert.equal(b!.replace(TS, '[T]'), '127.0.0.1 - - [T] "HEAD /a HTTP/1.1" 200 -');
  });

  it('combined format, exact text with escaped quotes', async () => {
    const path = file();
    const quiet = { onError: () => undefined };
    await withServer({ accessLog: { path, format: 'combined' }, ...quiet }, async (port) => {
      await request(port, '/x', HEADERS);
      await request(port, '/fail', {});
    });
    const [a, b] = lines(path);
    assert.equal(
      a!.replace(TS, '[T]'),
      '127.0.0.1 - - [T] "GET /x HTTP/1.1" 200 5 "http://example.com/from" "curl/8.0 \\"quoted\\""',
    );
    assert.equal(b!.replace(TS, '[T]'), '127.0.0.1 - - [T] "GET /fail HTTP/1.1" 500 22 "-" "-"');
  });

  it('json format, exact text', async () => {
    const path = file();
    await withServer({ accessLog: { path, format: 'json' } }, async (port) => {
      await request(port, '/j', HEADERS);
    });
    const [line] = lines(path);
    const o = JSON.parse(line!) as Record<string, unknown>;
    assert.match(String(o.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(typeof o.duration_ms, 'number');
    assert.equal(typeof o.bytes, 'number');
    assert.equal(
      line!
        .replace(/"time":"[^"]+"/, '"time":"T"')
        .replace(/"duration_ms":[\d.e-]+/, '"duration_ms":0')
        .replace(/"bytes":\d+/, '"bytes":0'),
      '{"time":"T","remote":"127.0.0.1","host":"127.0.0.1","method":"GET","target":"/j",' +
        '"protocol":"HTTP/1.1","status":200,"bytes":0,"body_bytes":5,"duration_ms":0,' +
        '"referer":"http://example.com/from","user_agent":"curl/8.0 \\"quoted\\""}',
    );
  });

  it('json format: UTF-8 fields come out as text, other bytes as \\u00XX, always valid UTF-8', async () => {
    const path = file();
    const utf8 = (t: string): string => Buffer.from(t, 'utf8').toString('latin1');
    const send = (agent: string, referer: string) =>
      Buffer.from(
        `GET /u HTTP/1.1\r\nHost: a\r\nUser-Agent: ${agent}\r\nReferer: ${referer}\r\nConnection: close\r\n\r\n`,
        'latin1',
      );
    await withServer({ accessLog: { path, format: 'json' } }, async (port) => {
      // valid UTF-8 (2, 3 and 4 bytes); a lone latin1 é (0xe9) and a truncated sequence
      await rawExchange(port, send(utf8('café ✓ 𝄞'), utf8('https://ex.test/ü')));
      await rawExchange(port, send('caf\xe9', `${utf8('ok ü')}\xe2\x9c`));
    });
    const raw = readFileSync(path);
    assert.ok(isUtf8(raw), 'the file is valid UTF-8');
    const [a, b] = lines(path);
    assert.ok(a!.includes('"user_agent":"café ✓ 𝄞"'), a);
    assert.ok(a!.includes('"referer":"https://ex.test/ü"'), a);
    assert.ok(b!.includes('"user_agent":"caf\\u00e9"'), b);
    assert.ok(b!.includes('"referer":"ok \\u00c3\\u00bc\\u00e2\\u009c"'), b);
    const o = JSON.parse(b!) as Record<string, string>;
    assert.equal(o.user_agent, 'caf\u00e9');
  });

  it('logs the engine’s own answers (a malformed request) with "-" for the request line', async () => {
    const path = file();
    await withServer({ accessLog: { path, format: 'common' } }, async (port) => {
      await rawExchange(port, 'GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n');
    });
    const [a] = lines(path);
    assert.match(a!, /^127\.0\.0\.1 - - \[.*\] "-" 400 \d+$/);
  });

  it('one log per site, chosen by Host; others go to the default', async () => {
    const a = file();
    const b = file();
    await withServer(
      {
        accessLog: [
          { path: a, format: 'common', hosts: ['a.test', '*.a.test'] },
          { path: b, format: 'common' },
        ],
      },
      async (port) => {
        for (const host of ['a.test:8080', 'www.a.test', 'other.test']) {
          const res = await rawExchange(
            port,
            `GET /2 HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
          );
          assert.match(res.toString(), /^HTTP\/1\.1 200/);
        }
      },
    );
    assert.equal(lines(a).length, 2);
    assert.deepEqual(
      lines(b).map((l) => l.replace(TS, '[T]')),
      ['127.0.0.1 - - [T] "GET /2 HTTP/1.1" 200 5'],
    );
  });

  it('reopen() after a rename writes to a new file (logrotate)', async () => {
    const path = file();
    const server = await serve({
      port: 0,
      host: '127.0.0.1',
      handler: (_q, r) => r.send('ok'),
      accessLog: { path, format: 'common' },
    });
    try {
      await request(server.port, '/before');
      await server.observability!.accessLog!.flush();
      renameSync(path, `${path}.1`);
      await server.reopenLogs();
      await request(server.port, '/after');
    } finally {
      await server.close(2000);
    }
    assert.match(lines(`${path}.1`).join('\n'), /"GET \/before HTTP\/1\.1" 200 2$/);
    assert.equal(lines(`${path}.1`).length, 1);
    assert.match(lines(path).join('\n'), /"GET \/after HTTP\/1\.1" 200 2$/);
    assert.equal(lines(path).length, 1);
  });

  it('SIGUSR1 to the primary reopens every worker’s log', { timeout: 120_000 }, async () => {
    const path = file();
    const c = await startCluster({ WORKERS: '2', ACCESS_LOG: path, ACCESS_FORMAT: 'common' });
    try {
      for (let i = 0; i < 10; i++) assert.equal((await get(c.port, '/pid', false)).status, 200);
      // The lines are written asynchronously: wait until all ten are in the file.
      for (let i = 0; i < 200 && (!existsSync(path) || lines(path).length < 10); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(lines(path).length, 10);
      renameSync(path, `${path}.1`);
      c.child.kill('SIGUSR1');
      // Keep sending until both workers write to the new file (bounded).
      const pids = new Set<string>();
      for (let i = 0; i < 400 && pids.size < 2; i++) {
        await get(c.port, '/pid', false);
        if (existsSync(path)) for (const l of lines(path)) pids.add(l);
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.ok(existsSync(path), 'a new file was opened');
      assert.equal(lines(`${path}.1`).length >= 10, true);
      assert.ok(lines(path).length >= 2);
    } finally {
      await c.stop();
    }
  });
});

describe('log writer', () => {
  it('drops and counts lines past the buffer bound instead of growing', async () => {
    const path = file();
    const w = await LineWriter.open(path, { maxBufferBytes: 100 });
    for (let i = 0; i < 20; i++) w.write(`${'x'.repeat(19)}\n`); // 20 bytes each, 5 fit
    await w.close();
    assert.equal(lines(path).length, 5);
    assert.equal(w.dropped, 15);
  });

  it('what is buffered at process.exit() is written', () => {
    const path = file();
    const script = `
      import { LineWriter } from ${JSON.stringify(new URL('../../src/features/log/writer.js', import.meta.url).href)};
      const w = await LineWriter.open(${JSON.stringify(path)});
      for (let i = 0; i < 1000; i++) w.write('line ' + i + '\\n');
      process.exit(0);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(lines(path).length, 1000);
  });
});

describe('error log', () => {
  it('writes JSON lines at and above its level, and reopens', async () => {
    const path = join(dir, 'error.log');
    const log = createErrorLog({ path, level: 'warn' });
    log.info('not written');
    log.warn('careful', { worker: 1 });
    log.error('broken');
    log.close();
    await new Promise((r) => setTimeout(r, 100));
    const got = lines(path).map(
      (l) => JSON.parse(l) as { level: number; msg: string; worker?: number },
    );
    assert.deepEqual(
      got.map((g) => [g.level, g.msg]),
      [
        [40, 'careful'],
        [50, 'broken'],
      ],
    );
    assert.equal(got[0]!.worker, 1);
  });

  it('rejects a bad level with a catalog error', () => {
    assert.throws(() => createErrorLog({ level: 'loud' as 'info' }), {
      code: 'RAPID_ERR_LOG_INVALID_OPTION',
    });
  });

  it('serve({ errorLog }) records handler failures there', async () => {
    const path = join(dir, 'errors-2.log');
    await withServer({ errorLog: { path, level: 'error' } }, async (port) => {
      assert.equal((await request(port, '/fail')).status, 500);
    });
    await new Promise((r) => setTimeout(r, 100));
    const [e] = lines(path).map(
      (l) => JSON.parse(l) as { msg: string; url: string; err: { message: string } },
    );
    assert.equal(e!.msg, 'handler failed');
    assert.equal(e!.url, '/fail');
    assert.equal(e!.err.message, 'boom');
  });
});
