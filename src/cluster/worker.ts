/**
 * The worker side: run the user's "worker main" (which starts its servers and resolves once they
 * listen), tell the primary it is ready, and act on the primary's messages: reload, shutdown
 * (drain within a deadline, then exit), reopen logs, hand over metrics. If the primary goes away
 * the worker drains and exits too, so no orphan keeps the port.
 */
import cluster from 'node:cluster';
import { Metrics, type MetricsSnapshot, type StatusView } from '../server/observe.js';
import { nofileLimit, nofileWarning } from './limits.js';
import {
  ENV_REUSE_PORT,
  ENV_WORKER_ID,
  isRapidMessage,
  type ToPrimary,
  type ToWorker,
} from './protocol.js';

/** What a worker main returns: how to reload and stop what it started. */
export interface WorkerHandle {
  /** SIGHUP: re-read configuration and apply it (optional). */
  reload?(): Promise<void>;
  /** Stop accepting, finish in-flight requests, close idle connections; resolve when done. */
  close(timeoutMs: number, options?: { idleGraceMs?: number }): Promise<void>;
  /** The ports it listens on (reported to the primary: port 0 picks one). */
  ports?: number[];
  /** SIGUSR1: reopen log files (optional). */
  reopenLogs?(): Promise<void>;
}

export interface WorkerContext {
  /** 1..N, stable across replacements of the same slot. */
  readonly id: number;
  /** Counters the main should pass to serve({ metrics }) so the primary can add them up. */
  readonly metrics: Metrics;
  /** Every worker's numbers, collected by the primary (pass to serve({ statusView })). */
  statusView(): Promise<StatusView>;
  /** Listen with SO_REUSEPORT (the primary decided this Node and platform have it). */
  readonly reusePort: boolean;
  /** True when running under a primary (false when runWorker is used in a single process). */
  readonly clustered: boolean;
}

export type WorkerMain = (ctx: WorkerContext) => Promise<WorkerHandle>;

function send(msg: ToPrimary): void {
  if (process.send !== undefined && process.connected) process.send(msg);
}

/**
 * Run `main` as this cluster worker. Resolves once it is ready; the process exits when the primary
 * says so (or disappears).
 */
export async function runWorker(main: WorkerMain): Promise<void> {
  const clustered = cluster.isWorker;
  const id = Number(process.env[ENV_WORKER_ID] ?? '0') || 0;
  const metrics = new Metrics();
  const waiting = new Map<number, (v: StatusView) => void>();
  let nextId = 1;
  const ctx: WorkerContext = {
    id,
    metrics,
    reusePort: process.env[ENV_REUSE_PORT] === '1',
    clustered,
    statusView() {
      const snapshot = metrics.snapshot();
      const alone: StatusView = {
        total: snapshot,
        workers: [{ id, pid: process.pid, snapshot }],
        restarts: 0,
        mode: 'single',
      };
      if (!clustered || !process.connected) return Promise.resolve(alone);
      const reqId = nextId++;
      return new Promise((resolve) => {
        // The primary answers within its own collection deadline; this one only guards a
        // primary that is gone.
        const t = setTimeout(() => {
          waiting.delete(reqId);
          resolve(alone);
        }, 5000);
        t.unref();
        waiting.set(reqId, (v) => {
          clearTimeout(t);
          resolve(v);
        });
        send({ rapid: 'view?', id: reqId });
      });
    },
  };

  const limit = nofileLimit();
  const warning = nofileWarning(limit);
  if (warning !== null)
    process.stderr.write(`rapid: worker ${id} (pid ${process.pid}): ${warning}\n`);

  let handle: WorkerHandle;
  try {
    handle = await main(ctx);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (clustered) {
      send({ rapid: 'fatal', message });
      // Let the message leave before exiting.
      setTimeout(() => process.exit(1), 200).unref();
      process.disconnect?.();
      return;
    }
    throw err;
  }

  let stopping = false;
  const stop = (timeoutMs: number, idleGraceMs: number): void => {
    if (stopping) return;
    stopping = true;
    // The deadline is the primary's to enforce too; this is the worker's own guard.
    setTimeout(() => process.exit(0), timeoutMs + 2000).unref();
    handle.close(timeoutMs, { idleGraceMs }).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`rapid: worker ${id}: close failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };

  if (!clustered) return;
  process.on('message', (msg: unknown) => {
    if (!isRapidMessage<ToWorker>(msg)) return;
    switch (msg.rapid) {
      case 'shutdown':
        stop(msg.timeoutMs, msg.idleGraceMs);
        return;
      case 'reload':
        if (handle.reload === undefined) {
          send({ rapid: 'reloaded', error: null });
          return;
        }
        handle.reload().then(
          () => send({ rapid: 'reloaded', error: null }),
          (err: unknown) =>
            send({ rapid: 'reloaded', error: err instanceof Error ? err.message : String(err) }),
        );
        return;
      case 'reopen':
        void handle
          .reopenLogs?.()
          .catch((err: unknown) =>
            process.stderr.write(`rapid: worker ${id}: reopening logs failed: ${String(err)}\n`),
          );
        return;
      case 'collect': {
        const snapshot: MetricsSnapshot = metrics.snapshot();
        send({ rapid: 'collected', id: msg.id, snapshot });
        return;
      }
      case 'view': {
        const w = waiting.get(msg.id);
        if (w !== undefined) {
          waiting.delete(msg.id);
          w(msg.view);
        }
        return;
      }
    }
  });
  // Signals go to the primary; a worker ignores the terminal's Ctrl-C (the primary stops it).
  // SIGHUP/SIGUSR2 reaching a worker too (a signal to the process group, a closed terminal) must
  // not kill it: the primary turns them into messages.
  for (const sig of ['SIGINT', 'SIGHUP', 'SIGUSR2'] as const) process.on(sig, () => undefined);
  process.on('SIGTERM', () => stop(10_000, 0));
  process.on('disconnect', () => stop(10_000, 0));
  send({ rapid: 'ready', nofile: limit, ports: handle.ports ?? [] });
}
