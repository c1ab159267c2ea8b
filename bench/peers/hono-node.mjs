// Hono on its own Node adapter (@hono/node-server over node:http, with its default lightweight
// Request/Response globals), serving bench/peers/hono-app.mjs.
import { serve } from '@hono/node-server';
import { createHonoApp } from './hono-app.mjs';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const app = createHonoApp('hono-node');
const server = serve({ fetch: app.fetch, port, hostname: host }, () => {
  console.log(`hono-node listening on http://${host}:${port}`);
});
server.keepAliveTimeout = 75_000;
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
