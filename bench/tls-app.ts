/**
 * Rapid's HTTPS/HTTP2 benchmark app for bench/tls.ts: /plaintext as in bench/app.ts, served with
 * TLS from CERT and KEY (PEM paths) on PORT, HTTP/2 offered by ALPN (H2ENGINE=node: node:http2).
 * ACCESS_LOG=<file>: with a combined access log there (the `-log` peers).
 */
import { serve } from '../src/server/server.js';

const PLAIN = 'Hello, World!';
const server = await serve({
  port: Number(process.env.PORT ?? 8443),
  host: process.env.HOST ?? '127.0.0.1',
  tls: { cert: process.env.CERT ?? 'cert.pem', key: process.env.KEY ?? 'key.pem' },
  http2Engine: process.env.H2ENGINE === 'node' ? 'node' : 'rapid',
  ...(process.env.ACCESS_LOG === undefined
    ? {}
    : { accessLog: { path: process.env.ACCESS_LOG, format: 'combined' as const } }),
  handler(req, res) {
    res.setHeader('Server', 'Rapid');
    if (req.path === '/plaintext') {
      res.setHeader('Content-Type', 'text/plain');
      res.send(PLAIN);
      return;
    }
    res.status(404).send('Not Found');
  },
});
console.log(`Rapid TLS bench app on https://127.0.0.1:${server.port}`);
process.once('SIGTERM', () => void server.close(2000).then(() => process.exit(0)));
