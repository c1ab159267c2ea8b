/**
 * Rapid under the cluster for bench/workers.ts: WORKERS processes (default 1) serving the
 * TechEmpower plaintext/json routes as bench/app.ts does, plus the status endpoint (loopback) so the
 * bench can read how requests were spread. ACCESS_LOG=<file> turns the access log on (FORMAT,
 * default combined); DISTRIBUTION=round-robin|os|reuseport picks how connections reach workers.
 */
import cluster from 'node:cluster';
import { runPrimary, runWorker, type Distribution } from '../src/cluster/index.js';
import type { AccessLogFormat } from '../src/features/log/index.js';
import { serve } from '../src/server/server.js';

const env = process.env;
const port = Number(env.PORT ?? 8080);
const host = env.HOST ?? '127.0.0.1';

if (cluster.isPrimary) {
  const primary = await runPrimary({
    workers: Number(env.WORKERS ?? '1'),
    distribution: (env.DISTRIBUTION as Distribution | undefined) || undefined,
    shutdownTimeout: 2000,
    log: () => undefined,
  });
  console.log(
    `Rapid (${primary.pids().length} workers, ${primary.distribution}) on ${host}:${port}`,
  );
  process.exitCode = await primary.done;
} else {
  await runWorker(async (ctx) => {
    const server = await serve({
      port,
      host,
      reusePort: ctx.reusePort,
      metrics: ctx.metrics,
      statusView: () => ctx.statusView(),
      status: { path: '/server-status' },
      accessLog:
        env.ACCESS_LOG === undefined || env.ACCESS_LOG === ''
          ? undefined
          : { path: env.ACCESS_LOG, format: (env.FORMAT ?? 'combined') as AccessLogFormat },
      handler(req, res) {
        res.setHeader('Server', 'Rapid');
        if (req.path === '/plaintext') {
          res.setHeader('Content-Type', 'text/plain');
          res.send('Hello, World!');
        } else if (req.path === '/json') {
          res.json({ message: 'Hello, World!' });
        } else {
          res.status(404).setHeader('Content-Type', 'text/plain');
          res.send('Not Found');
        }
      },
    });
    return { ports: [server.port], close: (t, o) => server.close(t, o) };
  });
}
