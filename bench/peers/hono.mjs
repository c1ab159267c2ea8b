// Hono on Node via @hono/node-server (bench/package.json): the Web-standard Request/Response
// adapter over node:http, as Hono's docs set it up.
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';

const app = new Hono();
app.get('/plaintext', (c) => {
  c.header('Server', 'hono');
  return c.text('Hello, World!');
});
app.get('/json', (c) => {
  c.header('Server', 'hono');
  return c.json({ message: 'Hello, World!' });
});
// Static files through @hono/node-server's serveStatic (root + request path).
if (process.env.STATIC_ROOT !== undefined) {
  app.use('/static/*', serveStatic({ root: process.env.STATIC_ROOT }));
}
const server = serve({ fetch: app.fetch, port, hostname: host }, () => {
  console.log(`hono listening on http://${host}:${port}`);
});
server.keepAliveTimeout = 75_000;
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
