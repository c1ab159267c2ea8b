/**
 * The parser decodes its input in windows (one latin1 decode for many strings, see
 * MessageParser.text): strings must never come from stale bytes or from the wrong window.
 * Distinct pipelined requests whose heads straddle window edges, the same Buffer object refilled
 * between reads, and every request fed one byte at a time must all parse exactly.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LIMITS } from '../../../src/core/types.js';
import { EV_HEAD, EV_NEED_MORE, MessageParser } from '../../../src/http1/parser.js';
import { drive, splits } from '../../helpers/parse-driver.js';

/** Request i of a pipeline: its own path, header values and lengths (so heads hit window edges). */
function request(i: number): { text: string; url: string; headers: string[] } {
  const url = `/item/${i}/${'x'.repeat((i * 37) % 300)}?q=${i}`;
  const headers = [
    'host',
    `h${i}.example`,
    'accept',
    `text/plain;q=0.${i % 10}`,
    'x-request-id',
    `${i}-${'y'.repeat((i * 53) % 700)}`,
    'user-agent',
    `agent/${i}`,
  ];
  let text = `GET ${url} HTTP/1.1\r\n`;
  const names = ['Host', 'Accept', 'X-Request-Id', 'User-Agent'];
  for (let k = 0; k < headers.length; k += 2) text += `${names[k / 2]}: ${headers[k + 1]}\r\n`;
  return { text: `${text}\r\n`, url, headers };
}

test('60 distinct pipelined requests in one buffer (heads across 2 KB window edges) parse exactly', () => {
  const reqs = Array.from({ length: 60 }, (_, i) => request(i));
  const buf = Buffer.from(reqs.map((r) => r.text).join(''), 'latin1');
  assert.ok(buf.length > 10 * 2048);
  const r = drive([buf]);
  assert.equal(r.error, null);
  assert.equal(r.messages.length, 60);
  r.messages.forEach((m, i) => {
    assert.equal(m.url, reqs[i]!.url);
    assert.deepEqual(m.headers, reqs[i]!.headers);
    assert.equal(m.host, `h${i}.example`);
  });
  // The same bytes in reads of 1000 bytes, and split at odd sizes: the same messages.
  for (const size of [1000, 2047, 2049, 333]) {
    const chunks: Buffer[] = [];
    for (let o = 0; o < buf.length; o += size) chunks.push(buf.subarray(o, o + size));
    const s = drive(chunks);
    assert.equal(s.error, null);
    assert.deepEqual(
      s.messages.map((m) => [m.url, m.headers]),
      reqs.map((q) => [q.url, q.headers]),
    );
  }
});

test('three distinct pipelined requests, split at every byte and one byte at a time', () => {
  const reqs = [1, 2, 3].map((i) => request(i));
  const buf = Buffer.from(reqs.map((r) => r.text).join(''), 'latin1');
  for (const chunks of splits(buf)) {
    const s = drive(chunks);
    assert.equal(s.error, null);
    assert.deepEqual(
      s.messages.map((m) => [m.url, m.headers]),
      reqs.map((q) => [q.url, q.headers]),
    );
  }
});

test('the same Buffer object refilled with another request between reads: no stale strings', () => {
  const p = new MessageParser(DEFAULT_LIMITS);
  const a = 'GET /first HTTP/1.1\r\nHost: one.example\r\nAccept: text/plain-aaaa\r\n\r\n';
  const b = 'PUT /other HTTP/1.1\r\nHost: two.example\r\nAccept: text/html--bbbb\r\n\r\n';
  assert.equal(a.length, b.length);
  const buf = Buffer.alloc(a.length);
  // Whole request per read.
  buf.write(a, 'latin1');
  assert.equal(p.execute(buf, 0), buf.length);
  assert.equal(p.event, EV_HEAD);
  assert.equal(p.url, '/first');
  buf.write(b, 'latin1');
  assert.equal(p.execute(buf, 0), buf.length);
  assert.equal(p.event, EV_HEAD);
  assert.equal(p.method, 'PUT');
  assert.equal(p.url, '/other');
  assert.deepEqual(p.rawHeaders, ['host', 'two.example', 'accept', 'text/html--bbbb']);
  // A head spread over two reads into the same (refilled) Buffer.
  const cut = 30; // inside the Host value
  const one = Buffer.from(a.slice(0, cut), 'latin1');
  const two = Buffer.from(a.slice(cut), 'latin1');
  const shared = Buffer.alloc(Math.max(one.length, two.length));
  one.copy(shared);
  assert.equal(p.execute(shared.subarray(0, one.length), 0), one.length);
  assert.equal(p.event, EV_NEED_MORE);
  shared.fill(0x41);
  two.copy(shared);
  assert.equal(p.execute(shared.subarray(0, two.length), 0), two.length);
  assert.equal(p.event, EV_HEAD);
  assert.equal(p.url, '/first');
  assert.deepEqual(p.rawHeaders, ['host', 'one.example', 'accept', 'text/plain-aaaa']);
});

test('names the parser does not know are lowercased, again and again, past the cache bound', () => {
  const p = new MessageParser(DEFAULT_LIMITS);
  // 700 different names (more than the 512 remembered), each sent twice in different casings,
  // and one longer than the 64 bytes a remembered name may have.
  const long = `X-${'Long'.repeat(20)}`;
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 700; i += 50) {
      let text = 'GET / HTTP/1.1\r\nHost: a\r\n';
      const want = ['host', 'a'];
      for (let k = i; k < i + 50; k++) {
        const name = round === 0 ? `X-Custom-${k}-Name` : `x-CUSTOM-${k}-name`;
        text += `${name}: v${k}\r\n`;
        want.push(`x-custom-${k}-name`, `v${k}`);
      }
      text += `${long}: L\r\n\r\n`;
      want.push(long.toLowerCase(), 'L');
      const buf = Buffer.from(text, 'latin1');
      assert.equal(p.execute(buf, 0), buf.length);
      assert.equal(p.event, EV_HEAD);
      assert.deepEqual(p.rawHeaders, want);
    }
  }
});
