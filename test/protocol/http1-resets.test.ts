// Clients that reset (TCP RST) mid-request, mid-body, mid-response and mid-pipeline, hundreds of
// times, while another client keeps getting correct responses; afterwards nothing is left over.
import assert from 'node:assert/strict';
import type net from 'node:net';
import { test } from 'node:test';
import { Pool } from 'undici';
import { RawClient, eventually, req } from '../helpers/raw.js';
import { startServer } from '../helpers/server.js';

const BIG_CHUNK = Buffer.alloc(16 * 1024, 'b');

function reset(socket: net.Socket): void {
  // Node >= 20 (16.17): abort with RST instead of FIN.
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

test(
  'hundreds of resets mid-request and mid-response while another client is served',
  { timeout: 60_000 },
  async (t) => {
    const problems: unknown[] = [];
    const onProblem = (err: unknown): void => void problems.push(err);
    process.on('unhandledRejection', onProblem);
    process.on('uncaughtException', onProblem);
    process.on('warning', onProblem);
    t.after(() => {
      process.off('unhandledRejection', onProblem);
      process.off('uncaughtException', onProblem);
      process.off('warning', onProblem);
    });
    const listenersBefore = ['unhandledRejection', 'uncaughtException', 'warning', 'exit'].map(
      (e) => process.listenerCount(e),
    );

    let inFlight = 0;
    const s = await startServer(
      async (rq, res) => {
        inFlight++;
        try {
          if (rq.path === '/body') {
            const body = await rq.body();
            res.send(String(body.length));
          } else if (rq.path === '/big') {
            for (let i = 0; i < 128; i++) {
              if (!res.write(BIG_CHUNK)) await res.drain();
            }
            res.end();
          } else if (rq.path === '/stream-body') {
            let n = 0;
            for await (const c of rq.stream()) n += (c as Buffer).length;
            res.send(String(n));
          } else {
            res.send(`ok ${rq.url}`);
          }
        } finally {
          inFlight--;
        }
      },
      { t, limits: { maxBodyBytes: 10 * 1024 * 1024 } },
    );

    // The well-behaved client: sequential requests over one keep-alive connection.
    const pool = new Pool(s.origin, { connections: 1 });
    t.after(() => (pool.closed ? undefined : pool.close()));
    let good = 0;
    let stop = false;
    const steady = (async () => {
      while (!stop) {
        const r = await pool.request({ path: `/steady/${good}`, method: 'GET' });
        assert.equal(r.statusCode, 200);
        assert.equal(await r.body.text(), `ok /steady/${good}`);
        good++;
      }
    })();

    const kinds = ['head', 'body', 'stream-body', 'response', 'pipeline'] as const;
    const counts: Record<string, number> = {};
    async function victim(i: number): Promise<void> {
      const kind = kinds[i % kinds.length] as (typeof kinds)[number];
      counts[kind] = (counts[kind] ?? 0) + 1;
      const c = await RawClient.connect(s.port);
      switch (kind) {
        case 'head':
          await c.send(`GET /partial-${i} HTTP/1.1\r\nHost: x\r\nX-Half: abc`);
          break;
        case 'body':
          await c.send(
            Buffer.concat([
              Buffer.from(`POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n`),
              Buffer.alloc(100_000, 'x'),
            ]),
          );
          break;
        case 'stream-body':
          await c.send(
            `PUT /stream-body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n${'y'.repeat(4096)}\r\n`,
          );
          break;
        case 'response':
          await c.send(req('GET', '/big'));
          await c.until((x) => x.received.length > 0, 'the first response bytes');
          break;
        case 'pipeline':
          await c.send(
            Buffer.concat([
              req('GET', '/1'),
              req('GET', '/big'),
              req('POST', '/body', {}, 'abc'),
              req('GET', '/big'),
            ]),
          );
          await c.until((x) => x.finals.length >= 1, 'the first response');
          break;
      }
      await new Promise((r) => setImmediate(r));
      reset(c.socket);
      await c.waitClose();
    }

    const TOTAL = 300;
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < TOTAL) await victim(next++);
      }),
    );
    const goodDuringResets = good;
    stop = true;
    await steady;

    assert.ok(goodDuringResets > 0, 'the steady client was served during the resets');
    assert.deepEqual(Object.values(counts), [60, 60, 60, 60, 60]);
    // Only the steady client's connection is left, then none.
    await eventually(() => s.server.connections <= 1, 'reset connections to be dropped');
    await pool.close();
    await eventually(() => s.server.connections === 0, 'all connections to be dropped');
    await eventually(() => inFlight === 0, 'every handler to finish');
    assert.deepEqual(problems, []);
    assert.deepEqual(
      ['unhandledRejection', 'uncaughtException', 'warning', 'exit'].map((e) =>
        process.listenerCount(e),
      ),
      listenersBefore,
    );
    // Handlers that were reading a body learned that it will never complete, nothing else.
    for (const { err } of s.errors) {
      assert.ok(
        ['RAPID_ERR_REQUEST_ABORTED', 'RAPID_ERR_HTTP1_INCOMPLETE_MESSAGE'].includes(
          (err as { code?: string }).code ?? '',
        ),
        String(err),
      );
    }
    // And the server still serves.
    const after = await fetch(`${s.origin}/after`);
    assert.equal(await after.text(), 'ok /after');
  },
);
