/* global Bun */
// Bun peer, run with the `bun` binary from bench/node_modules (the npm package ships it):
// Bun.serve with the same routes. Bun adds Date and Content-Length itself.
const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const headersText = { Server: 'bun', 'Content-Type': 'text/plain' };
const headersJson = { Server: 'bun', 'Content-Type': 'application/json' };

const staticRoot = process.env.STATIC_ROOT;

const server = Bun.serve({
  port,
  hostname: host,
  idleTimeout: 75,
  fetch(req) {
    const path = new URL(req.url).pathname;
    if (req.method === 'GET' && path === '/plaintext') {
      return new Response('Hello, World!', { headers: headersText });
    }
    if (req.method === 'GET' && path === '/json') {
      return new Response(JSON.stringify({ message: 'Hello, World!' }), { headers: headersJson });
    }
    if (staticRoot !== undefined && path.startsWith('/static/') && !path.includes('..')) {
      // Bun.file responses go out with sendfile where the platform allows it.
      const file = Bun.file(staticRoot + path);
      return file
        .exists()
        .then((ok) => (ok ? new Response(file) : new Response('Not Found', { status: 404 })));
    }
    return new Response('Not Found', { status: 404 });
  },
});
console.log(`bun listening on http://${host}:${server.port}`);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
