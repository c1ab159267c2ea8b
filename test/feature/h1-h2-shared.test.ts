/**
 * The shared feature suite: one table of request -> expected response cases over routing, the
 * application layer, body parsers, errors and static files (output cache, 304, 206,
 * compression), run over HTTPS with HTTP/1.1 and with HTTP/2 against the same server (and over
 * HTTP/2 on a second server with the node:http2 engine). Every case must give the same answer
 * on both protocols and both HTTP/2 engines.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import type http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { createApp } from '../../src/app/index.js';
import { defaultBodyParsers } from '../../src/app/body/index.js';
import type { Handler } from '../../src/core/types.js';
import { createStaticHandler } from '../../src/features/static/index.js';
import { serve, type RapidServer } from '../../src/server/server.js';
import { makeSite, removeSite } from '../helpers/static-site.js';
import { cleanupCerts, h2connect, h2request, makeCert } from '../helpers/tls.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

interface Req {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

const BIG = 'All work and no play makes Jack a dull boy.\n'.repeat(400);
const files = {
  'static/a.txt': 'hello static world\n',
  'static/big.txt': BIG,
  'static/index.html': '<!doctype html><title>index</title>',
};

let root: string;
let server: RapidServer;
let session: http2.ClientHttp2Session;
/** The same handler on the node:http2 engine (http2Engine: 'node'). */
let nodeServer: RapidServer;
let nodeSession: http2.ClientHttp2Session;
const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });

function h1(r: Req): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: server.port,
        method: r.method ?? 'GET',
        path: r.path,
        headers: r.headers,
        agent,
        ALPNProtocols: ['http/1.1'],
      } as https.RequestOptions,
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(r.body);
  });
}

async function h2(r: Req, s: http2.ClientHttp2Session = session): Promise<Reply> {
  const reply = await h2request(
    s,
    { ':method': r.method ?? 'GET', ':path': r.path, ...r.headers },
    r.body,
  );
  return reply as unknown as Reply;
}

interface Case {
  name: string;
  req: Req | ((send: (r: Req) => Promise<Reply>) => Promise<Req>);
  status: number;
  body?: string | RegExp;
  headers?: Record<string, string | RegExp | undefined>;
  check?: (r: Reply) => void;
}

const cases: Case[] = [
  { name: 'route returning a string', req: { path: '/hello' }, status: 200, body: 'hello' },
  {
    name: 'route with a constrained param',
    req: { path: '/users/42?x=1' },
    status: 200,
    body: '{"id":"42","q":"1"}',
    headers: { 'content-type': /application\/json/ },
  },
  { name: 'no route: 404', req: { path: '/users/abc' }, status: 404 },
  {
    name: 'wrong method: 405 with Allow',
    req: { method: 'DELETE', path: '/hello' },
    status: 405,
    headers: { allow: /GET/ },
  },
  {
    name: 'JSON body parsed',
    req: {
      method: 'POST',
      path: '/echo',
      headers: { 'content-type': 'application/json' },
      body: '{"a":[1,2]}',
    },
    status: 200,
    body: '{"a":[1,2]}',
  },
  {
    name: 'urlencoded body parsed',
    req: {
      method: 'POST',
      path: '/echo',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1&b=two',
    },
    status: 200,
    body: '{"a":"1","b":"two"}',
  },
  {
    name: 'malformed JSON: 400',
    req: {
      method: 'POST',
      path: '/echo',
      headers: { 'content-type': 'application/json' },
      body: '{"a":',
    },
    status: 400,
  },
  {
    name: 'unsupported media type: 415',
    req: {
      method: 'POST',
      path: '/echo',
      headers: { 'content-type': 'application/x-unknown' },
      body: 'x',
    },
    status: 415,
  },
  {
    name: 'handler throws: 500 error page',
    req: { path: '/boom' },
    status: 500,
    body: /RAPID_ERR_HANDLER_FAILED/,
  },
  {
    name: 'cookies and headers reach the app',
    req: { path: '/whoami', headers: { cookie: 'sid=abc', 'x-test': 'yes' } },
    status: 200,
    body: '{"sid":"abc","x":"yes","protocol":"https"}',
  },
  {
    name: 'static file',
    req: { path: '/static/a.txt' },
    status: 200,
    body: 'hello static world\n',
    headers: { 'content-type': /^text\/plain/, etag: /^"/, 'last-modified': /GMT$/ },
  },
  {
    name: 'static file again (output cache)',
    req: { path: '/static/a.txt' },
    status: 200,
    body: 'hello static world\n',
  },
  {
    name: 'static default document',
    req: { path: '/static/' },
    status: 200,
    body: /<title>index<\/title>/,
  },
  {
    name: 'static HEAD: length, no body',
    req: { method: 'HEAD', path: '/static/a.txt' },
    status: 200,
    body: '',
    headers: { 'content-length': '19' },
  },
  {
    name: 'static 304 on If-None-Match',
    req: async (send) => {
      const first = await send({ path: '/static/a.txt' });
      return { path: '/static/a.txt', headers: { 'if-none-match': String(first.headers.etag) } };
    },
    status: 304,
    body: '',
  },
  {
    name: 'static 206 range',
    req: { path: '/static/a.txt', headers: { range: 'bytes=6-11' } },
    status: 206,
    body: 'static',
    headers: { 'content-range': 'bytes 6-11/19' },
  },
  {
    name: 'static 416 unsatisfiable range',
    req: { path: '/static/a.txt', headers: { range: 'bytes=100-200' } },
    status: 416,
  },
  {
    name: 'static gzip by Accept-Encoding',
    req: { path: '/static/big.txt', headers: { 'accept-encoding': 'gzip' } },
    status: 200,
    headers: { 'content-encoding': 'gzip', vary: /accept-encoding/i },
    check: (r) => assert.equal(gunzipSync(r.body).toString(), BIG),
  },
  { name: 'static missing file: 404', req: { path: '/static/nope.txt' }, status: 404 },
  {
    name: 'no way out of the root',
    req: { path: '/static/%2e%2e/%2e%2e/etc/passwd' },
    status: 400,
    check: (r) => assert.doesNotMatch(r.body.toString(), /root:/),
  },
];

before(async () => {
  root = makeSite(files, 'rapid-h1h2-');
  const app = createApp({ bodyParsers: defaultBodyParsers() });
  app.get('/hello', () => 'hello');
  app.get('/users/:id(\\d+)', (req) => ({ id: req.params.id, q: req.query.x }));
  app.post('/echo', (req) => req.parseBody());
  app.get('/boom', () => {
    throw new Error('secret detail');
  });
  app.get('/whoami', (req) => ({
    sid: req.cookies.sid,
    x: req.header('x-test'),
    protocol: req.protocol,
  }));
  const files_ = createStaticHandler({ root });
  const handler: Handler = (req, res) =>
    req.path.startsWith('/static/') ? files_(req, res) : app.handler(req, res);
  const cert = makeCert('localhost', '127.0.0.1');
  server = await serve({
    port: 0,
    host: '127.0.0.1',
    handler,
    tls: { cert: cert.cert, key: cert.key },
    onError: () => {},
  });
  session = await h2connect(`https://127.0.0.1:${server.port}`);
  nodeServer = await serve({
    port: 0,
    host: '127.0.0.1',
    handler,
    tls: { cert: cert.cert, key: cert.key },
    http2Engine: 'node',
    onError: () => {},
  });
  nodeSession = await h2connect(`https://127.0.0.1:${nodeServer.port}`);
  after(() => files_.close());
});

after(async () => {
  session?.destroy();
  nodeSession?.destroy();
  agent.destroy();
  await server?.close(1000);
  await nodeServer?.close(1000);
  if (root !== undefined) removeSite(root);
  cleanupCerts();
});

for (const [proto, send] of [
  ['HTTP/1.1', h1],
  ['HTTP/2', (r: Req) => h2(r)],
  ['HTTP/2 (node engine)', (r: Req) => h2(r, nodeSession)],
] as const) {
  describe(`shared feature suite over ${proto} (TLS)`, () => {
    for (const c of cases) {
      it(c.name, async () => {
        const req = typeof c.req === 'function' ? await c.req(send) : c.req;
        const r = await send(req);
        assert.equal(r.status, c.status, `${proto} ${c.name}: ${r.body.toString()}`);
        if (typeof c.body === 'string') assert.equal(r.body.toString(), c.body);
        else if (c.body instanceof RegExp) assert.match(r.body.toString(), c.body);
        for (const [name, want] of Object.entries(c.headers ?? {})) {
          const got = r.headers[name];
          if (want instanceof RegExp) assert.match(String(got), want, name);
          else assert.equal(got, want, name);
        }
        c.check?.(r);
      });
    }
  });
}
