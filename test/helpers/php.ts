/**
 * Real PHP peers for the interop tests: a php-fpm started in the foreground with a temporary
 * config on a free 127.0.0.1 port (ready when it logs "ready to handle connections"), and the
 * php-cgi binary. Both are found in PATH or /usr/sbin (Debian's php-fpm8.2); tests skip with a
 * clear message only when the binary is absent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import net from 'node:net';
import { tmpdir } from 'node:os';
import type { Handler, UpgradeHandler } from '../../src/core/types.js';
import { serve, type RapidServer } from '../../src/server/server.js';
import { join } from 'node:path';

function findBinary(names: RegExp, dirs: string[]): string | null {
  for (const dir of dirs) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    const hit = entries.filter((n) => names.test(n)).sort();
    if (hit.length > 0) return join(dir, hit[0]!);
  }
  return null;
}

const PATH_DIRS = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/sbin'];

export const phpFpmBinary = findBinary(/^php-fpm[0-9.]*$/, PATH_DIRS);
export const phpCgiBinary = findBinary(/^php-cgi[0-9.]*$/, PATH_DIRS);

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface PhpFpm {
  address: string;
  port: number;
  /** Stop php-fpm and wait for it to exit. */
  stop(): Promise<void>;
  /** What php-fpm logged. */
  log(): string;
}

export async function startPhpFpm(opts: { children?: number } = {}): Promise<PhpFpm> {
  if (phpFpmBinary === null) throw new Error('php-fpm not installed');
  const dir = mkdtempSync(join(tmpdir(), 'rapid-fpm-'));
  const port = await freePort();
  const conf = join(dir, 'fpm.conf');
  writeFileSync(
    conf,
    [
      '[global]',
      `pid = ${join(dir, 'fpm.pid')}`,
      `error_log = ${join(dir, 'fpm.log')}`,
      'log_level = notice',
      'daemonize = no',
      '[www]',
      `listen = 127.0.0.1:${port}`,
      'pm = static',
      `pm.max_children = ${opts.children ?? 3}`,
      'catch_workers_output = yes',
      'decorate_workers_output = no',
      'php_admin_value[output_buffering] = 0',
      'php_admin_value[post_max_size] = 16M',
      'php_admin_value[max_execution_time] = 0',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(phpFpmBinary, ['-F', '-R', '-n', '-y', conf], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const log = (): string => {
    try {
      return out + readFileSync(join(dir, 'fpm.log'), 'utf8');
    } catch {
      return out;
    }
  };
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Ready when the log says so (php-fpm cannot log to a pipe, so the log is a file, polled).
  const start = Date.now();
  while (!log().includes('ready to handle connections')) {
    if (child.exitCode !== null || Date.now() - start > 30_000) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`php-fpm did not start:\n${log()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  let stopped: Promise<void> | null = null;
  return {
    address: `127.0.0.1:${port}`,
    port,
    log,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(t);
        }
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

/** A temporary document root with the given files (relative path -> content). */
export function makeRoot(files: Record<string, string>): { root: string; base: string } {
  const base = mkdtempSync(join(tmpdir(), 'rapid-php-'));
  const root = join(base, 'www');
  mkdirSync(root, { recursive: true });
  for (const [rel, content] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
  return { root, base };
}

/** A Rapid server on 127.0.0.1:0 whose close is the caller's (safe to start in before hooks). */
export async function startRapid(
  handler: Handler,
  onUpgrade?: UpgradeHandler,
): Promise<{ server: RapidServer; port: number; origin: string; close(): Promise<void> }> {
  const server = await serve({
    port: 0,
    host: '127.0.0.1',
    handler,
    onUpgrade,
    onError: () => {},
  });
  return {
    server,
    port: server.port,
    origin: `http://127.0.0.1:${server.port}`,
    close: () => server.close(1000),
  };
}
