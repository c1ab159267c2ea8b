/**
 * The primary: forks the workers and supervises them.
 *
 * - Connections reach workers through SO_REUSEPORT where this Node has it (each worker binds its
 *   own socket, the kernel spreads connections), else through the cluster module's shared handle
 *   with round-robin scheduling (the primary accepts and hands sockets out in turn).
 * - A worker is ready only once it says so over IPC, which it does after its servers listen.
 * - A crashed worker is replaced after an exponential backoff; `crashLoop.crashes` crashes within
 *   `crashLoop.windowMs` stop the whole server with one error line and exit status 1.
 * - SIGTERM/SIGINT: every worker drains (in-flight requests finish, idle keep-alive connections
 *   close) and the primary exits within `shutdownTimeout`. SIGHUP: every worker reloads.
 *   SIGUSR2: rolling restart, one worker at a time, the new one ready before the old one drains.
 *   SIGUSR1: reopen logs, forwarded to every worker.
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism, cpus } from 'node:os';
import { rmSync, writeFileSync } from 'node:fs';
import { E, RapidError } from '../core/errors.js';
import { hasReusePort } from '../net/listener.js';
import { sumSnapshots, type MetricsSnapshot, type StatusView } from '../server/observe.js';
import { LOW_NOFILE } from './limits.js';
import {
  ENV_REUSE_PORT,
  ENV_WORKER_ID,
  isRapidMessage,
  type NofileLimit,
  type ToPrimary,
  type ToWorker,
} from './protocol.js';

export type Distribution = 'reuseport' | 'round-robin' | 'os';

export interface ClusterOptions {
  /** 'auto' = one per CPU (availableParallelism), or a number >= 1. */
  workers?: 'auto' | number;
  /** How long a draining worker may take before it is killed, in ms (default 10000). */
  shutdownTimeout?: number;
  /** Idle keep-alive connections of a draining worker stay open this long, in ms (default 1000). */
  idleGrace?: number;
  /** How long a new worker may take to become ready, in ms (default 30000). */
  startTimeout?: number;
  /** A crash loop: this many crashes (default 5) within windowMs (default 10000) stop the server. */
  crashLoop?: { crashes?: number; windowMs?: number };
  /** Replacement delay after a crash: initial * 2^(crashes in window - 1), capped (ms). */
  backoff?: { initialMs?: number; maxMs?: number };
  /**
   * Default: 'reuseport' where this Node supports it on Linux, else 'round-robin' (the cluster
   * module's shared handle). 'os' shares the handle but lets every worker accept (SCHED_NONE).
   */
  distribution?: Distribution;
  /** Write the primary's pid here (for `rapid reload`); removed on exit. */
  pidFile?: string;
  /** The worker script and its arguments (default: this script, same arguments). */
  exec?: string;
  args?: string[];
  /** Extra environment for workers. */
  env?: Record<string, string>;
  /** Where the primary's own lines go (default: stderr, one line each). */
  log?: (level: 'info' | 'warn' | 'error', line: string) => void;
  /** Install SIGTERM/SIGINT/SIGHUP/SIGUSR1/SIGUSR2 handlers (default true). */
  signals?: boolean;
}

interface Slot {
  id: number;
  worker: Worker | null;
  ready: boolean;
  /** Set when the primary itself asked this worker to go (no crash). */
  retiring: boolean;
}

export interface Primary {
  /** Resolves with the exit status once every worker is gone (after stop() or a crash loop). */
  readonly done: Promise<number>;
  readonly distribution: Distribution;
  /** The ports the first worker reported (useful with port 0). */
  ports(): number[];
  /** pids of the ready workers. */
  pids(): number[];
  restarts(): number;
  stop(): Promise<number>;
  reload(): Promise<void>;
  rollingRestart(): Promise<void>;
  reopenLogs(): void;
  view(): Promise<StatusView>;
}

function defaultLog(level: 'info' | 'warn' | 'error', line: string): void {
  (level === 'info' ? process.stdout : process.stderr).write(`rapid: ${line}\n`);
}

export function resolveWorkers(w: 'auto' | number | string | undefined): number {
  if (w === undefined || w === 'auto') {
    return typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;
  }
  const n = typeof w === 'number' ? w : /^\d+$/.test(w) ? Number(w) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 1024) {
    throw new RapidError(
      E.CLUSTER_INVALID_OPTION,
      `workers must be "auto" or a whole number from 1 to 1024, got ${JSON.stringify(w)}`,
    );
  }
  return n;
}

function positive(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new RapidError(E.CLUSTER_INVALID_OPTION, `${name} must be a non-negative number of ms`);
  }
  return v;
}

/** The default distribution for this Node and platform (docs/cluster.md explains the choice). */
export function defaultDistribution(): Distribution {
  return hasReusePort() && process.platform === 'linux' ? 'reuseport' : 'round-robin';
}

/** Start the primary. Resolves once every worker is ready; rejects when the first start fails. */
export async function runPrimary(options: ClusterOptions = {}): Promise<Primary> {
  if (!cluster.isPrimary) {
    throw new RapidError(E.CLUSTER_INVALID_OPTION, 'runPrimary() called in a cluster worker');
  }
  const count = resolveWorkers(options.workers);
  const shutdownTimeout = positive('shutdownTimeout', options.shutdownTimeout, 10_000);
  const idleGrace = Math.min(positive('idleGrace', options.idleGrace, 1000), shutdownTimeout);
  const startTimeout = positive('startTimeout', options.startTimeout, 30_000);
  const loopCrashes = options.crashLoop?.crashes ?? 5;
  const loopWindow = options.crashLoop?.windowMs ?? 10_000;
  const backoffInitial = options.backoff?.initialMs ?? 100;
  const backoffMax = options.backoff?.maxMs ?? 10_000;
  const distribution = options.distribution ?? defaultDistribution();
  if (!['reuseport', 'round-robin', 'os'].includes(distribution)) {
    throw new RapidError(E.CLUSTER_INVALID_OPTION, `distribution ${JSON.stringify(distribution)}`);
  }
  if (distribution === 'reuseport' && !hasReusePort()) {
    throw new RapidError(
      E.CLUSTER_INVALID_OPTION,
      `distribution "reuseport" needs Node 22.12+ (this is ${process.versions.node})`,
    );
  }
  const log = options.log ?? defaultLog;

  // Must be set before the first fork. With reuseport the policy does not matter (workers bind
  // their own sockets), but round-robin keeps a stray shared listen balanced too.
  cluster.schedulingPolicy = distribution === 'os' ? cluster.SCHED_NONE : cluster.SCHED_RR;
  const setup: Parameters<typeof cluster.setupPrimary>[0] = {};
  if (options.exec !== undefined) setup.exec = options.exec;
  if (options.args !== undefined) setup.args = options.args;
  cluster.setupPrimary(setup);

  const slots: Slot[] = [];
  const ports: number[] = [];
  let restarts = 0;
  let crashTimes: number[] = [];
  let stopping = false;
  let everReady = false;
  let exitCode = 0;
  let resolveDone: (code: number) => void = () => undefined;
  const done = new Promise<number>((r) => (resolveDone = r));
  const collectors = new Map<
    number,
    { want: number; got: Map<number, MetricsSnapshot>; finish: () => void }
  >();
  let collectId = 1;
  const restartTimers = new Set<NodeJS.Timeout>();

  const alive = (): Slot[] => slots.filter((s) => s.worker !== null && s.ready && !s.retiring);

  const view = (): Promise<StatusView> =>
    new Promise((resolve) => {
      const id = collectId++;
      const targets = alive();
      const got = new Map<number, MetricsSnapshot>();
      const finish = (): void => {
        if (!collectors.has(id)) return;
        collectors.delete(id);
        clearTimeout(timer);
        const workers = targets
          .filter((s) => got.has(s.id))
          .map((s) => ({
            id: s.id,
            pid: (got.get(s.id) as MetricsSnapshot).pid,
            snapshot: got.get(s.id) as MetricsSnapshot,
          }));
        resolve({
          total: sumSnapshots(workers.map((w) => w.snapshot)),
          workers,
          restarts,
          mode: distribution,
        });
      };
      const timer = setTimeout(finish, 2000);
      timer.unref();
      collectors.set(id, { want: targets.length, got, finish });
      for (const s of targets)
        (s.worker as Worker).send({ rapid: 'collect', id } satisfies ToWorker);
      if (targets.length === 0) finish();
    });

  const describeNofile = (n: NofileLimit | null): string =>
    n === null
      ? 'open-file limit unknown'
      : `open-file limit ${n.soft}${n.soft !== 'unlimited' && n.soft < LOW_NOFILE ? ' (low)' : ''}`;

  /** Fork a worker into a slot; resolves when it is ready, rejects if it dies or times out first. */
  const fork = (slot: Slot): Promise<Worker> =>
    new Promise((resolve, reject) => {
      const env: Record<string, string> = {
        ...options.env,
        [ENV_WORKER_ID]: String(slot.id),
        [ENV_REUSE_PORT]: distribution === 'reuseport' ? '1' : '0',
      };
      const worker = cluster.fork(env);
      // A message to a worker that is exiting fails with EPIPE: its exit is handled below, so the
      // error must not crash the primary (an unhandled 'error' event would).
      worker.on('error', (err: Error) => log('warn', `worker ${slot.id}: ${err.message}`));
      slot.worker = worker;
      slot.ready = false;
      slot.retiring = false;
      let settled = false;
      let fatal: string | null = null;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        worker.process.kill('SIGKILL');
        reject(
          new RapidError(
            E.CLUSTER_WORKER_START_FAILED,
            `worker ${slot.id} not ready after ${startTimeout} ms`,
          ),
        );
      }, startTimeout);
      worker.on('message', (msg: unknown) => {
        if (!isRapidMessage<ToPrimary>(msg)) return;
        switch (msg.rapid) {
          case 'ready':
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            slot.ready = true;
            everReady = true;
            if (ports.length === 0) ports.push(...msg.ports);
            log(
              'info',
              `worker ${slot.id} (pid ${worker.process.pid}) ready, ${describeNofile(msg.nofile)}`,
            );
            resolve(worker);
            return;
          case 'fatal':
            fatal = msg.message;
            return;
          case 'reloaded':
            if (msg.error !== null) log('error', `worker ${slot.id}: reload failed: ${msg.error}`);
            return;
          case 'collected': {
            const c = collectors.get(msg.id);
            if (c !== undefined) {
              c.got.set(slot.id, msg.snapshot);
              if (c.got.size >= c.want) c.finish();
            }
            return;
          }
          case 'view?':
            void view().then((v) => {
              if (worker.isConnected())
                worker.send({ rapid: 'view', id: msg.id, view: v } satisfies ToWorker);
            });
            return;
        }
      });
      worker.on('exit', (code, signal) => {
        const how = signal !== null ? `signal ${signal}` : `exit code ${code}`;
        if (slot.worker === worker) {
          slot.worker = null;
          slot.ready = false;
        }
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          reject(
            new RapidError(
              E.CLUSTER_WORKER_START_FAILED,
              fatal ?? `worker ${slot.id} exited before it was ready (${how})`,
            ),
          );
          return;
        }
        if (stopping || slot.retiring || slot.worker !== null) return;
        onCrash(slot, how);
      });
    });

  const onCrash = (slot: Slot, how: string): void => {
    const now = Date.now();
    crashTimes = crashTimes.filter((t) => now - t < loopWindow);
    crashTimes.push(now);
    if (crashTimes.length >= loopCrashes) {
      const err = new RapidError(
        E.CLUSTER_CRASH_LOOP,
        `${crashTimes.length} crashes within ${loopWindow / 1000} s (last: worker ${slot.id}, ${how})`,
      );
      log('error', `${err.code}: ${err.message}`);
      exitCode = 1;
      void stop();
      return;
    }
    const delay = Math.min(backoffMax, backoffInitial * 2 ** (crashTimes.length - 1));
    log('warn', `worker ${slot.id} died (${how}); replacing it in ${delay} ms`);
    const t = setTimeout(() => {
      restartTimers.delete(t);
      if (stopping) return;
      restarts++;
      fork(slot).catch((err: unknown) => {
        if (stopping) return;
        // It died before it was ready: that is one more crash.
        onCrash(slot, (err as Error).message);
      });
    }, delay);
    restartTimers.add(t);
  };

  /** Ask a worker to drain and wait for it to go (killed at the deadline). */
  const retire = (worker: Worker, timeoutMs: number): Promise<void> =>
    new Promise((resolve) => {
      if (worker.isDead()) {
        resolve();
        return;
      }
      const kill = setTimeout(() => worker.process.kill('SIGKILL'), timeoutMs + 1000);
      worker.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      if (worker.isConnected()) {
        worker.send({ rapid: 'shutdown', timeoutMs, idleGraceMs: idleGrace } satisfies ToWorker);
      } else worker.process.kill('SIGTERM');
    });

  let stopped: Promise<number> | null = null;
  const stop = (): Promise<number> => {
    if (stopped !== null) return stopped;
    stopping = true;
    for (const t of restartTimers) clearTimeout(t);
    restartTimers.clear();
    stopped = Promise.all(
      slots.map((s) => {
        const w = s.worker;
        if (w === null) return Promise.resolve();
        s.retiring = true;
        return retire(w, shutdownTimeout);
      }),
    ).then(() => {
      removeSignals();
      if (options.pidFile !== undefined) rmSync(options.pidFile, { force: true });
      resolveDone(exitCode);
      return exitCode;
    });
    return stopped;
  };

  let rolling: Promise<void> | null = null;
  const rollingRestart = (): Promise<void> => {
    if (rolling !== null) return rolling;
    rolling = (async () => {
      log('info', 'rolling restart');
      for (const slot of slots) {
        if (stopping) return;
        const old = slot.worker;
        const next: Slot = { id: slot.id, worker: null, ready: false, retiring: false };
        try {
          await fork(next);
        } catch (err) {
          log(
            'error',
            `rolling restart stopped: ${(err as Error).message}; the old workers keep serving`,
          );
          return;
        }
        if (stopping) {
          if (next.worker !== null) void retire(next.worker, shutdownTimeout);
          return;
        }
        // The new worker takes the slot; only then does the old one drain.
        slot.worker = next.worker;
        slot.ready = true;
        slot.retiring = false;
        restarts++;
        const worker = next.worker as Worker;
        worker.removeAllListeners('exit');
        worker.on('exit', (code, signal) => {
          if (slot.worker !== worker) return;
          slot.worker = null;
          slot.ready = false;
          if (!stopping && !slot.retiring)
            onCrash(slot, signal !== null ? `signal ${signal}` : `exit code ${code}`);
        });
        if (old !== null) {
          old.removeAllListeners('exit');
          await retire(old, shutdownTimeout);
        }
      }
      log('info', `rolling restart done: ${alive().length} workers`);
    })().finally(() => {
      rolling = null;
    });
    return rolling;
  };

  const reload = async (): Promise<void> => {
    log('info', 'reloading workers');
    for (const s of alive()) (s.worker as Worker).send({ rapid: 'reload' } satisfies ToWorker);
  };
  const reopenLogs = (): void => {
    for (const s of alive()) (s.worker as Worker).send({ rapid: 'reopen' } satisfies ToWorker);
  };

  const handlers: [NodeJS.Signals, () => void][] = [];
  let signalled = 0;
  const onStop = (sig: NodeJS.Signals) => () => {
    signalled++;
    if (signalled > 1 && sig === 'SIGINT') {
      // A second Ctrl-C: do not wait for open requests.
      for (const s of slots) s.worker?.process.kill('SIGKILL');
      process.exit(130);
    }
    log('info', `${sig}, draining ${alive().length} workers (deadline ${shutdownTimeout} ms)`);
    void stop();
  };
  const removeSignals = (): void => {
    for (const [sig, fn] of handlers) process.off(sig, fn);
    handlers.length = 0;
  };
  if (options.signals !== false) {
    handlers.push(['SIGTERM', onStop('SIGTERM')], ['SIGINT', onStop('SIGINT')]);
    handlers.push(['SIGHUP', () => void reload()]);
    handlers.push(['SIGUSR2', () => void rollingRestart()]);
    handlers.push(['SIGUSR1', () => reopenLogs()]);
    for (const [sig, fn] of handlers) process.on(sig, fn);
  }

  for (let i = 1; i <= count; i++)
    slots.push({ id: i, worker: null, ready: false, retiring: false });
  try {
    await Promise.all(slots.map((s) => fork(s)));
  } catch (err) {
    // The first start failed (a port in use, a bad root ...): no point restarting anything.
    stopping = true;
    await Promise.all(slots.map((s) => (s.worker === null ? undefined : retire(s.worker, 1000))));
    removeSignals();
    void everReady;
    throw err;
  }
  if (options.pidFile !== undefined) writeFileSync(options.pidFile, `${process.pid}\n`);
  log('info', `${count} workers ready (${distribution})`);

  return {
    done,
    distribution,
    ports: () => [...ports],
    pids: () => alive().map((s) => (s.worker as Worker).process.pid as number),
    restarts: () => restarts,
    stop,
    reload,
    rollingRestart,
    reopenLogs,
    view,
  };
}
