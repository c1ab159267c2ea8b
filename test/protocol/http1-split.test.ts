// Split writes over a real socket (RFC 9112 is byte-stream framing: any split must parse the
// same): a representative set of requests sent whole, one byte at a time, in odd-sized pieces,
// and split at every single position, must reach the handler identically.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RapidRequest } from '../../src/core/types.js';
import { exchange, chunked, req } from '../helpers/raw.js';
import { startServer } from '../helpers/server.js';

interface Seen {
  method: string;
  url: string;
  version: string;
  headers: readonly string[];
  body: string;
  trailers: readonly string[];
}

const CASES: [string, Buffer, number][] = [
  ['simple GET', req('GET', '/a?b=c'), 1],
  [
    'many headers',
    req('GET', '/h', {
      'User-Agent': 'split/1.0',
      Accept: '*/*',
      Cookie: 'a=1',
      'X-Empty': '',
      'X-Spaces': '  padded  ',
      'X-Latin1': 'caf\xe9',
    }),
    1,
  ],
  ['HTTP/1.0', Buffer.from('GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'), 1],
  ['Content-Length body', req('POST', '/cl', { 'Content-Type': 'text/plain' }, 'hello body'), 1],
  [
    'chunked body with extensions and trailers',
    req(
      'POST',
      '/te',
      { 'Transfer-Encoding': 'chunked' },
      Buffer.concat([
        Buffer.from('5;ext=1;q="a b"\r\nhello\r\n1 ; x\r\n \r\n000a\r\n0123456789\r\n'),
        Buffer.from('0\r\nX-Trailer: yes\r\n\r\n'),
      ]),
    ),
    1,
  ],
  ['leading empty line', Buffer.concat([Buffer.from('\r\n'), req('GET', '/after-crlf')]), 1],
  [
    'pipeline of three',
    Buffer.concat([
      req('GET', '/p1'),
      req('PUT', '/p2', { 'Transfer-Encoding': 'chunked' }, chunked(['ab', 'cd'])),
      req('DELETE', '/p3', {}, 'x'),
    ]),
    3,
  ],
  [
    'absolute-form target',
    Buffer.from('GET http://example.com/abs?q HTTP/1.1\r\nHost: example.com\r\n\r\n'),
    1,
  ],
  ['OPTIONS *', Buffer.from('OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n'), 1],
];

test(
  'requests split any way reach the handler exactly as when sent whole',
  { timeout: 120_000 },
  async (t) => {
    let seen: Seen[] = [];
    const s = await startServer(
      async (rq: RapidRequest, res) => {
        const entry: Seen = {
          method: rq.method,
          url: rq.url,
          version: rq.httpVersion,
          headers: rq.rawHeaders,
          body: (await rq.body()).toString('latin1'),
          trailers: rq.trailers,
        };
        seen.push(entry);
        res.send(JSON.stringify(entry));
      },
      { t },
    );
    for (const [name, bytes, n] of CASES) {
      seen = [];
      const whole = await exchange(s.port, bytes, { responses: n });
      whole.client.destroy();
      const reference = seen;
      assert.equal(reference.length, n, name);
      const run = async (how: string, opts: Parameters<typeof exchange>[2]) => {
        seen = [];
        const { client, responses } = await exchange(s.port, bytes, { ...opts, responses: n });
        client.destroy();
        assert.deepEqual(seen, reference, `${name}: ${how}`);
        assert.deepEqual(
          responses.map((r) => r.text()),
          whole.responses.map((r) => r.text()),
          `${name}: ${how}`,
        );
      };
      await run('byte by byte', { pieceSize: 1 });
      await run('3-byte pieces', { pieceSize: 3 });
      // Every two-piece split for the shorter cases.
      if (bytes.length < 200) {
        for (let at = 1; at < bytes.length; at++) await run(`split at ${at}`, { splitAt: [at] });
      }
    }
    // A sample check that the reference itself is right.
    const chunkedCase = JSON.parse(
      (await exchange(s.port, CASES[4]![1], { responses: 1 })).responses[0]!.text(),
    ) as Seen;
    assert.equal(chunkedCase.body, 'hello 0123456789');
    assert.deepEqual(chunkedCase.trailers, ['x-trailer', 'yes']);
  },
);
