// Repeated requests and responses (the parser's repeated-head shortcut, the response's last-head
// and head+body reuse): pipelines of identical requests, answers that differ from the previous
// one in a single input (status, one header value, length, Connection: close, HTTP/1.0, HEAD),
// and a header value check that cannot be skipped by an earlier valid value of the same length.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exchange, req } from '../helpers/raw.js';
import { startServer } from '../helpers/server.js';

test('32 identical pipelined requests: 32 identical, complete answers; their headers are intact', async (t) => {
  const seen: string[] = [];
  const s = await startServer(
    (rq, res) => {
      seen.push(`${rq.method} ${rq.url} ${rq.header('accept')} ${rq.headers['host']}`);
      res.setHeader('Server', 'Rapid');
      res.setHeader('Content-Type', 'text/plain');
      res.send('Hello, World!');
    },
    { t },
  );
  const one = req('GET', '/plaintext', { Accept: 'text/plain', Connection: 'keep-alive' });
  const { client, responses } = await exchange(s.port, Buffer.concat(Array(32).fill(one)), {
    responses: 32,
  });
  assert.equal(responses.length, 32);
  for (const r of responses) {
    assert.equal(r.status, 200);
    assert.equal(r.text(), 'Hello, World!');
    assert.equal(r.header('content-length'), '13');
    assert.equal(r.header('server'), 'Rapid');
    assert.equal(r.all('date').length, 1);
    assert.equal(r.header('connection'), undefined);
  }
  assert.deepEqual(seen, Array(32).fill('GET /plaintext text/plain test'));
  client.destroy();
});

test('each answer differing from the previous in one input gets its own head', async (t) => {
  const s = await startServer(
    (rq, res) => {
      res.setHeader('Server', 'Rapid');
      const p = rq.path;
      if (p === '/type') res.setHeader('Content-Type', 'text/html');
      else res.setHeader('Content-Type', 'text/plain');
      if (p === '/status') res.status(201);
      if (p === '/close') res.setHeader('Connection', 'close');
      res.send(p === '/long' ? 'Hello, World!!' : 'Hello, World!');
    },
    { t },
  );
  const paths = ['/a', '/a', '/type', '/a', '/status', '/a', '/long', '/a', '/b', '/b'];
  const batch = Buffer.concat([
    ...paths.map((p) => req('GET', p)),
    req('HEAD', '/a'),
    req('GET', '/a', {}, undefined, '1.0'),
    req('GET', '/a'),
  ]);
  const { client, responses } = await exchange(s.port, batch, {
    isHead: (i) => i === paths.length,
  });
  // HTTP/1.0 without keep-alive ends the connection: the request after it is never answered.
  assert.equal(responses.length, paths.length + 2);
  const types = responses.map((r) => r.header('content-type'));
  assert.equal(types[2], 'text/html');
  assert.equal(types[3], 'text/plain');
  assert.deepEqual(
    responses.map((r) => r.status),
    [200, 200, 200, 200, 201, 200, 200, 200, 200, 200, 200, 200],
  );
  assert.equal(responses[6]?.header('content-length'), '14');
  assert.equal(responses[7]?.header('content-length'), '13');
  assert.equal(s.errors.length, 0);
  const head = responses[paths.length] as (typeof responses)[0];
  assert.equal(head.header('content-length'), '13');
  assert.equal(head.body.length, 0);
  assert.equal(responses[paths.length + 1]?.header('connection'), 'close');
  assert.equal(responses[paths.length - 1]?.header('connection'), undefined);
  client.destroy();
});

test('HTTP/1.0 keep-alive, then Connection: close from the handler, after repeats', async (t) => {
  const s = await startServer(
    (rq, res) => {
      res.setHeader('Content-Type', 'text/plain');
      if (rq.path === '/close') res.setHeader('Connection', 'close');
      res.send('ok');
    },
    { t },
  );
  const k10 = req('GET', '/a', { Connection: 'keep-alive' }, undefined, '1.0');
  const batch = Buffer.concat([req('GET', '/a'), req('GET', '/a'), k10, k10, req('GET', '/close')]);
  const { responses } = await exchange(s.port, batch);
  assert.deepEqual(
    responses.map((r) => r.header('connection') ?? '-'),
    ['-', '-', 'keep-alive', 'keep-alive', 'close'],
  );
});

test('an invalid header value is refused even after a valid one of the same length', async (t) => {
  const s = await startServer(
    (rq, res) => {
      res.setHeader('X-V', rq.path === '/bad' ? 'abc\r\nde' : 'abcdefgh');
      res.send('ok');
    },
    { t },
  );
  const batch = Buffer.concat([req('GET', '/good'), req('GET', '/good'), req('GET', '/bad')]);
  const { client, responses } = await exchange(s.port, batch, { responses: 3 });
  assert.deepEqual(
    responses.map((r) => r.status),
    [200, 200, 500],
  );
  assert.equal(responses[2]?.header('x-v'), undefined);
  assert.equal((s.errors[0]?.err as { code?: string }).code, 'RAPID_ERR_INVALID_HEADER');
  client.destroy();
});

test('prepared responses (head and body kept as one buffer) stay exact whatever differs', async (t) => {
  const a = {
    status: 200,
    headerBlock: 'Content-Type: text/plain\r\nX-P: a\r\n',
    body: Buffer.from('A'.repeat(1500)),
  };
  const b = {
    status: 200,
    headerBlock: 'Content-Type: text/html\r\nX-P: b\r\n',
    body: Buffer.from('<b>' + 'B'.repeat(900)),
  };
  const s = await startServer(
    (rq, res) => {
      const p = rq.path;
      if (p === '/extra') res.setHeader('X-Extra', 'yes');
      if (p === '/close') res.setHeader('Connection', 'close');
      res.sendPrepared(p === '/b' ? b : a);
    },
    { t },
  );
  const batch = Buffer.concat([
    req('GET', '/a'),
    req('GET', '/b'),
    req('GET', '/a'),
    req('GET', '/extra'),
    req('GET', '/a'),
    req('HEAD', '/a'),
    req('GET', '/b', { Connection: 'keep-alive' }, undefined, '1.0'),
    req('GET', '/b'),
    req('GET', '/close'),
  ]);
  const { client, responses } = await exchange(s.port, batch, {
    isHead: (i) => i === 5,
    responses: 9,
  });
  client.destroy();
  assert.deepEqual(
    responses.map((r) => [
      r.header('x-p'),
      r.header('x-extra') ?? '-',
      r.header('connection') ?? '-',
      r.header('content-length'),
      r.body.length,
    ]),
    [
      ['a', '-', '-', '1500', 1500],
      ['b', '-', '-', '903', 903],
      ['a', '-', '-', '1500', 1500],
      ['a', 'yes', '-', '1500', 1500],
      ['a', '-', '-', '1500', 1500],
      ['a', '-', '-', '1500', 0],
      ['b', '-', 'keep-alive', '903', 903],
      ['b', '-', '-', '903', 903],
      ['a', '-', 'close', '1500', 1500],
    ],
  );
  for (const [i, r] of responses.entries()) {
    if (i !== 5)
      assert.equal(r.text(), r.header('x-p') === 'a' ? a.body.toString() : b.body.toString());
    assert.equal(r.all('date').length, 1);
  }
});

test('a prepared response sent again in a later second carries the new Date', async (t) => {
  const p = {
    status: 200,
    headerBlock: 'Content-Type: text/plain\r\n',
    body: Buffer.from('x'.repeat(100)),
  };
  const s = await startServer((_rq, res) => res.sendPrepared(p), { t });
  const get = async (): Promise<string | undefined> => {
    const { client, responses } = await exchange(s.port, req('GET', '/'), { responses: 1 });
    client.destroy();
    return responses[0]?.header('date');
  };
  const first = await get();
  let later = first;
  // The Date header changes once a second; poll until it has (a few seconds at most).
  for (let i = 0; i < 50 && later === first; i++) {
    await new Promise((r) => setTimeout(r, 100));
    later = await get();
  }
  assert.notEqual(later, first);
  assert.ok(Date.parse(later as string) > Date.parse(first as string));
});
