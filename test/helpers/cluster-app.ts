/**
 * A clustered test server, run as a child process by test/feature/cluster*.test.ts. The primary
 * prints JSON lines on stdout ({"event":"ready","pids":[...],"port":N}, ...); workers serve:
 *   /pid          -> this worker's pid
 *   /slow?ms=N    -> answers after N ms (a long request for the drain test)
 *   /server-status (metrics, loopback only)
 * Environment: WORKERS, SHUTDOWN_TIMEOUT, ACCESS_LOG (path), ACCESS_FORMAT, CRASH_AT_START=1 (every
 * worker dies right after it is ready: a crash loop), PID_FILE.
 */
import cluster from 'node:cluster';
import { runPrimary, runWorker } from '../../src/cluster/index.js';
import type { AccessLogFormat } from '../../src/features/log/index.js';
import { serve } from '../../src/server/server.js';

const env = process.env;
const emit = (event: string, data: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ event, ...data })}\n`);
};

if (cluster.isPrimary) {
  try {
    const primary = await runPrimary({
      workers: Number(env.WORKERS ?? '2'),
      shutdownTimeout: Number(env.SHUTDOWN_TIMEOUT ?? '10000'),
      backoff: { initialMs: 20, maxMs: 200 },
      pidFile: env.PID_FILE,
      distribution: env.DISTRIBUTION === 'os' ? 'os' : undefined,
      log: (level, line) => {
        if (level === 'error') process.stderr.write(`rapid: ${line}\n`);
        emit('log', { level, line });
      },
    });
    emit('ready', { pids: primary.pids(), distribution: primary.distribution });
    // Tests ask for the pid list after a restart by sending SIGWINCH (harmless, otherwise unused).
    process.on('SIGWINCH', () =>
      emit('pids', { pids: primary.pids(), restarts: primary.restarts() }),
    );
    const code = await primary.done;
    emit('exit', { code });
    process.exitCode = code;
  } catch (err) {
    process.stderr.write(`rapid: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
} else {
  await runWorker(async (ctx) => {
    const server = await serve({
      port: Number(env.PORT ?? '0'),
      host: '127.0.0.1',
      reusePort: ctx.reusePort,
      metrics: ctx.metrics,
      statusView: () => ctx.statusView(),
      status: { path: '/server-status' },
      accessLog:
        env.ACCESS_LOG !== undefined
          ? { path: env.ACCESS_LOG, format: (env.ACCESS_FORMAT ?? 'combined') as AccessLogFormat }
          : undefined,
      handler(req, res) {
        if (req.path === '/slow') {
          emit('slow-start', { pid: process.pid });
          const ms = Number(new URLSearchParams(req.search).get('ms') ?? '1000');
          setTimeout(() => res.send(`slow ${process.pid}`), ms);
          return;
        }
        res.setHeader('Content-Type', 'text/plain');
        res.send(String(process.pid));
      },
    });
    emit('listening', { worker: ctx.id, pid: process.pid, port: server.port });
    if (env.CRASH_AT_START === '1') setTimeout(() => process.exit(3), 30);
    return {
      close: (timeoutMs, o) => server.close(timeoutMs, o),
      reopenLogs: () => server.reopenLogs(),
      reload: async () => emit('reloaded', { worker: ctx.id, pid: process.pid }),
    };
  });
}
