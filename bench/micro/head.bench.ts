/**
 * Building a response: status line, headers, Date, Content-Length and body into the piece(s) the
 * connection writes, through H1Response with a sink that only keeps the bytes' length.
 */
import { H1Response, type ResponseSink } from '../../src/http1/response.js';
import { chunkHeader, statusLine } from '../../src/http1/serializer.js';
import { Suite } from './harness.js';

let written = 0;
const sink: ResponseSink = {
  write(_res, piece) {
    written += piece.length;
  },
  finish() {},
  blocked: () => false,
  closed: false,
  waitDrain: () => Promise.resolve(),
  abort() {},
};

const PAYLOAD = { message: 'Hello, World!' };
const BIG = Buffer.alloc(16 * 1024, 'a');

export const suite = new Suite('response head')
  .add('statusLine(200)', () => statusLine(200))
  .add('chunkHeader(8192)', () => chunkHeader(8192))
  .add('plaintext: Server + Content-Type, send(string)', () => {
    const res = new H1Response(sink, null, true);
    res.setHeader('Server', 'Rapid');
    res.setHeader('Content-Type', 'text/plain');
    res.send('Hello, World!');
    return written;
  })
  .add('json: Server, json(object)', () => {
    const res = new H1Response(sink, null, true);
    res.setHeader('Server', 'Rapid');
    res.json(PAYLOAD);
    return written;
  })
  .add('6 headers incl. 2 Set-Cookie, 404, send(Buffer 16 KB)', () => {
    const res = new H1Response(sink, null, true);
    res.status(404);
    res.setHeader('Server', 'Rapid');
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Request-Id', 'abc123');
    res.appendHeader('Set-Cookie', 'a=1; Path=/; HttpOnly');
    res.appendHeader('Set-Cookie', 'b=2; Path=/; Secure');
    res.send(BIG);
    return written;
  });
