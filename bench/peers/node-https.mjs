// node:https peer for bench/tls.ts: Node's own HTTPS server (HTTP/1.1), the same /plaintext as
// bench/peers/node-http.mjs, same certificate and TLS defaults as every server in the run.
import https from 'node:https';
import { readFileSync } from 'node:fs';

const port = Number(process.env.PORT ?? 8443);
const host = process.env.HOST ?? '127.0.0.1';
const PLAIN = 'Hello, World!';
const server = https.createServer(
  {
    cert: readFileSync(process.env.CERT),
    key: readFileSync(process.env.KEY),
    keepAliveTimeout: 75_000,
  },
  (req, res) => {
    if (req.url === '/plaintext') {
      res.writeHead(200, {
        Server: 'node',
        'Content-Type': 'text/plain',
        'Content-Length': PLAIN.length,
      });
      res.end(PLAIN);
    } else {
      res.writeHead(404, { 'Content-Length': 9 });
      res.end('Not Found');
    }
  },
);
server.listen(port, host);
process.on('SIGTERM', () => process.exit(0));
