/**
 * Rapid's own HTTP/2 engine (src/http2/connection.ts) frame by frame, with a raw h2c client over
 * `net`: a request sent one byte at a time, bad frames answered with the right GOAWAY or
 * RST_STREAM code (and the connection still serving after a stream error), REFUSED_STREAM past
 * the concurrency limit, padding, trailers, content-length checks, 431 and CONNECT; flow control
 * with a tiny client window (Node's http2 client receiving 1 MB) and a 1 MB upload; curl and
 * nghttp (nghttp2-client) as clients over TLS and h2c with prior knowledge.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Handler } from '../../src/core/types.js';
import * as F from '../../src/http2/frames.js';
import { ByteWriter, HpackDecoder } from '../../src/http2/hpack.js';
import { PREFACE } from '../../src/http2/preface.js';
import { serve, type RapidServer } from '../../src/server/server.js';
import { cleanupCerts, h2connect, h2request, makeCert, run } from '../helpers/tls.js';

interface Frame {
  type: number;
  flags: number;
  sid: number;
  payload: Buffer;
}

/** A raw HTTP/2 client: frames in, frames out, nothing checked on our side. */
class Raw {
  readonly frames: Frame[] = [];
  closed = false;
  private buf = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private readonly dec = new HpackDecoder();

  constructor(readonly sock: net.Socket) {
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 9) {
        const len = this.buf.readUIntBE(0, 3);
        if (this.buf.length < 9 + len) break;
        this.frames.push({
          type: this.buf[3] as number,
          flags: this.buf[4] as number,
          sid: this.buf.readUInt32BE(5) & 0x7fffffff,
          payload: this.buf.subarray(9, 9 + len),
        });
        this.buf = this.buf.subarray(9 + len);
      }
      this.wake?.();
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
  }

  static open(port: number): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new Raw(s)));
      s.once('error', reject);
    });
  }

  send(...bufs: Buffer[]): void {
    this.sock.write(Buffer.concat(bufs));
  }

  /** The preface and an empty SETTINGS. */
  hello(): void {
    this.send(PREFACE, F.frame(F.T_SETTINGS, 0, 0));
  }

  /** The first frame (from `from` on) matching `pred`; null when the connection closed first. */
  async next(pred: (f: Frame) => boolean, from = 0): Promise<Frame | null> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const f = this.frames.slice(from).find(pred);
      if (f !== undefined) return f;
      if (this.closed) return null;
      if (Date.now() > deadline) throw new Error('timed out waiting for a frame');
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 1000).unref();
      });
      this.wake = null;
    }
  }

  async goaway(): Promise<number | null> {
    const f = await this.next((x) => x.type === F.T_GOAWAY);
    return f === null ? null : f.payload.readUInt32BE(4);
  }

  async rst(sid: number): Promise<number | null> {
    const f = await this.next((x) => x.type === F.T_RST_STREAM && x.sid === sid);
    return f === null ? null : f.payload.readUInt32BE(0);
  }

  /** The response on a stream: status, fields and body. */
  async response(sid: number): Promise<{ status: number; fields: string[]; body: string }> {
    const h = await this.next((x) => x.type === F.T_HEADERS && x.sid === sid);
    assert.ok(h !== null, 'no HEADERS');
    const fields: string[] = [];
    this.dec.decode(h.payload, 0, h.payload.length, fields, 1 << 20, 1000);
    let body = '';
    if ((h.flags & F.F_END_STREAM) === 0) {
      let i = this.frames.indexOf(h) + 1;
      for (;;) {
        const d = await this.next((x) => x.type === F.T_DATA && x.sid === sid, i);
        assert.ok(d !== null, 'no DATA');
        body += d.payload.toString('latin1');
        i = this.frames.indexOf(d) + 1;
        if ((d.flags & F.F_END_STREAM) !== 0) break;
      }
    }
    return { status: Number(fields[1]), fields, body };
  }

  close(): void {
    this.sock.destroy();
  }
}

/** A header block of literal fields (no indexing, no Huffman). */
function block(fields: [string, string][]): Buffer {
  const w = new ByteWriter(64);
  for (const [n, v] of fields) {
    w.byte(0);
    w.str(n);
    w.str(v);
  }
  return Buffer.from(w.buf.subarray(0, w.len));
}

const GET: [string, string][] = [
  [':method', 'GET'],
  [':scheme', 'http'],
  [':path', '/'],
  [':authority', 'localhost'],
];
const POST: [string, string][] = [
  [':method', 'POST'],
  [':scheme', 'http'],
  [':path', '/echo'],
  [':authority', 'localhost'],
];

function headers(
  sid: number,
  fields: [string, string][],
  flags = F.F_END_HEADERS | F.F_END_STREAM,
): Buffer {
  return F.frame(F.T_HEADERS, flags, sid, block(fields));
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

const BIG = Buffer.alloc(1024 * 1024, 'abcdefghij');
const handler: Handler = async (req, res) => {
  if (req.path === '/echo') {
    const body = await req.body();
    res.setHeader('x-trailer', req.trailers.join('='));
    res.send(body);
  } else if (req.path === '/big') res.send(BIG);
  else if (req.path === '/hold') await new Promise((r) => setTimeout(r, 200));
  else res.send('ok');
  if (!res.finished) res.send('late');
};

const cert = makeCert('localhost', '127.0.0.1');
let h2c: RapidServer;
let tlsServer: RapidServer;
const raws: Raw[] = [];
const open = async (): Promise<Raw> => {
  const r = await Raw.open(h2c.port);
  raws.push(r);
  return r;
};

before(async () => {
  h2c = await serve({
    port: 0,
    host: '127.0.0.1',
    h2c: true,
    handler,
    limits: { http2MaxConcurrentStreams: 4, maxHeaderBytes: 4096, maxBodyBytes: 2 * 1024 * 1024 },
    onError: () => {},
  });
  tlsServer = await serve({
    port: 0,
    host: '127.0.0.1',
    tls: { cert: cert.cert, key: cert.key },
    handler,
    limits: { maxBodyBytes: 2 * 1024 * 1024 },
    onError: () => {},
  });
});

after(async () => {
  for (const r of raws) r.close();
  await h2c?.close(1000);
  await tlsServer?.close(1000);
  cleanupCerts();
});

describe('own HTTP/2 engine: frames', () => {
  it('serves a request that arrives one byte at a time', async () => {
    const r = await open();
    const bytes = Buffer.concat([
      PREFACE,
      F.frame(F.T_SETTINGS, 0, 0),
      headers(1, POST, F.F_END_HEADERS),
      // DATA with padding: pad length 3, "hello", 3 zero bytes
      F.frame(F.T_DATA, F.F_PADDED | F.F_END_STREAM, 1, Buffer.from('\x03hello\0\0\0', 'latin1')),
    ]);
    for (const b of bytes) {
      await new Promise<void>((done) => r.sock.write(Buffer.from([b]), () => done()));
      await new Promise((done) => setImmediate(done));
    }
    const s = await r.next((f) => f.type === F.T_SETTINGS && (f.flags & F.F_ACK) === 0);
    assert.ok(s !== null);
    assert.ok(await r.next((f) => f.type === F.T_SETTINGS && (f.flags & F.F_ACK) !== 0));
    const res = await r.response(1);
    assert.equal(res.status, 200);
    assert.equal(res.body, 'hello');
  });

  it('frames cut anywhere across reads: full-size DATA frames in odd pieces, several streams', async () => {
    const r = await open();
    // Two uploads of two full-size (16 KiB) DATA frames each, then a GET, written as one byte
    // stream in pieces of 1, 7, 4093 and 9 bytes in turn, so frame boundaries fall everywhere:
    // inside a frame header, inside a payload, and several frames ending in one piece.
    const body = (sid: number): Buffer => {
      const b = Buffer.alloc(2 * 16384);
      for (let k = 0; k < b.length; k++) b[k] = (k * 31 + sid) & 0xff;
      return b;
    };
    const b1 = body(1);
    const b3 = body(3);
    const stream = Buffer.concat([
      PREFACE,
      F.frame(F.T_SETTINGS, 0, 0),
      F.frame(F.T_WINDOW_UPDATE, 0, 0, u32(1 << 20)),
      headers(1, POST, F.F_END_HEADERS),
      headers(3, POST, F.F_END_HEADERS),
      F.frame(F.T_DATA, 0, 1, b1.subarray(0, 16384)),
      F.frame(F.T_DATA, 0, 3, b3.subarray(0, 16384)),
      F.frame(F.T_DATA, F.F_END_STREAM, 1, b1.subarray(16384)),
      F.frame(F.T_DATA, F.F_END_STREAM, 3, b3.subarray(16384)),
      headers(5, GET),
    ]);
    const sizes = [1, 7, 4093, 9];
    for (let at = 0, k = 0; at < stream.length; k++) {
      const n = Math.min(sizes[k % sizes.length]!, stream.length - at);
      await new Promise<void>((done) => r.sock.write(stream.subarray(at, at + n), () => done()));
      if (k % 3 === 0) await new Promise((done) => setImmediate(done));
      at += n;
    }
    const [one, three, five] = [await r.response(1), await r.response(3), await r.response(5)];
    assert.equal(one.status, 200);
    assert.ok(Buffer.from(one.body, 'latin1').equals(b1), 'stream 1 body');
    assert.ok(Buffer.from(three.body, 'latin1').equals(b3), 'stream 3 body');
    assert.equal(five.body, 'ok');
  });

  it('takes trailers, padded HEADERS with priority, and ignores unknown frames', async () => {
    const r = await open();
    r.hello();
    const hb = block(POST);
    // PADDED | PRIORITY: pad length 2, dependency 0, weight 16, block, 2 pad bytes.
    const payload = Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 16]), hb, Buffer.alloc(2)]);
    r.send(
      F.frame(0xfa, 0, 0, Buffer.from('unknown')),
      F.frame(F.T_HEADERS, F.F_END_HEADERS | F.F_PADDED | F.F_PRIORITY, 1, payload),
      F.frame(F.T_DATA, 0, 1, Buffer.from('body')),
      F.frame(F.T_PRIORITY, 0, 1, Buffer.from([0, 0, 0, 0, 9])),
      headers(1, [['x-check', 'sum']]),
    );
    const res = await r.response(1);
    assert.equal(res.status, 200);
    assert.equal(res.body, 'body');
    assert.equal(res.fields[res.fields.indexOf('x-trailer') + 1], 'x-check=sum');
  });

  it('answers PING with an ACK carrying the same payload', async () => {
    const r = await open();
    r.hello();
    r.send(F.frame(F.T_PING, 0, 0, Buffer.from('12345678')));
    const f = await r.next((x) => x.type === F.T_PING);
    assert.ok(f !== null);
    assert.equal(f.flags & F.F_ACK, F.F_ACK);
    assert.equal(f.payload.toString(), '12345678');
  });

  const connectionErrors: [string, () => Buffer, number][] = [
    ['DATA on stream 0', () => F.frame(F.T_DATA, 0, 0, Buffer.from('x')), F.PROTOCOL_ERROR],
    [
      'a frame over 16384 bytes',
      () => F.frame(F.T_DATA, 0, 1, Buffer.alloc(16385)),
      F.FRAME_SIZE_ERROR,
    ],
    ['PING of 7 bytes', () => F.frame(F.T_PING, 0, 0, Buffer.alloc(7)), F.FRAME_SIZE_ERROR],
    ['PING on a stream', () => F.frame(F.T_PING, 0, 1, Buffer.alloc(8)), F.PROTOCOL_ERROR],
    ['SETTINGS of 5 bytes', () => F.frame(F.T_SETTINGS, 0, 0, Buffer.alloc(5)), F.FRAME_SIZE_ERROR],
    [
      'SETTINGS ACK with a payload',
      () => F.frame(F.T_SETTINGS, F.F_ACK, 0, Buffer.alloc(6)),
      F.FRAME_SIZE_ERROR,
    ],
    [
      'INITIAL_WINDOW_SIZE over 2^31-1',
      () => F.frame(F.T_SETTINGS, 0, 0, Buffer.from([0, 4, 0x80, 0, 0, 0])),
      F.FLOW_CONTROL_ERROR,
    ],
    [
      'MAX_FRAME_SIZE under 16384',
      () => F.frame(F.T_SETTINGS, 0, 0, Buffer.from([0, 5, 0, 0, 0x10, 0])),
      F.PROTOCOL_ERROR,
    ],
    [
      'ENABLE_PUSH 2',
      () => F.frame(F.T_SETTINGS, 0, 0, Buffer.from([0, 2, 0, 0, 0, 2])),
      F.PROTOCOL_ERROR,
    ],
    [
      'WINDOW_UPDATE of 0 on the connection',
      () => F.frame(F.T_WINDOW_UPDATE, 0, 0, u32(0)),
      F.PROTOCOL_ERROR,
    ],
    [
      'connection window over 2^31-1',
      () => F.frame(F.T_WINDOW_UPDATE, 0, 0, u32(0x7fffffff)),
      F.FLOW_CONTROL_ERROR,
    ],
    ['HEADERS on an even stream', () => headers(2, GET), F.PROTOCOL_ERROR],
    [
      'a malformed header block',
      () => F.frame(F.T_HEADERS, F.F_END_HEADERS | F.F_END_STREAM, 1, Buffer.from([0x80])),
      F.COMPRESSION_ERROR,
    ],
    [
      'CONTINUATION without HEADERS',
      () => F.frame(F.T_CONTINUATION, F.F_END_HEADERS, 1, block(GET)),
      F.PROTOCOL_ERROR,
    ],
    [
      'another frame inside a header block',
      () =>
        Buffer.concat([headers(1, GET, F.F_END_STREAM), F.frame(F.T_PING, 0, 0, Buffer.alloc(8))]),
      F.PROTOCOL_ERROR,
    ],
    [
      'PUSH_PROMISE from a client',
      () => F.frame(F.T_PUSH_PROMISE, F.F_END_HEADERS, 1, Buffer.alloc(4)),
      F.PROTOCOL_ERROR,
    ],
    ['RST_STREAM on an idle stream', () => F.frame(F.T_RST_STREAM, 0, 9, u32(8)), F.PROTOCOL_ERROR],
    ['DATA on an idle stream', () => F.frame(F.T_DATA, 0, 9, Buffer.from('x')), F.PROTOCOL_ERROR],
    [
      'a stream id below the last one',
      () => Buffer.concat([headers(5, GET), headers(3, GET)]),
      F.PROTOCOL_ERROR,
    ],
    [
      'padding as long as the frame',
      () => F.frame(F.T_DATA, F.F_PADDED, 1, Buffer.from([4, 1, 2, 3])),
      F.PROTOCOL_ERROR,
    ],
  ];
  for (const [name, bytes, code] of connectionErrors) {
    it(`GOAWAY ${code} for ${name}`, async () => {
      const r = await open();
      r.hello();
      r.send(bytes());
      assert.equal(await r.goaway(), code);
    });
  }

  it('GOAWAY PROTOCOL_ERROR when the first frame is not SETTINGS', async () => {
    const r = await open();
    r.send(PREFACE, F.frame(F.T_PING, 0, 0, Buffer.alloc(8)));
    assert.equal(await r.goaway(), F.PROTOCOL_ERROR);
  });

  it('GOAWAY STREAM_CLOSED for HEADERS on a closed stream', async () => {
    const r = await open();
    r.hello();
    r.send(headers(1, GET));
    assert.equal((await r.response(1)).status, 200);
    r.send(headers(1, GET));
    assert.equal(await r.goaway(), F.STREAM_CLOSED);
  });

  const streamErrors: [string, (sid: number) => Buffer, number][] = [
    [
      'no :path',
      (sid) =>
        headers(
          sid,
          GET.filter(([n]) => n !== ':path'),
        ),
      F.PROTOCOL_ERROR,
    ],
    [
      'an empty :path',
      (sid) =>
        headers(
          sid,
          GET.map(([n, v]) => [n, n === ':path' ? '' : v]),
        ),
      F.PROTOCOL_ERROR,
    ],
    ['a duplicate :method', (sid) => headers(sid, [...GET, [':method', 'GET']]), F.PROTOCOL_ERROR],
    [
      'a pseudo-header after a field',
      (sid) =>
        headers(sid, [
          [':method', 'GET'],
          ['x', '1'],
          [':path', '/'],
          [':scheme', 'http'],
        ]),
      F.PROTOCOL_ERROR,
    ],
    [
      'an unknown pseudo-header',
      (sid) => headers(sid, [...GET, [':protocol', 'websocket']]),
      F.PROTOCOL_ERROR,
    ],
    [
      'a response pseudo-header',
      (sid) => headers(sid, [...GET, [':status', '200']]),
      F.PROTOCOL_ERROR,
    ],
    ['an uppercase name', (sid) => headers(sid, [...GET, ['X-Up', '1']]), F.PROTOCOL_ERROR],
    [
      'connection: keep-alive',
      (sid) => headers(sid, [...GET, ['connection', 'keep-alive']]),
      F.PROTOCOL_ERROR,
    ],
    [
      'transfer-encoding',
      (sid) => headers(sid, [...GET, ['transfer-encoding', 'chunked']]),
      F.PROTOCOL_ERROR,
    ],
    ['te: gzip', (sid) => headers(sid, [...GET, ['te', 'gzip']]), F.PROTOCOL_ERROR],
    ['a CR in a value', (sid) => headers(sid, [...GET, ['x', 'a\rb']]), F.PROTOCOL_ERROR],
    [
      'more DATA than content-length',
      (sid) =>
        Buffer.concat([
          headers(sid, [...POST, ['content-length', '2']], F.F_END_HEADERS),
          F.frame(F.T_DATA, F.F_END_STREAM, sid, Buffer.from('abc')),
        ]),
      F.PROTOCOL_ERROR,
    ],
    [
      'less DATA than content-length',
      (sid) =>
        Buffer.concat([
          headers(sid, [...POST, ['content-length', '5']], F.F_END_HEADERS),
          F.frame(F.T_DATA, F.F_END_STREAM, sid, Buffer.from('abc')),
        ]),
      F.PROTOCOL_ERROR,
    ],
    [
      'trailers without END_STREAM',
      (sid) =>
        Buffer.concat([
          headers(sid, POST, F.F_END_HEADERS),
          headers(sid, [['x', '1']], F.F_END_HEADERS),
        ]),
      F.PROTOCOL_ERROR,
    ],
    [
      'a stream window overrun',
      (sid) =>
        Buffer.concat([
          // /hold does not read its body: nothing re-opens the window.
          headers(
            sid,
            POST.map(([n, v]) => [n, n === ':path' ? '/hold' : v]),
            F.F_END_HEADERS,
          ),
          ...Array.from({ length: 5 }, () => F.frame(F.T_DATA, 0, sid, Buffer.alloc(16384))),
        ]),
      F.FLOW_CONTROL_ERROR,
    ],
    [
      'WINDOW_UPDATE of 0 on a stream',
      (sid) =>
        Buffer.concat([
          headers(sid, POST, F.F_END_HEADERS),
          F.frame(F.T_WINDOW_UPDATE, 0, sid, u32(0)),
        ]),
      F.PROTOCOL_ERROR,
    ],
    [
      'a stream depending on itself',
      (sid) =>
        Buffer.concat([
          headers(sid, POST, F.F_END_HEADERS),
          F.frame(F.T_PRIORITY, 0, sid, Buffer.from([0, 0, 0, sid, 1])),
        ]),
      F.PROTOCOL_ERROR,
    ],
    [
      'PRIORITY of 4 bytes',
      (sid) => F.frame(F.T_PRIORITY, 0, sid, Buffer.alloc(4)),
      F.FRAME_SIZE_ERROR,
    ],
  ];
  it('RST_STREAM with the right code for stream errors, and the connection keeps serving', async () => {
    const r = await open();
    r.hello();
    let sid = 1;
    for (const [name, bytes, code] of streamErrors) {
      r.send(bytes(sid));
      assert.equal(await r.rst(sid), code, name);
      sid += 2;
      r.send(headers(sid, GET));
      assert.equal((await r.response(sid)).status, 200, `after ${name}`);
      sid += 2;
    }
    assert.equal(
      r.frames.some((f) => f.type === F.T_GOAWAY),
      false,
    );
  });

  it('REFUSED_STREAM past SETTINGS_MAX_CONCURRENT_STREAMS', async () => {
    const r = await open();
    r.hello();
    for (let i = 0; i < 5; i++) r.send(headers(1 + 2 * i, POST, F.F_END_HEADERS));
    assert.equal(await r.rst(9), F.REFUSED_STREAM);
    for (let i = 0; i < 4; i++)
      r.send(F.frame(F.T_DATA, F.F_END_STREAM, 1 + 2 * i, Buffer.from(`b${i}`)));
    for (let i = 0; i < 4; i++) assert.equal((await r.response(1 + 2 * i)).body, `b${i}`);
  });

  it('431 for a header list over maxHeaderBytes, 501 for CONNECT', async () => {
    const r = await open();
    r.hello();
    r.send(headers(1, [...GET, ['x-big', 'v'.repeat(5000)]]));
    assert.equal((await r.response(1)).status, 431);
    r.send(
      headers(3, [
        [':method', 'CONNECT'],
        [':authority', 'example.com:443'],
      ]),
    );
    assert.equal((await r.response(3)).status, 501);
  });

  it('cuts a CONTINUATION flood with GOAWAY ENHANCE_YOUR_CALM', async () => {
    const r = await open();
    r.hello();
    const frames = [headers(1, GET, F.F_END_STREAM)];
    for (let i = 0; i < 100; i++)
      frames.push(F.frame(F.T_CONTINUATION, 0, 1, block([['x-pad', 'a'.repeat(100)]])));
    r.send(...frames);
    assert.equal(await r.goaway(), F.ENHANCE_YOUR_CALM);
  });

  it('sends GOAWAY with the last stream id on close() and finishes the open stream', async () => {
    const server = await serve({
      port: 0,
      host: '127.0.0.1',
      h2c: true,
      handler,
      onError: () => {},
    });
    const r = await Raw.open(server.port);
    raws.push(r);
    r.hello();
    r.send(headers(3, [...GET.filter(([n]) => n !== ':path'), [':path', '/hold']]));
    await r.next((f) => f.type === F.T_SETTINGS && (f.flags & F.F_ACK) !== 0);
    await new Promise((done) => setTimeout(done, 50));
    const closed = server.close(10_000);
    const g = await r.next((f) => f.type === F.T_GOAWAY);
    assert.ok(g !== null);
    assert.equal(g.payload.readUInt32BE(0), 3);
    assert.equal(g.payload.readUInt32BE(4), F.NO_ERROR);
    assert.equal((await r.response(3)).body, 'late');
    await closed;
  });
});

describe('own HTTP/2 engine: flow control and real clients', () => {
  it('never sends past a tiny client window (Node http2 client, 1 MB response)', async () => {
    const s = await h2connect(`http://127.0.0.1:${h2c.port}`, {
      settings: { initialWindowSize: 1000 },
    });
    try {
      const r = await h2request(s, { ':path': '/big' });
      assert.equal(r.status, 200);
      assert.ok(r.body.equals(BIG));
    } finally {
      s.destroy();
    }
  });

  it('reads a 1 MB upload through the stream window (TLS)', async () => {
    const s = await h2connect(`https://127.0.0.1:${tlsServer.port}`);
    try {
      const r = await h2request(s, { ':method': 'POST', ':path': '/echo' }, BIG);
      assert.equal(r.status, 200);
      assert.ok(r.body.equals(BIG));
    } finally {
      s.destroy();
    }
  });

  it('applies a SETTINGS_INITIAL_WINDOW_SIZE change to open streams', async () => {
    const r = await open();
    r.send(PREFACE, F.frame(F.T_SETTINGS, 0, 0, Buffer.from([0, 4, 0, 0, 0, 100])));
    r.send(headers(1, [...GET.filter(([n]) => n !== ':path'), [':path', '/big']]));
    await r.next((f) => f.type === F.T_HEADERS && f.sid === 1);
    const got = (): number =>
      r.frames
        .filter((f) => f.type === F.T_DATA && f.sid === 1)
        .reduce((n, f) => n + f.payload.length, 0);
    await r.next((f) => f.type === F.T_DATA && f.sid === 1);
    assert.equal(got(), 100);
    // Widen the window of every open stream by the difference, and the connection's.
    r.send(
      F.frame(F.T_SETTINGS, 0, 0, Buffer.from([0, 4, 0, 0, 0x10, 0])),
      F.frame(F.T_WINDOW_UPDATE, 0, 0, u32(1 << 20)),
    );
    while (got() < 4096) await r.next((f) => f.type === F.T_DATA && f.sid === 1, r.frames.length);
    assert.equal(got(), 4096);
  });

  it('curl --http2 (TLS) and curl --http2-prior-knowledge (h2c)', async () => {
    const a = await run('curl', [
      '-sk',
      '--http2',
      '-w',
      '|%{http_version}',
      `https://127.0.0.1:${tlsServer.port}/`,
    ]);
    assert.equal(a.stdout, 'ok|2');
    const b = await run('curl', [
      '-s',
      '--http2-prior-knowledge',
      '--data-binary',
      'posted',
      '-w',
      '|%{http_version}',
      `http://127.0.0.1:${h2c.port}/echo`,
    ]);
    assert.equal(b.stdout, 'posted|2');
  });

  it('nghttp (nghttp2-client) over TLS and h2c, many streams and a body', async () => {
    const a = await run('nghttp', [
      '-n',
      '-s',
      '-m',
      '20',
      `https://127.0.0.1:${tlsServer.port}/big`,
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout.match(/ 200 +1M \/big/g)?.length, 20, a.stdout);
    const b = await run('nghttp', ['-v', `http://127.0.0.1:${h2c.port}/`]);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /:status: 200/);
    assert.match(b.stdout, /\nok\[/); // the body, printed before the DATA frame line
    assert.doesNotMatch(b.stdout, /PROTOCOL_ERROR|COMPRESSION_ERROR/);
  });

  it('keeps serving a bystander session', async () => {
    const s = await h2connect(`https://127.0.0.1:${tlsServer.port}`);
    try {
      const replies = await Promise.all(
        Array.from({ length: 50 }, () => h2request(s, { ':path': '/' })),
      );
      assert.ok(replies.every((r) => r.body.toString() === 'ok'));
    } finally {
      s.destroy();
    }
  });
});
