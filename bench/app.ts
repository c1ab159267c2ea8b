/**
 * Rapid's benchmark app: `npm run bench:serve` (PORT, default 8080; HOST, default 127.0.0.1).
 * One process, the routes as TechEmpower defines them, so any load generator can be pointed at it:
 *   GET /plaintext  "Hello, World!" as text/plain
 *   GET /json       {"message":"Hello, World!"}, serialized per request
 *   GET /static/*   files under $STATIC_ROOT/static, by Rapid's static handler with its output
 *                   cache (the defaults a user gets from createStaticHandler({ root, prefix }))
 *   GET /p/<x>/<id> "Hello, World!" as text/plain (the path the "routes" scenario asks for)
 * with Server and Date headers (the engine adds Date and Content-Length); anything else is 404.
 *
 * BENCH_ROUTES=1000 (or ROUTES=1000, as bench/ab.sh passes it) puts the same answers behind the application layer instead: createApp() with
 * 1,000 routes (500 static, 500 parametric), so the "routes" scenario measures what the router and
 * the app cost over the bare engine. BACKLOG sets the listen backlog (default serve()'s), and
 * REUSEPORT=1 asks for SO_REUSEPORT (where Node has it) for the multi-process runs of bench/c10k.ts;
 * HEADERS_TIMEOUT sets limits.headersTimeout (ms) and BENCH_DIAG=1 prints, at exit, how many
 * connections closed before sending a byte and the longest accept-to-first-byte wait.
 * ACCESS_LOG=<file> turns the access log on (ACCESS_FORMAT: common, combined (default) or json),
 * so bench/ab.sh can A/B the log's cost: `ENV_A=ACCESS_LOG=.tmp/a.log ENV_B=ACCESS_LOG=.tmp/b.log`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createApp } from '../src/app/index.js';
import type { Handler, RapidRequest, RapidResponse } from '../src/core/types.js';
import type { AccessLogFormat } from '../src/features/log/index.js';
import { createStaticHandler } from '../src/features/static/index.js';
import { serve } from '../src/server/server.js';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const backlog = process.env.BACKLOG === undefined ? undefined : Number(process.env.BACKLOG);
const routeCount = Number(process.env.BENCH_ROUTES ?? process.env.ROUTES ?? 0);
const staticDir =
  process.env.STATIC_ROOT === undefined ? null : join(process.env.STATIC_ROOT, 'static');
const files =
  staticDir !== null && existsSync(staticDir)
    ? createStaticHandler({ root: staticDir, prefix: '/static' })
    : null;

const PLAIN = 'Hello, World!';

function notFound(res: RapidResponse): void {
  res.status(404).setHeader('Content-Type', 'text/plain');
  res.send('Not Found');
}

function engineHandler(req: RapidRequest, res: RapidResponse): void | Promise<void> {
  res.setHeader('Server', 'Rapid');
  if (req.method === 'GET') {
    const path = req.path;
    if (path === '/plaintext' || path.startsWith('/p/')) {
      res.setHeader('Content-Type', 'text/plain');
      res.send(PLAIN);
      return;
    }
    if (path === '/json') {
      res.json({ message: 'Hello, World!' });
      return;
    }
    if (files !== null && path.startsWith('/static/')) return files(req, res, () => notFound(res));
  }
  notFound(res);
}

/** The application layer with `n` routes: half static (/s/resN/list), half parametric (/p/resN/:id). */
function appHandler(n: number): Handler {
  const app = createApp();
  const plain = (_req: RapidRequest, res: RapidResponse): void => {
    res.setHeader('Server', 'Rapid');
    res.setHeader('Content-Type', 'text/plain');
    res.send(PLAIN);
  };
  const half = Math.max(1, Math.floor(n / 2));
  for (let i = 0; i < half; i++) {
    app.get(`/s/res${i}/list`, plain);
    app.get(`/p/res${i}/:id`, plain);
  }
  app.get('/plaintext', plain);
  app.get('/json', (_req, res) => {
    res.setHeader('Server', 'Rapid');
    res.json({ message: 'Hello, World!' });
  });
  app.ready();
  return app.handler;
}

const handler = routeCount > 0 ? appHandler(routeCount) : engineHandler;
const headersTimeout =
  process.env.HEADERS_TIMEOUT === undefined ? undefined : Number(process.env.HEADERS_TIMEOUT);
const accessLog = process.env.ACCESS_LOG;
const server = await serve({
  port,
  host,
  handler,
  ...(headersTimeout === undefined ? {} : { limits: { headersTimeout } }),
  ...(backlog === undefined ? {} : { backlog }),
  reusePort: process.env.REUSEPORT === '1',
  ...(accessLog === undefined || accessLog === ''
    ? {}
    : {
        accessLog: {
          path: accessLog,
          format: (process.env.ACCESS_FORMAT ?? 'combined') as AccessLogFormat,
        },
      }),
});
console.log(`Rapid bench app listening on http://${host}:${server.port}`);

// BENCH_DIAG=1: count, per process, connections that closed before sending a byte and the longest
// wait from accept to a connection's first byte; printed at exit (to explain failures in c10k).
const diag = { accepted: 0, silent: 0, maxFirstByteMs: 0, over: 0 };
if (process.env.BENCH_DIAG === '1') {
  const limit = Number(process.env.HEADERS_TIMEOUT ?? 20_000);
  server.netServer.on('connection', (socket) => {
    diag.accepted++;
    const t0 = Date.now();
    let got = false;
    socket.once('data', () => {
      got = true;
      const ms = Date.now() - t0;
      if (ms > diag.maxFirstByteMs) diag.maxFirstByteMs = ms;
      if (ms >= limit) diag.over++;
    });
    socket.once('close', () => {
      if (!got) diag.silent++;
    });
  });
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    if (process.env.BENCH_DIAG === '1') console.log(`diag ${process.pid}: ${JSON.stringify(diag)}`);
    files?.close();
    void server.close(2000).then(() => process.exit(0));
  });
}
