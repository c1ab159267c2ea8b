/**
 * Runs test/helpers/cluster-app.js as a child process and follows its JSON event lines; a load
 * loop that counts successes and failures. Everything is cleaned up by `stop()` / `kill()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

export const APP = fileURLToPath(new URL('./cluster-app.js', import.meta.url));

export interface AppEvent {
  event: string;
  [k: string]: unknown;
}

export interface ClusterChild {
  child: ChildProcess;
  port: number;
  pids: number[];
  events: AppEvent[];
  stderr(): string;
  /** Resolves with the first event (from now or already seen after `from`) matching. */
  waitFor(pred: (e: AppEvent) => boolean, from?: number, timeoutMs?: number): Promise<AppEvent>;
  exit: Promise<number | null>;
  /** SIGTERM and wait; SIGKILL the whole group if it does not go within timeoutMs. */
  stop(timeoutMs?: number): Promise<number | null>;
  /** Current pids of the ready workers (asks the primary with SIGWINCH). */
  currentPids(): Promise<{ pids: number[]; restarts: number }>;
}

export function startCluster(
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<ClusterChild> {
  const child = spawn(process.execPath, [APP], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group, so a failed test can kill workers too
  });
  const events: AppEvent[] = [];
  const waiters: { pred: (e: AppEvent) => boolean; resolve: (e: AppEvent) => void }[] = [];
  let err = '';
  let buf = '';
  let exited = false;
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  child.stdout!.on('data', (c: Buffer) => {
    buf += c.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let e: AppEvent;
      try {
        e = JSON.parse(line) as AppEvent;
      } catch {
        continue;
      }
      events.push(e);
      for (const w of [...waiters]) {
        if (w.pred(e)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(e);
        }
      }
    }
  });
  const exit = new Promise<number | null>((r) =>
    child.on('exit', (code) => {
      exited = true;
      r(code);
    }),
  );
  const waitFor = (pred: (e: AppEvent) => boolean, from = 0, t = timeoutMs): Promise<AppEvent> => {
    const seen = events.slice(from).find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`timed out waiting; events: ${JSON.stringify(events)} stderr: ${err}`)),
        t,
      );
      timer.unref();
      waiters.push({
        pred,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  };
  const killGroup = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-(child.pid as number), sig);
    } catch {
      // gone
    }
  };
  const stop = async (t = 20_000): Promise<number | null> => {
    if (!exited) child.kill('SIGTERM');
    const timer = setTimeout(() => killGroup('SIGKILL'), t);
    const code = await exit;
    clearTimeout(timer);
    killGroup('SIGKILL'); // any worker left behind
    return code;
  };
  return new Promise((resolve, reject) => {
    void exit.then((code) => reject(new Error(`cluster exited (${code}) before ready: ${err}`)));
    waitFor((e) => e.event === 'ready').then(
      (ready) => {
        const listening = events.find((e) => e.event === 'listening');
        resolve({
          child,
          port: Number(listening?.port),
          pids: ready.pids as number[],
          events,
          stderr: () => err,
          waitFor,
          exit,
          stop,
          async currentPids() {
            const from = events.length;
            child.kill('SIGWINCH');
            const e = await waitFor((x) => x.event === 'pids', from);
            return { pids: e.pids as number[], restarts: e.restarts as number };
          },
        });
      },
      (e: unknown) => {
        killGroup('SIGKILL');
        reject(e as Error);
      },
    );
  });
}

export interface Reply {
  status: number;
  body: string;
}

export function get(
  port: number,
  path: string,
  agent: http.Agent | false,
  timeoutMs = 10_000,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

export interface Load {
  ok: number;
  failed: number;
  errors: string[];
  pids: Set<number>;
  /** Stop the loops; resolves when every request in flight has finished. */
  stop(): Promise<void>;
  /** Resolves once `n` more requests have succeeded. */
  more(n: number): Promise<void>;
}

/** `concurrency` loops of sequential GET /pid until stopped (keep-alive agent or a connection each). */
export function load(port: number, concurrency: number, keepAlive: boolean): Load {
  const agent = keepAlive ? new http.Agent({ keepAlive: true, maxSockets: concurrency }) : false;
  let running = true;
  const waiters: { at: number; resolve: () => void }[] = [];
  const state: Load = {
    ok: 0,
    failed: 0,
    errors: [],
    pids: new Set(),
    stop: async () => {
      running = false;
      await Promise.all(loops);
      if (agent !== false) agent.destroy();
    },
    more: (n) => new Promise((resolve) => waiters.push({ at: state.ok + n, resolve })),
  };
  const loop = async (): Promise<void> => {
    while (running) {
      try {
        const r = await get(port, '/pid', agent);
        if (r.status === 200) {
          state.ok++;
          state.pids.add(Number(r.body));
          for (const w of [...waiters]) {
            if (state.ok >= w.at) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve();
            }
          }
        } else {
          state.failed++;
          state.errors.push(`status ${r.status}`);
        }
      } catch (err) {
        state.failed++;
        state.errors.push((err as Error).message);
      }
    }
  };
  const loops = Array.from({ length: concurrency }, () => loop());
  return state;
}
