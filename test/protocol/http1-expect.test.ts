// Expect (RFC 9110 §10.1.1): 100 Continue only once the handler reads the body; a handler that
// answers without reading closes the connection (the body may still be on its way); any other
// expectation is answered with 417.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { RawClient, exchange, req, turns } from '../helpers/raw.js';
import { startServer } from '../helpers/server.js';

const run = promisify(execFile);

test('100 Continue is sent when the handler first reads the body, not before', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let entered!: () => void;
  const inHandler = new Promise<void>((r) => (entered = r));
  const s = await startServer(
    async (rq, res) => {
      entered();
      await gate;
      res.send(`got ${await rq.text()}`);
    },
    { t },
  );
  const c = await RawClient.connect(s.port);
  await c.send('POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
  await inHandler;
  await turns(20);
  assert.equal(c.received.length, 0, 'nothing (no 100) before the handler reads the body');
  release();
  await c.until((x) => x.responses.length >= 1, '100 Continue');
  assert.equal(c.responses[0]!.status, 100);
  assert.equal(c.reader.finalCount, 0);
  await c.send('hello');
  const [r] = await c.waitResponses(1);
  assert.equal(r!.status, 200);
  assert.equal(r!.text(), 'got hello');
  // The body was read: the connection stays usable.
  assert.equal(r!.header('connection'), undefined);
  await c.send(req('GET', '/next'));
  await c.waitResponses(2);
  c.destroy();
});

test('a stream() reader also triggers 100 Continue', async (t) => {
  const s = await startServer(
    async (rq, res) => {
      let n = 0;
      for await (const chunk of rq.stream()) n += (chunk as Buffer).length;
      res.send(String(n));
    },
    { t },
  );
  const c = await RawClient.connect(s.port);
  await c.send(
    'PUT /up HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nTransfer-Encoding: chunked\r\n\r\n',
  );
  await c.until((x) => x.responses.length >= 1, '100 Continue');
  assert.equal(c.responses[0]!.status, 100);
  await c.send('3\r\nabc\r\n0\r\n\r\n');
  const [r] = await c.waitResponses(1);
  assert.equal(r!.text(), '3');
  c.destroy();
});

test('a handler that answers without reading: no 100, and the connection closes after the response', async (t) => {
  let calls = 0;
  const s = await startServer(
    (_rq, res) => {
      calls++;
      res.status(401).send('no');
    },
    { t },
  );
  const c = await RawClient.connect(s.port);
  await c.send(
    'POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 100\r\n\r\n',
  );
  await c.waitClose();
  assert.equal(c.responses.length, 1);
  assert.equal(c.responses[0]!.status, 401);
  assert.equal(c.responses[0]!.header('connection'), 'close');
  assert.ok(!c.received.toString('latin1').includes('100 Continue'));
  assert.equal(calls, 1);
});

test('an expectation other than 100-continue: 417, the handler is not called, the connection closes', async (t) => {
  let calls = 0;
  const s = await startServer(
    (_rq, res) => {
      calls++;
      res.send('x');
    },
    { t },
  );
  for (const value of ['200-ok', '100-continue-please', 'x']) {
    const { client, responses } = await exchange(
      s.port,
      Buffer.concat([req('POST', '/', { Expect: value }, 'abc'), req('GET', '/after')]),
    );
    assert.equal(responses.length, 1, value);
    assert.equal(responses[0]!.status, 417, value);
    assert.ok(client.closed);
  }
  assert.equal(calls, 0);
});

test('HTTP/1.0: Expect: 100-continue is ignored (RFC 9110 §10.1.1)', async (t) => {
  const s = await startServer(async (rq, res) => res.send(await rq.text()), { t });
  const { responses, client } = await exchange(
    s.port,
    'POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi',
  );
  assert.deepEqual(
    responses.map((r) => r.status),
    [200],
  );
  assert.equal(client.responses.length, 1, 'no interim response');
  assert.equal(responses[0]!.text(), 'hi');
});

test('curl with Expect: 100-continue uploads a file', async (t) => {
  const s = await startServer(async (rq, res) => res.send(`${(await rq.body()).length}`), {
    t,
    limits: { maxBodyBytes: 2 * 1024 * 1024 },
  });
  const dir = mkdtempSync(join(tmpdir(), 'rapid-expect-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'up.bin');
  writeFileSync(file, Buffer.alloc(1_500_000, 7));
  const { stdout, stderr } = await run('curl', [
    '-sS',
    '-v',
    // A long wait, so the upload only starts because the 100 arrived.
    '--expect100-timeout',
    '30',
    '-H',
    'Expect: 100-continue',
    '--data-binary',
    `@${file}`,
    `${s.origin}/up`,
  ]);
  assert.equal(stdout, '1500000');
  assert.match(stderr, /HTTP\/1\.1 100 Continue/);
});
