/**
 * The FastCGI wire format: name-value pairs with 1- and 4-byte lengths, stream records split at
 * 65535 bytes and padded, and the record parser on every split of a byte stream.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  beginRequest,
  decodeParams,
  encodeParams,
  END_REQUEST,
  RecordParser,
  STDERR,
  STDIN,
  STDOUT,
  streamRecords,
  type FcgiRecord,
} from '../../../src/features/fastcgi/protocol.js';

function record(type: number, id: number, content: Buffer, padding = 0): Buffer {
  const h = Buffer.alloc(8);
  h[0] = 1;
  h[1] = type;
  h.writeUInt16BE(id, 2);
  h.writeUInt16BE(content.length, 4);
  h[6] = padding;
  return Buffer.concat([h, content, Buffer.alloc(padding)]);
}

function endRequest(app: number, proto: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(app, 0);
  b[4] = proto;
  return record(END_REQUEST, 1, b);
}

function parseAll(p: RecordParser, pieces: Buffer[]): FcgiRecord[] {
  const out: FcgiRecord[] = [];
  for (const piece of pieces) {
    const r = p.execute(piece);
    assert.equal(r.error, null);
    // Copy: content may be a view of the piece.
    for (const rec of r.records) out.push({ ...rec, content: Buffer.from(rec.content) });
  }
  return out;
}

describe('FastCGI name-value pairs', () => {
  it('uses 1-byte lengths below 128 and 4-byte lengths from 128', () => {
    const short = encodeParams({ A: 'b' });
    assert.deepEqual([...short], [1, 1, 0x41, 0x62]);
    const long = 'x'.repeat(128);
    const b = encodeParams({ N: long });
    assert.equal(b[0], 1);
    assert.equal(b.readUInt32BE(1), 0x80000080);
    assert.equal(b.length, 1 + 4 + 1 + 128);
    const big = 'y'.repeat(70_000);
    const back = decodeParams(encodeParams({ [long]: big, E: '' }));
    assert.ok(back !== null);
    assert.equal(back[long]?.length, big.length);
    assert.equal(back.E, '');
  });

  it('refuses truncated pairs', () => {
    assert.equal(decodeParams(Buffer.from([5, 1, 0x41])), null);
    assert.equal(decodeParams(Buffer.from([0x80, 0, 0])), null);
  });
});

describe('FastCGI records out', () => {
  it('splits a stream at 65535 bytes and pads to 8', () => {
    const data = Buffer.alloc(65535 + 10, 7);
    const parts = streamRecords(STDIN, 1, data);
    const all = Buffer.concat(parts);
    const recs = parseAll(new RecordParser(), [all]);
    assert.deepEqual(
      recs.map((r) => r.content.length),
      [65535, 10],
    );
    assert.equal(all.length % 8, 0);
    assert.equal(streamRecords(STDIN, 1, Buffer.alloc(0))[0]!.length, 8);
  });

  it('builds BEGIN_REQUEST for a Responder with KEEP_CONN', () => {
    const b = beginRequest(1, true);
    assert.deepEqual([...b], [1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
  });
});

describe('FastCGI record parser', () => {
  const stream = Buffer.concat([
    record(STDOUT, 1, Buffer.from('Content-Type: text/plain\r\n\r\nhello'), 3),
    record(STDERR, 1, Buffer.from('warn')),
    record(STDOUT, 1, Buffer.alloc(0)),
    record(STDOUT, 1, Buffer.alloc(300, 0x61), 4),
    endRequest(0, 0),
  ]);
  const expected = parseAll(new RecordParser(), [stream]);

  it('reads a whole stream', () => {
    assert.deepEqual(
      expected.map((r) => [r.type, r.content.length]),
      [
        [STDOUT, 33],
        [STDERR, 4],
        [STDOUT, 0],
        [STDOUT, 300],
        [END_REQUEST, 8],
      ],
    );
  });

  it('gives the same records for every split into two pieces and byte by byte', () => {
    for (let cut = 1; cut < stream.length; cut++) {
      const p = new RecordParser();
      const got = parseAll(p, [stream.subarray(0, cut), stream.subarray(cut)]);
      assert.deepEqual(got, expected, `split at ${cut}`);
      assert.ok(p.idle);
    }
    const bytes: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) bytes.push(stream.subarray(i, i + 1));
    assert.deepEqual(parseAll(new RecordParser(), bytes), expected);
  });

  it('reports a wrong version and stays failed', () => {
    const p = new RecordParser();
    const bad = Buffer.from(stream);
    bad[0] = 2;
    assert.match(p.execute(bad).error ?? '', /version/);
    assert.notEqual(p.execute(stream).error, null);
  });

  it('is not idle inside a record', () => {
    const p = new RecordParser();
    p.execute(stream.subarray(0, 12));
    assert.equal(p.idle, false);
  });
});
