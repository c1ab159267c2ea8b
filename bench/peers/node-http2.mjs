// node:http2 peer for bench/tls.ts: Node's own HTTP/2 server over TLS (ALPN h2, and http/1.1
// with allowHTTP1). MODE=stream answers with the core API (stream.respond, the fastest way Node
// offers); MODE=compat with the request/response compatibility API most applications use.
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';

const port = Number(process.env.PORT ?? 8443);
const host = process.env.HOST ?? '127.0.0.1';
const PLAIN = 'Hello, World!';
const server = http2.createSecureServer({
  cert: readFileSync(process.env.CERT),
  key: readFileSync(process.env.KEY),
  allowHTTP1: true,
  settings: { maxConcurrentStreams: 100 },
});
if (process.env.MODE === 'compat') {
  server.on('request', (req, res) => {
    if (req.url === '/plaintext') {
      res.writeHead(200, {
        server: 'node',
        'content-type': 'text/plain',
        'content-length': PLAIN.length,
      });
      res.end(PLAIN);
    } else {
      res.writeHead(404);
      res.end('Not Found');
    }
  });
} else {
  server.on('stream', (stream, headers) => {
    if (headers[':path'] === '/plaintext') {
      stream.respond({
        ':status': 200,
        server: 'node',
        'content-type': 'text/plain',
        'content-length': PLAIN.length,
      });
      stream.end(PLAIN);
    } else {
      stream.respond({ ':status': 404 });
      stream.end('Not Found');
    }
  });
}
server.listen(port, host);
process.on('SIGTERM', () => process.exit(0));
