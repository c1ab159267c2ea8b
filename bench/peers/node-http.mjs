// node:http peer: the baseline every ratio in bench/results is taken against. Written the way a
// careful user would (one handler, explicit Content-Length, keep-alive on, no logging), the same as
// TechEmpower's plain "nodejs" entry. Node adds the Date header itself.
import http from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { join } from 'node:path';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const PLAIN = 'Hello, World!';
// STATIC_ROOT/static/* is served at /static/* the way a plain node:http app does it: stat for the
// length, then a read stream (no cache, no ETag: Node's http module has no static file support).
const staticRoot = process.env.STATIC_ROOT;

function serveFile(req, res) {
  const rel = req.url.split('?')[0];
  if (rel.includes('..') || staticRoot === undefined) return false;
  let st;
  try {
    st = statSync(join(staticRoot, rel));
  } catch {
    return false;
  }
  if (!st.isFile()) return false;
  res.writeHead(200, {
    Server: 'node',
    'Content-Type': 'application/octet-stream',
    'Content-Length': st.size,
    'Last-Modified': st.mtime.toUTCString(),
  });
  createReadStream(join(staticRoot, rel)).pipe(res);
  return true;
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/plaintext') {
    res.writeHead(200, {
      Server: 'node',
      'Content-Type': 'text/plain',
      'Content-Length': Buffer.byteLength(PLAIN),
    });
    res.end(PLAIN);
  } else if (req.method === 'GET' && req.url === '/json') {
    // Serialized per request, as TechEmpower's JSON test requires.
    const body = JSON.stringify({ message: 'Hello, World!' });
    res.writeHead(200, {
      Server: 'node',
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  } else if (req.method === 'GET' && req.url.startsWith('/static/') && serveFile(req, res)) {
    // served
  } else {
    res.writeHead(404, { Server: 'node', 'Content-Type': 'text/plain', 'Content-Length': 9 });
    res.end('Not Found');
  }
});
// Same idle timeout as Rapid's default, so neither closes connections under wrk.
server.keepAliveTimeout = 75_000;
// BACKLOG (bench/c10k.ts): the listen backlog, default Node's 511; REUSEPORT=1: SO_REUSEPORT
// where Node has it (bench/peers/cluster.mjs sets it).
const backlog = Number(process.env.BACKLOG ?? 511);
server.listen({ port, host, backlog, reusePort: process.env.REUSEPORT === '1' }, () => {
  console.log(`node:http listening on http://${host}:${server.address().port}`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
