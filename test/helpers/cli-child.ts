/**
 * The `rapid` command as a child process in its own process group (so its workers go with it),
 * with its output followed; and a one-shot HTTP GET that sets the Host header.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

export const RAPID_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface RapidChild {
  child: ChildProcess;
  /** The ports of the "listening on" lines of the banner, in order. */
  ports: number[];
  out(): string;
  err(): string;
  /** Resolves when stdout + stderr from offset `from` on match `re`. */
  waitFor(re: RegExp, from?: number, timeoutMs?: number): Promise<void>;
  exit: Promise<number | null>;
  /** SIGTERM, wait for the exit; the whole group is killed if it takes longer than timeoutMs. */
  stop(timeoutMs?: number): Promise<number | null>;
  /** Kill the whole group now (cleanup on failure). */
  kill(): void;
}

/** Start `rapid args`; resolves once a line matching `ready` was printed. */
export function startRapid(args: string[], ready = /listening on /, timeoutMs = 60_000) {
  const child = spawn(process.execPath, [RAPID_MAIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let err = '';
  let exited = false;
  const waiters = new Set<() => void>();
  const exit = new Promise<number | null>((r) =>
    child.on('exit', (code) => {
      exited = true;
      r(code);
      for (const w of [...waiters]) w();
    }),
  );
  const kill = (): void => {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // gone
    }
  };
  const self: RapidChild = {
    child,
    ports: [],
    out: () => out,
    err: () => err,
    exit,
    kill,
    waitFor(re, from = 0, t = timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (re.test((out + err).slice(from))) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          } else if (exited) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(new Error(`rapid exited waiting for ${re}; output:\n${out}\n${err}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${re}; output:\n${out}\n${err}`));
        }, t);
        waiters.add(check);
        check();
      });
    },
    async stop(t = 30_000) {
      if (!exited) child.kill('SIGTERM');
      const timer = setTimeout(kill, t);
      const code = await exit;
      clearTimeout(timer);
      kill();
      return code;
    },
  };
  const onData = (): void => {
    for (const w of [...waiters]) w();
  };
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    onData();
  });
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
    onData();
  });
  return self.waitFor(ready).then(
    () => {
      for (const m of out.matchAll(/listening on https?:\/\/[^\s]*:(\d+)\//g))
        self.ports.push(Number(m[1]));
      return self;
    },
    (e: unknown) => {
      kill();
      throw e;
    },
  );
}

export interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** GET on a new connection with this Host header. */
export function get(port: number, path: string, host = '127.0.0.1'): Promise<Got> {
  return new Promise((resolve, reject) => {
    const r = http.get(
      { host: '127.0.0.1', port, path, headers: { host }, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    r.on('error', reject);
  });
}

/** Retry `check` until it returns true (the server applies a signal asynchronously). */
export async function eventually(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
