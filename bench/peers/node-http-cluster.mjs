// node:http under the cluster module: WORKERS processes (default 1) each running
// bench/peers/node-http.mjs, the connections shared round-robin by the primary (Node's default on
// Linux). The baseline for Rapid's workers in bench/workers.ts.
import cluster from 'node:cluster';
import { fileURLToPath } from 'node:url';

const workers = Number(process.env.WORKERS ?? '1');
if (cluster.isPrimary) {
  cluster.setupPrimary({ exec: fileURLToPath(new URL('./node-http.mjs', import.meta.url)) });
  for (let i = 0; i < workers; i++) cluster.fork();
  const stop = () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
