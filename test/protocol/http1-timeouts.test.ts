// Timeouts with small limits and a fast sweep; the assertions are on outcomes (status, close,
// what was or was not received), not on durations.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { setSweepResolution } from '../../src/util/clock.js';
import { RawClient, eventually, req } from '../helpers/raw.js';
import { startServer } from '../helpers/server.js';

before(() => setSweepResolution(50));
after(() => setSweepResolution(500));

/** Send `bytes` one at a time, `ms` apart, until done or the connection closes. */
async function trickle(c: RawClient, bytes: string, ms: number): Promise<number> {
  let sent = 0;
  for (const ch of bytes) {
    if (c.closed || c.ended) break;
    await c.send(ch);
    sent++;
    await sleep(ms);
  }
  return sent;
}

test('slowloris: a head that trickles in gets 408 at headersTimeout and the connection closes', async (t) => {
  let calls = 0;
  const s = await startServer(
    (_rq, res) => {
      calls++;
      res.send('x');
    },
    { t, limits: { headersTimeout: 300 } },
  );
  const c = await RawClient.connect(s.port);
  const head = `GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(200)}\r\n\r\n`;
  const sent = await trickle(c, head, 50);
  await c.waitClose();
  assert.ok(sent < head.length, 'closed before the head was complete');
  assert.equal(c.finals.length, 1);
  assert.equal(c.finals[0]!.status, 408);
  assert.equal(c.finals[0]!.header('connection'), 'close');
  assert.equal(calls, 0);
});

test('the headers timeout also covers the next request on a keep-alive connection', async (t) => {
  const s = await startServer((_rq, res) => res.send('x'), {
    t,
    limits: { headersTimeout: 300, keepAliveTimeout: 10_000 },
  });
  const c = await RawClient.connect(s.port);
  await c.send(req('GET', '/first'));
  await c.waitResponses(1);
  await trickle(c, `GET /second HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(200)}\r\n\r\n`, 50);
  await c.waitClose();
  assert.deepEqual(
    c.finals.map((r) => r.status),
    [200, 408],
  );
});

test('a connection that sends nothing is closed (no response) after headersTimeout', async (t) => {
  const s = await startServer((_rq, res) => res.send('x'), { t, limits: { headersTimeout: 300 } });
  const c = await RawClient.connect(s.port);
  await c.waitClose();
  assert.equal(c.received.length, 0);
  assert.equal(c.resetError, null, 'closed cleanly, not reset');
});

test('an idle keep-alive connection is closed after keepAliveTimeout, without a response', async (t) => {
  const s = await startServer((_rq, res) => res.send('x'), {
    t,
    limits: { keepAliveTimeout: 300, headersTimeout: 10_000 },
  });
  const c = await RawClient.connect(s.port);
  await c.send(req('GET', '/'));
  await c.waitResponses(1);
  await c.waitClose();
  assert.equal(c.responses.length, 1, 'nothing but the one response');
  assert.equal(c.reader.rest.length, 0);
  await eventually(() => s.server.connections === 0, 'the server to drop the connection');
});

test('a body that stops arriving: 408 at bodyTimeout, whether or not the handler reads it', async (t) => {
  const outcomes: string[] = [];
  const s = await startServer(
    async (rq, res) => {
      if (rq.path === '/read') {
        try {
          await rq.body();
        } catch (err) {
          outcomes.push((err as { code: string }).code);
          throw err;
        }
        res.send('read');
      }
      // /ignore: waits for nothing and never answers; the body timeout answers for it
    },
    { t, limits: { bodyTimeout: 300, responseTimeout: 60_000 } },
  );
  for (const path of ['/read', '/ignore']) {
    const c = await RawClient.connect(s.port);
    await c.send(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789`);
    await c.waitClose();
    assert.equal(c.finals.length, 1, path);
    assert.equal(c.finals[0]!.status, 408, path);
    assert.equal(c.finals[0]!.header('connection'), 'close', path);
  }
  assert.deepEqual(outcomes, ['RAPID_ERR_HTTP1_BODY_TIMEOUT']);
});

test('a slow body that keeps making progress is not timed out (the body timeout is per progress)', async (t) => {
  const s = await startServer(async (rq, res) => res.send(await rq.text()), {
    t,
    limits: { bodyTimeout: 300 },
  });
  const c = await RawClient.connect(s.port);
  const body = 'abcdefghij';
  await c.send(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`);
  // 10 bytes, 100 ms apart: 1 s in all, over three times the timeout, with progress each time.
  await trickle(c, body, 100);
  const [r] = await c.waitResponses(1);
  assert.equal(r!.status, 200);
  assert.equal(r!.text(), body);
  c.destroy();
});

test(
  'a body stalled behind a slow pipelined response does not break the connection',
  { timeout: 10_000 },
  async (t) => {
    // One deadline slot serves the response and body timeouts; a body that completes while an
    // earlier response is still pending must hand the slot back to the response timeout.
    const s = await startServer(
      async (rq, res) => {
        if (rq.path === '/slow') await sleep(700);
        res.send(`${rq.url}:${(await rq.body()).length}`);
      },
      { t, limits: { bodyTimeout: 300, responseTimeout: 5000, keepAliveTimeout: 10_000 } },
    );
    const c = await RawClient.connect(s.port);
    await c.send(
      Buffer.concat([req('GET', '/slow'), req('POST', '/post', {}, 'body'), req('GET', '/third')]),
    );
    const first = await c.waitResponses(3);
    assert.deepEqual(
      first.map((r) => r.text()),
      ['/slow:0', '/post:4', '/third:0'],
    );
    // The connection still takes requests.
    await c.send(req('GET', '/fourth'));
    const all = await c.waitResponses(4);
    assert.equal(all[3]!.text(), '/fourth:0');
    c.destroy();
  },
);

test(
  'a stuck handler still times out when a request with a body is pipelined behind it',
  { timeout: 10_000 },
  async (t) => {
    const s = await startServer(
      async (rq, res) => {
        if (rq.path === '/stuck') return; // never answers
        res.send(await rq.text());
      },
      { t, limits: { responseTimeout: 300, bodyTimeout: 60_000 } },
    );
    const c = await RawClient.connect(s.port);
    await c.send(Buffer.concat([req('GET', '/stuck'), req('POST', '/post', {}, 'body')]));
    await c.waitClose();
    assert.deepEqual(
      c.finals.map((r) => r.status),
      [503],
    );
  },
);
