/**
 * The parser remembers each connection's field lines by position and takes a line equal to the
 * remembered one from memory instead of checking and decoding it again (MessageParser.memoLine).
 * That must never change a result: every case here parses a request on a parser that has just
 * parsed `prime` (so some of its lines are remembered) and must give exactly what a new parser
 * gives, at every split of the input. A seeded generator then runs thousands of requests built
 * from a small pool of lines, some of them mutated, through one parser.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { E, type ErrorSpec } from '../../../src/core/errors.js';
import { DEFAULT_LIMITS, type Limits } from '../../../src/core/types.js';
import { MessageParser } from '../../../src/http1/parser.js';
import { drive, splits, summary, type ParseResult } from '../../helpers/parse-driver.js';
import { prng } from '../../helpers/prng.js';

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');
const head = (line: string, ...fields: string[]): string => [line, ...fields, '', ''].join('\r\n');

interface Case {
  name: string;
  /** Requests parsed first, on the same parser (they must be valid). */
  prime: string;
  input: string;
  limits?: Partial<Limits>;
  /** The error the input must get (fresh or primed), or null when it is valid. */
  error: ErrorSpec | null;
  /** Checks on the first message of the input when it is valid. */
  expect?: Partial<Record<'host' | 'keepAlive' | 'upgrade' | 'chunked' | 'contentLength', unknown>>;
}

function primed(prime: string, limits?: Partial<Limits>): MessageParser {
  const p = new MessageParser({ ...DEFAULT_LIMITS, ...limits });
  for (let round = 0; round < 3; round++) {
    const r = drive([bytes(prime)], { parser: p, stopOnClose: false });
    assert.equal(r.error, null, `prime rejected: ${r.error?.code}`);
  }
  return p;
}

function check(t: Case): void {
  const input = bytes(t.input);
  const fresh = drive([input], t.limits === undefined ? {} : { limits: t.limits });
  assert.equal(fresh.error?.code ?? null, t.error?.code ?? null, 'fresh parser');
  const want = summary(fresh);
  for (const chunks of splits(input)) {
    const got: ParseResult = drive(chunks, { parser: primed(t.prime, t.limits) });
    assert.deepEqual(summary(got), want, `primed, ${chunks.length} pieces`);
  }
  if (t.expect !== undefined) {
    const m = fresh.messages[0]!;
    for (const [k, v] of Object.entries(t.expect)) assert.deepEqual(m[k as keyof typeof m], v, k);
  }
}

const H = 'Host: example.com';

const cases: Case[] = [
  {
    name: 'the same request again',
    prime: head('GET / HTTP/1.1', H, 'Accept: */*'),
    input: head('GET /b HTTP/1.1', H, 'Accept: */*'),
    error: null,
    expect: { host: 'example.com', keepAlive: true },
  },
  {
    name: 'a remembered Host line repeated later in the head is a duplicate',
    prime: head('GET / HTTP/1.1', 'X-A: 1', H),
    input: head('GET / HTTP/1.1', H, H),
    error: E.HTTP1_DUPLICATE_HOST,
  },
  {
    name: 'a remembered Host line does not override an absolute-form target',
    prime: head('GET / HTTP/1.1', H),
    input: head('GET http://other.example/x HTTP/1.1', H),
    error: null,
    expect: { host: 'other.example' },
  },
  {
    name: 'a remembered Host line in a request without one elsewhere still counts',
    prime: head('GET / HTTP/1.1', 'X-A: 1', H),
    input: head('GET / HTTP/1.1', 'X-B: 2', H),
    error: null,
    expect: { host: 'example.com' },
  },
  {
    name: 'Host missing although the remembered head had one',
    prime: head('GET / HTTP/1.1', H),
    input: head('GET / HTTP/1.1', 'X-A: 1'),
    error: E.HTTP1_MISSING_HOST,
  },
  {
    name: 'Connection: close remembered still closes',
    prime: head('GET / HTTP/1.1', H, 'Connection: close'),
    input: head('GET / HTTP/1.1', H, 'Connection: close'),
    error: null,
    expect: { keepAlive: false },
  },
  {
    name: 'Connection: keep-alive remembered keeps an HTTP/1.0 request alive',
    prime: head('GET / HTTP/1.0', 'Connection: keep-alive'),
    input: head('GET / HTTP/1.0', 'Connection: keep-alive'),
    error: null,
    expect: { keepAlive: true },
  },
  {
    name: 'a remembered keep-alive line does not carry over to a request without it',
    prime: head('GET / HTTP/1.0', 'Connection: keep-alive'),
    input: head('GET / HTTP/1.0', 'X-A: 1'),
    error: null,
    expect: { keepAlive: false },
  },
  {
    name: 'a Connection line read before any line was remembered lends its tokens to no other line',
    prime: head('GET / HTTP/1.0', 'Host: a', 'Connection: keep-alive'),
    input: head('GET / HTTP/1.0', 'Host: a'),
    error: null,
    expect: { keepAlive: false },
  },
  {
    name: 'nor does one read while its position was not being compared',
    prime:
      head('GET / HTTP/1.0', 'Connection: close', 'Host: a') +
      head('GET / HTTP/1.0', 'Connection: keep-alive', 'Host: a') +
      head('GET / HTTP/1.0', 'Connection: Keep-Alive', 'X-B: 1'),
    input: head('GET / HTTP/1.0', 'X-A: 1', 'X-B: 1', 'Host: a'),
    error: null,
    expect: { keepAlive: false },
  },
  {
    name: 'Connection: Upgrade remembered, with Upgrade',
    prime: head('GET / HTTP/1.1', H, 'Connection: keep-alive, Upgrade', 'Upgrade: websocket'),
    input: head('GET / HTTP/1.1', H, 'Connection: keep-alive, Upgrade', 'Upgrade: websocket'),
    error: null,
    expect: { upgrade: true },
  },
  {
    name: 'Connection: Upgrade remembered, without Upgrade this time',
    prime: head('GET / HTTP/1.1', H, 'Connection: Upgrade', 'Upgrade: websocket'),
    input: head('GET / HTTP/1.1', H, 'Connection: Upgrade'),
    error: null,
    expect: { upgrade: false },
  },
  {
    name: 'a remembered Content-Length that disagrees with a new one',
    prime: head('POST / HTTP/1.1', H, 'Content-Length: 5') + 'hello',
    input: head('POST / HTTP/1.1', 'Content-Length: 6', 'Content-Length: 5') + 'hello!',
    error: E.HTTP1_CONFLICTING_CONTENT_LENGTH,
  },
  {
    name: 'a remembered Content-Length frames the body again',
    prime: head('POST / HTTP/1.1', H, 'Content-Length: 5') + 'hello',
    input: head('POST / HTTP/1.1', H, 'Content-Length: 5') + 'world',
    error: null,
    expect: { contentLength: 5 },
  },
  {
    name: 'a remembered Transfer-Encoding with a new Content-Length',
    prime: head('POST / HTTP/1.1', H, 'Transfer-Encoding: chunked') + '0\r\n\r\n',
    input: head('POST / HTTP/1.1', H, 'Transfer-Encoding: chunked', 'Content-Length: 3') + 'abc',
    error: E.HTTP1_TE_WITH_CONTENT_LENGTH,
  },
  {
    name: 'a remembered Transfer-Encoding in an HTTP/1.0 request',
    prime: head('POST / HTTP/1.1', H, 'Transfer-Encoding: chunked') + '0\r\n\r\n',
    input: head('POST / HTTP/1.0', H, 'Transfer-Encoding: chunked') + '0\r\n\r\n',
    error: E.HTTP1_TE_ON_HTTP10,
  },
  {
    name: 'chunked remembered twice over is chunked applied twice',
    prime: head('POST / HTTP/1.1', H, 'Transfer-Encoding: chunked') + '0\r\n\r\n',
    input:
      head('POST / HTTP/1.1', H, 'Transfer-Encoding: chunked', 'Transfer-Encoding: chunked') +
      '0\r\n\r\n',
    error: E.HTTP1_INVALID_TRANSFER_ENCODING,
  },
  {
    name: 'Expect remembered: 100-continue again',
    prime: head('POST / HTTP/1.1', H, 'Expect: 100-continue', 'Content-Length: 1') + 'x',
    input: head('POST / HTTP/1.1', H, 'Expect: 100-continue', 'Content-Length: 1') + 'y',
    error: null,
    expect: { contentLength: 1 },
  },
  {
    name: 'the remembered line with a NUL in its value',
    prime: head('GET / HTTP/1.1', H, 'Accept: text/html'),
    input: head('GET / HTTP/1.1', H, 'Accept: text/h\x00ml'),
    error: E.HTTP1_INVALID_HEADER_VALUE,
  },
  {
    name: 'the remembered line with a bare CR in its value',
    prime: head('GET / HTTP/1.1', H, 'Accept: text/html'),
    input: head('GET / HTTP/1.1', H, 'Accept: text/h\rml'),
    error: E.HTTP1_INVALID_HEADER_VALUE,
  },
  {
    name: 'the remembered line folded (obs-fold)',
    prime: head('GET / HTTP/1.1', H, 'Accept: text/html'),
    input: head('GET / HTTP/1.1', H, ' Accept: text/html'),
    error: E.HTTP1_OBS_FOLD,
  },
  {
    name: 'the remembered line with space before the colon',
    prime: head('GET / HTTP/1.1', H, 'Accept: text/html'),
    input: head('GET / HTTP/1.1', H, 'Accept : text/html'),
    error: E.HTTP1_SPACE_BEFORE_COLON,
  },
  {
    name: 'the remembered Host line with an invalid host',
    prime: head('GET / HTTP/1.1', H),
    input: head('GET / HTTP/1.1', 'Host: example.com/x'),
    error: E.HTTP1_INVALID_HOST,
  },
  {
    name: 'a remembered line as a trailer field is checked as a trailer',
    prime: head('POST / HTTP/1.1', H, 'Transfer-Encoding: chunked') + '0\r\n\r\n',
    input: head('POST / HTTP/1.1', H, 'Transfer-Encoding: chunked') + `0\r\n${H}\r\n\r\n`,
    error: null,
  },
  {
    name: 'remembered lines still count towards maxHeaderCount',
    prime: head('GET / HTTP/1.1', H, 'A: 1'),
    input: head('GET / HTTP/1.1', H, 'A: 1', 'B: 2'),
    limits: { maxHeaderCount: 2 },
    error: E.HTTP1_TOO_MANY_HEADERS,
  },
  {
    name: 'remembered lines still count towards maxHeaderBytes',
    prime: head('GET / HTTP/1.1', H, `A: ${'a'.repeat(100)}`),
    input: head(`GET /${'p'.repeat(120)} HTTP/1.1`, H, `A: ${'a'.repeat(100)}`),
    limits: { maxHeaderBytes: 200 },
    error: E.HTTP1_HEADERS_TOO_LARGE,
  },
];

describe('field lines remembered from earlier requests', () => {
  for (const t of cases) it(t.name, () => check(t));
});

describe('what the parser keeps', () => {
  it('at most 4 KiB of remembered lines per connection, however the lines come', () => {
    const limits = { ...DEFAULT_LIMITS, maxHeaderBytes: 64 * 1024 };
    const p = new MessageParser(limits);
    // Request j puts a new 10 KB line at position j (after j short lines), and the next
    // requests repeat nothing: without a budget every position would end up holding 10 KB.
    for (let j = 0; j < 40; j++) {
      const short = Array.from({ length: j % 32 }, (_, k) => `X-${k}: ${j}`);
      const text = head('GET / HTTP/1.1', H, ...short, `X-Big: ${String(j % 10).repeat(10_000)}`);
      const r = drive([bytes(text)], { parser: p });
      assert.equal(r.error, null, `request ${j}: ${r.error?.code}`);
      assert.equal(r.messages[0]!.headers.at(-1)!.length, 10_000);
      assert.ok(p.rememberedChars <= 4096, `request ${j}: ${p.rememberedChars} characters kept`);
    }
  });

  it('a line over the budget is parsed as usual every time', () => {
    const p = new MessageParser({ ...DEFAULT_LIMITS, maxHeaderBytes: 64 * 1024 });
    const big = `Cookie: ${'c'.repeat(6000)}`;
    for (let j = 0; j < 5; j++) {
      const r = drive([bytes(head('GET / HTTP/1.1', H, big))], { parser: p });
      assert.equal(r.error, null);
      assert.deepEqual(r.messages[0]!.headers, ['host', 'example.com', 'cookie', 'c'.repeat(6000)]);
    }
    assert.ok(p.rememberedChars < 100);
  });
});

const POOL = [
  'Accept: */*',
  'Accept: text/html,application/xhtml+xml;q=0.9',
  'Connection: keep-alive',
  'connection: Keep-Alive, Upgrade',
  'Upgrade: websocket',
  'Expect: 100-continue',
  'User-Agent: curl/8.0',
  'Cookie: a=1; b=2',
  'X-Id: 1',
  'X-Id: 2',
];
const HOSTS = [H, 'Host: other.example:8080', 'host: example.com'];

describe('generated request sequences on one parser', () => {
  it('each request parses on a long-lived parser as on a new one', () => {
    const rand = prng(0x3e3e);
    const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
    let p = new MessageParser(DEFAULT_LIMITS);
    let onPrimed = 0;
    let errors = 0;
    for (let iter = 0; iter < 4000; iter++) {
      const lines: string[] = [];
      const n = Math.floor(rand() * 5);
      for (let k = 0; k < n; k++) lines.push(pick(POOL));
      lines.splice(Math.floor(rand() * (lines.length + 1)), 0, pick(HOSTS));
      const framing = rand();
      let body = '';
      if (framing < 0.2) {
        lines.push('Content-Length: 3');
        body = 'abc';
      } else if (framing < 0.35) {
        lines.push('Transfer-Encoding: chunked');
        body = '3\r\nabc\r\n0\r\n\r\n';
      }
      const version = rand() < 0.1 ? '1.0' : '1.1';
      let input = bytes(
        head(`${pick(['GET', 'POST'])} /${iter % 7} HTTP/${version}`, ...lines) + body,
      );
      if (rand() < 0.15) {
        input = Buffer.from(input);
        input[Math.floor(rand() * input.length)] = pick([0, 9, 10, 13, 32, 58, 127, 0x41]);
      }
      const want = summary(drive([input], { stopOnClose: false }));
      const got = drive([input], { parser: p, stopOnClose: false });
      assert.deepEqual(
        summary(got),
        want,
        `iteration ${iter}: ${JSON.stringify(input.toString('latin1'))}`,
      );
      // An error (or a message left unfinished) ends the connection: a new one starts fresh.
      if (got.error !== null || !got.finishedCleanly) {
        errors++;
        p = new MessageParser(DEFAULT_LIMITS);
      } else onPrimed++;
    }
    assert.ok(onPrimed > 2000, `only ${onPrimed} requests parsed on a parser with a memory`);
    assert.ok(errors > 200, `only ${errors} requests were rejected`);
  });
});
