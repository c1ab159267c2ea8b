/**
 * HPACK (src/http2/hpack.ts): the RFC 7541 Appendix C examples, Huffman both ways, malformed
 * blocks, size limits, and round trips of many header sets against python's hpack module
 * (Debian python3-hpack, the codec of python3-h2) as a real peer: python encodes (with Huffman
 * and its dynamic table) and we decode, we encode and python decodes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  ByteWriter,
  HPACK_ERROR,
  HPACK_OK,
  HPACK_TOO_LARGE,
  HpackDecoder,
  HpackEncoder,
  huffmanDecode,
  huffmanEncode,
} from '../../../src/http2/hpack.js';
import { projectRoot } from '../../helpers/paths.js';
import { pythonH2, run } from '../../helpers/tls.js';

function decodeHex(d: HpackDecoder, hex: string): string[][] {
  const b = Buffer.from(hex, 'hex');
  const out: string[] = [];
  assert.equal(d.decode(b, 0, b.length, out, 1 << 20, 1000), HPACK_OK, hex);
  const pairs: string[][] = [];
  for (let i = 0; i < out.length; i += 2) pairs.push([out[i] as string, out[i + 1] as string]);
  return pairs;
}

const REQ1 = [
  [':method', 'GET'],
  [':scheme', 'http'],
  [':path', '/'],
  [':authority', 'www.example.com'],
];
const REQ2 = [...REQ1, ['cache-control', 'no-cache']];
const REQ3 = [
  [':method', 'GET'],
  [':scheme', 'https'],
  [':path', '/index.html'],
  [':authority', 'www.example.com'],
  ['custom-key', 'custom-value'],
];

describe('HPACK: RFC 7541 Appendix C', () => {
  it('C.3 requests without Huffman, one decoder (dynamic table)', () => {
    const d = new HpackDecoder();
    assert.deepEqual(decodeHex(d, '828684410f7777772e6578616d706c652e636f6d'), REQ1);
    assert.equal(d.tableSize, 57);
    assert.deepEqual(decodeHex(d, '828684be58086e6f2d6361636865'), REQ2);
    assert.equal(d.tableSize, 110);
    assert.deepEqual(
      decodeHex(d, '828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565'),
      REQ3,
    );
    assert.equal(d.tableSize, 164);
  });

  it('C.4 requests with Huffman', () => {
    const d = new HpackDecoder();
    assert.deepEqual(decodeHex(d, '828684418cf1e3c2e5f23a6ba0ab90f4ff'), REQ1);
    assert.deepEqual(decodeHex(d, '828684be5886a8eb10649cbf'), REQ2);
    assert.deepEqual(decodeHex(d, '828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf'), REQ3);
  });

  it('C.6 responses with Huffman and a 256-byte table (eviction)', () => {
    const d = new HpackDecoder(256);
    const loc = ['location', 'https://www.example.com'];
    assert.deepEqual(
      decodeHex(
        d,
        '488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3',
      ),
      [
        [':status', '302'],
        ['cache-control', 'private'],
        ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
        loc,
      ],
    );
    assert.equal(d.tableSize, 222);
    assert.deepEqual(decodeHex(d, '4883640effc1c0bf'), [
      [':status', '307'],
      ['cache-control', 'private'],
      ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
      loc,
    ]);
    assert.equal(d.tableSize, 222);
    assert.deepEqual(
      decodeHex(
        d,
        '88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007',
      ),
      [
        [':status', '200'],
        ['cache-control', 'private'],
        ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
        loc,
        ['content-encoding', 'gzip'],
        ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
      ],
    );
    assert.equal(d.tableSize, 215);
  });
});

describe('HPACK: Huffman and malformed input', () => {
  it('Huffman round-trips every octet', () => {
    let all = '';
    for (let i = 0; i < 256; i++) all += String.fromCharCode(i);
    for (const s of ['', 'a', 'www.example.com', all, all.split('').reverse().join('')]) {
      const h = huffmanEncode(s);
      assert.equal(huffmanDecode(h, 0, h.length), s);
    }
    assert.deepEqual(
      huffmanEncode('www.example.com'),
      Buffer.from('f1e3c2e5f23a6ba0ab90f4ff', 'hex'),
    );
  });

  it('rejects bad padding, EOS and truncated blocks without throwing', () => {
    // Padding longer than 7 bits, padding not all ones, an explicit EOS.
    assert.equal(huffmanDecode(Buffer.from('f1e3c2e5f23a6ba0ab90f4ffff', 'hex'), 0, 13), null);
    assert.equal(huffmanDecode(Buffer.from([0x00]), 0, 1), null);
    assert.equal(huffmanDecode(Buffer.from([0xff, 0xff, 0xff, 0xff]), 0, 4), null);
    const bad = [
      '80', // index 0
      'ff00', // index past the tables
      'be', // dynamic index on an empty table
      '410f7777', // string shorter than its length
      '41', // literal without its string
      'ffffffffffffff', // integer overflow
      '828620', // size update after a field
      '3fe21f', // size update above the limit
    ];
    for (const hex of bad) {
      const b = Buffer.from(hex, 'hex');
      assert.equal(new HpackDecoder().decode(b, 0, b.length, [], 1 << 20, 100), HPACK_ERROR, hex);
    }
  });

  it('decodes past the list limits but reports them (state stays in sync)', () => {
    const d = new HpackDecoder();
    const b = Buffer.from('828684410f7777772e6578616d706c652e636f6d', 'hex');
    const out: string[] = [];
    assert.equal(d.decode(b, 0, b.length, out, 100, 100), HPACK_TOO_LARGE);
    assert.equal(d.tableSize, 57); // the :authority entry was still added
    assert.equal(d.decode(b, 0, b.length, [], 1 << 20, 2), HPACK_TOO_LARGE);
  });

  it('encoder: literals are Huffman-coded when that is shorter, raw otherwise', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const w = new ByteWriter(16);
    e.field(w, 'content-type', 'text/html; charset=utf-8');
    // Static name index 31 with incremental indexing (01 + 6-bit index), then the value.
    assert.equal(w.buf[0], 0x40 | 31);
    assert.equal(w.buf[1]! & 0x80, 0x80, 'value Huffman-coded');
    assert.ok(w.len < 2 + 'text/html; charset=utf-8'.length);
    const mark = w.len;
    // Octets whose codes are long (controls, obs-text) would grow: they go raw.
    const odd = '\x7f\x80\xff\x01';
    e.field(w, 'x-odd', odd);
    assert.equal(w.buf[mark], 0x40);
    assert.equal(w.buf[mark + 1]! & 0x80, 0x80, 'the name x-odd is shorter in Huffman');
    const out: string[] = [];
    assert.equal(d.decode(w.buf, 0, w.len, out, 1 << 20, 100), HPACK_OK);
    assert.deepEqual(out, ['content-type', 'text/html; charset=utf-8', 'x-odd', odd]);
    const valueAt = w.len - odd.length - 1;
    assert.equal(w.buf[valueAt], odd.length, 'the odd value is a raw literal');
  });

  it('encoder: repeated fields become one-byte indexes; a smaller peer table is announced', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const w = new ByteWriter(16);
    const block = (): Buffer => {
      w.reset();
      e.begin(w);
      e.status(w, 200);
      e.field(w, 'content-type', 'text/plain');
      e.field(w, 'server', 'Rapid');
      e.field(w, 'content-length', '13');
      return Buffer.from(w.buf.subarray(0, w.len));
    };
    const first = block();
    const second = block();
    assert.ok(second.length < first.length);
    assert.equal(second.length, 1 + 1 + 1 + 5); // :status, 2 indexed, content-length literal
    for (const b of [first, second]) {
      const out: string[] = [];
      assert.equal(d.decode(b, 0, b.length, out, 1 << 20, 100), HPACK_OK);
      assert.deepEqual(out, [
        ':status',
        '200',
        'content-type',
        'text/plain',
        'server',
        'Rapid',
        'content-length',
        '13',
      ]);
    }
    e.setMaxTableSize(0);
    const third = block();
    assert.equal(third[0], 0x20); // size update to 0 first
    const out: string[] = [];
    assert.equal(d.decode(third, 0, third.length, out, 1 << 20, 100), HPACK_OK);
    assert.equal(d.tableSize, 0);
    assert.equal(out[3], 'text/plain');
  });
});

describe(
  'HPACK against python3-hpack',
  { skip: pythonH2 === null && 'python3-hpack missing' },
  () => {
    it('round-trips many header sets both ways', async () => {
      const sets: [string, string][][] = [];
      for (let i = 0; i < 200; i++) {
        const set: [string, string][] = [
          [':status', String([200, 404, 301, 500, 204][i % 5])],
          ['content-type', i % 2 === 0 ? 'text/html; charset=utf-8' : 'application/json'],
          ['server', 'Rapid'],
          ['x-request-id', `req-${i % 7}`],
          ['cache-control', i % 3 === 0 ? 'no-cache' : 'max-age=3600'],
          ['set-cookie', `s=${i}; Path=/`],
          ['x-long', 'v'.repeat((i * 37) % 700)],
          ['content-length', String(i * 13)],
          ['vary', 'accept-encoding'],
          ['x-bin', String.fromCharCode(33 + (i % 90), 126 - (i % 90), 0x7e)],
        ];
        sets.push(set);
      }
      const enc = new HpackEncoder();
      const w = new ByteWriter(64);
      const blocks = sets.map((set) => {
        w.reset();
        enc.begin(w);
        for (const [n, v] of set) {
          if (n === ':status') enc.status(w, Number(v));
          else enc.field(w, n, v);
        }
        return w.buf.subarray(0, w.len).toString('hex');
      });
      const dir = mkdtempSync(join(os.tmpdir(), 'rapid-hpack-'));
      try {
        const file = join(dir, 'in.json');
        writeFileSync(file, JSON.stringify({ sets, blocks }));
        const r = await run(
          pythonH2 as string,
          [join(projectRoot, 'test', 'probes', 'hpack_peer.py'), file],
          60_000,
        );
        assert.equal(r.code, 0, r.stderr);
        const got = JSON.parse(r.stdout) as { encoded: string[]; decoded: string[][][] };
        // Python decoded our blocks to the sets.
        assert.deepEqual(got.decoded, sets);
        // We decode python's (Huffman, dynamic table) blocks to the sets.
        const d = new HpackDecoder();
        got.encoded.forEach((hex, i) => assert.deepEqual(decodeHex(d, hex), sets[i]));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);
