/**
 * The CLI's multi-process mode (`--workers auto|N`) and the `rapid reload` command. The same
 * script runs as the primary and as every worker: the primary supervises, each worker runs the
 * `start` function the CLI gives (which serves and resolves once it listens).
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { runPrimary, runWorker, type Distribution, type WorkerMain } from '../cluster/index.js';
import { E, RapidError } from '../core/errors.js';

export interface WorkersMode {
  workers: 'auto' | number;
  /** Default: defaultDistribution() (src/cluster/primary.ts). */
  distribution?: Distribution;
  pidFile?: string;
  shutdownTimeout?: number;
  /** Runs in each worker. */
  start: WorkerMain;
  /** Printed by the primary once every worker is ready. */
  banner: (port: number | undefined, ports: number[]) => void;
}

/** Returns -1 while serving (the process exits on a signal or a crash loop). */
export async function serveWithWorkers(mode: WorkersMode): Promise<number> {
  if (cluster.isWorker) {
    await runWorker(mode.start);
    return -1;
  }
  const primary = await runPrimary({
    workers: mode.workers,
    distribution: mode.distribution,
    pidFile: mode.pidFile,
    shutdownTimeout: mode.shutdownTimeout,
    log: (level, line) => {
      if (level !== 'info') process.stderr.write(`rapid: ${line}\n`);
    },
  });
  mode.banner(primary.ports()[0], primary.ports());
  console.log(
    `  ${primary.pids().length} workers (${primary.distribution}), primary pid ${process.pid}`,
  );
  void primary.done.then((code) => process.exit(code));
  return -1;
}

/** `rapid reload`: SIGUSR2 (rolling restart) to the pid in the pid file. */
export function reloadCommand(pidFile: string): string {
  const file = resolve(pidFile);
  let pid: number;
  try {
    pid = Number(readFileSync(file, 'utf8').trim());
  } catch {
    throw new RapidError(E.CLUSTER_NOT_RUNNING, `cannot read ${file}`);
  }
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new RapidError(E.CLUSTER_NOT_RUNNING, `${file} does not hold a pid`);
  }
  try {
    process.kill(pid, 'SIGUSR2');
  } catch {
    throw new RapidError(E.CLUSTER_NOT_RUNNING, `no process ${pid} (from ${file})`);
  }
  return `rapid: rolling restart of ${pid} requested`;
}
