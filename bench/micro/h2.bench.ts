/**
 * One HTTP/2 request/response pair per iteration, without sockets: the decoded header list mapped
 * onto the request, then the response head built and handed over, for Rapid's own engine
 * (H2StreamRequest/H2StreamResponse with an owner that only counts what it is given) and for
 * node:http2 (H2Request/H2Response on a stand-in stream whose respond()/end() only count).
 */
import type { ServerHttp2Stream } from 'node:http2';
import { H2Request, H2Response, H2StreamRequest, H2StreamResponse } from '../../src/http2/index.js';
import type { StreamOwner } from '../../src/http2/stream.js';
import { Suite } from './harness.js';

let count = 0;
const owner: StreamOwner = {
  beginHead: () => void count++,
  headField: () => void count++,
  headLength: () => void count++,
  endHead: () => undefined,
  sendData: (_res, data) => void (count += data.length),
  writable: () => true,
  waitWritable: () => Promise.resolve(),
  finished: () => undefined,
  resetStream: () => undefined,
  credit: () => undefined,
};
const stream = {
  destroyed: false,
  closed: false,
  respond: () => void count++,
  end: (data?: Buffer) => void (count += data === undefined ? 0 : data.length),
} as unknown as ServerHttp2Stream;
const session = { finish: () => undefined };
const ctx = { remoteAddress: '127.0.0.1', remotePort: 50000, secure: true, maxBodyBytes: 1 << 20 };

// What h2load sends.
const FIELDS = [
  ':method',
  'GET',
  ':scheme',
  'https',
  ':authority',
  '127.0.0.1:8443',
  ':path',
  '/plaintext',
  'user-agent',
  'h2load nghttp2/1.59.0',
  'accept',
  '*/*',
];
const PAYLOAD = { message: 'Hello, World!' };

export const suite = new Suite('http2 stream')
  .add('own engine: request + Server, Content-Type, send(string)', () => {
    const req = new H2StreamRequest(FIELDS, true, ctx);
    const res = new H2StreamResponse(1, req, owner, 65535, 65535);
    res.setHeader('Server', 'Rapid');
    res.setHeader('Content-Type', 'text/plain');
    res.send('Hello, World!');
    return count;
  })
  .add('own engine: request + json(object)', () => {
    const req = new H2StreamRequest(FIELDS, true, ctx);
    const res = new H2StreamResponse(1, req, owner, 65535, 65535);
    res.json(PAYLOAD);
    return count;
  })
  .add('node:http2: request + Server, Content-Type, send(string)', () => {
    const req = new H2Request(stream, FIELDS, true, ctx);
    const res = new H2Response(req, session);
    res.setHeader('Server', 'Rapid');
    res.setHeader('Content-Type', 'text/plain');
    res.send('Hello, World!');
    return count;
  });
