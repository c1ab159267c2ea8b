/**
 * Rapid's benchmark app: `npm run bench:serve` (PORT, default 8080; HOST, default 127.0.0.1).
 * One process, the routes as TechEmpower defines them, so any load generator can be pointed at it:
 *   GET /plaintext  "Hello, World!" as text/plain
 *   GET /json       {"message":"Hello, World!"}, serialized per request
 *   GET /static/*   files under $STATIC_ROOT/static (the suite's 1k.bin and 64k.bin) through the
 *                   static handler and its output cache, when STATIC_ROOT is set
 * ROUTES=n serves the same two routes through the application layer's router holding n routes in
 * all (half static, half with parameters), for issue 3's "1,000 routes" measurement.
 * with Server and Date headers (the engine adds Date and Content-Length); anything else is 404.
 */
import { join } from 'node:path';
import { serve } from '../src/server/server.js';
import type { RapidRequest, RapidResponse } from '../src/core/types.js';
import { createStaticHandler } from '../src/features/static/index.js';
import { createApp } from '../src/app/index.js';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const staticRoot = process.env.STATIC_ROOT;
const files =
  staticRoot === undefined || staticRoot === ''
    ? null
    : createStaticHandler({ root: join(staticRoot, 'static'), prefix: '/static' });

function handler(req: RapidRequest, res: RapidResponse): void | Promise<void> {
  res.setHeader('Server', 'Rapid');
  if (req.method === 'GET') {
    if (req.path === '/plaintext') {
      res.setHeader('Content-Type', 'text/plain');
      res.send('Hello, World!');
      return;
    }
    if (req.path === '/json') {
      res.json({ message: 'Hello, World!' });
      return;
    }
    if (files !== null && req.path.startsWith('/static/')) return files(req, res);
  }
  res.status(404).setHeader('Content-Type', 'text/plain');
  res.send('Not Found');
}

/** The same app behind the router, with `n` routes registered in all. */
function routedHandler(n: number): (req: RapidRequest, res: RapidResponse) => void {
  const app = createApp();
  for (let i = 0; i < n - 2; i++) {
    if (i % 2 === 0) app.get(`/api/v${i % 7}/res${i}/items`, () => 'static');
    else app.get(`/api/v${i % 7}/res${i}/:id/detail`, () => 'param');
  }
  app.get('/plaintext', handler);
  app.get('/json', handler);
  return app.handler as (req: RapidRequest, res: RapidResponse) => void;
}

const routes = Number(process.env.ROUTES ?? 0);
const server = await serve({ port, host, handler: routes > 0 ? routedHandler(routes) : handler });
console.log(`Rapid bench app listening on http://${host}:${server.port}`);

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void server.close(2000).then(() => process.exit(0));
  });
}
