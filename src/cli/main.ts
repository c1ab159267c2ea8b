#!/usr/bin/env node
/**
 * The `rapid` command: serve a directory.
 *
 *   rapid [root] [--port N] [--host H] [--help] [--version]
 *
 * Without a root it serves the bundled example site (examples/site/ in the package) on
 * http://127.0.0.1:8080. Mistakes a user can make (a bad flag, a missing directory, a port in
 * use) end the process with status 2 or 1 and one line on stderr, never a stack trace. SIGINT and
 * SIGTERM close the server gracefully; a second signal exits at once.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createStaticHandler } from '../features/static/index.js';
import { serve, type RapidServer } from '../server/server.js';
import { reloadCommand, serveWithWorkers } from './workers.js';

const USAGE = `Usage: rapid [root] [options]

Serve the files under <root> (default: the bundled example site).

Options:
  -p, --port <n>   TCP port, 0 for any free port (default 8080)
      --host <h>   address to listen on (default 127.0.0.1; 0.0.0.0 or :: for all)
  -w, --workers <auto|n>  serve from n worker processes (auto: one per CPU)
      --pid-file <f>      write the primary's pid to f (for rapid reload)
  -h, --help       show this help
  -v, --version    print the version

A file named 404.html in the root is sent as the body of 404 responses.

       rapid reload [--pid-file <f>]
Rolling restart of a server started with --workers and --pid-file (default ./rapid.pid): new
workers take over one by one without failing a request (the same as sending it SIGUSR2).`;

/** Exit codes: 1 = could not run (root, port), 2 = bad command line. */
class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** The package root: the nearest directory above this file with Rapid's package.json. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'rapid')
          return dir;
      } catch {
        // not ours
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the rapid package root');
    dir = up;
  }
}

function version(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

interface Settings {
  root: string;
  port: number;
  host: string;
  workers?: 'auto' | number;
  pidFile?: string;
}

function parse(argv: string[]): Settings | 'help' | 'version' | { reload: string } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        workers: { type: 'string', short: 'w' },
        'pid-file': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    // parseArgs explains at length; the first sentence is what a user needs.
    const e = err as Error & { code?: string };
    const unknown = /^Unknown option '([^']+)'/.exec(e.message);
    const msg = unknown !== null ? `unknown option ${unknown[1]}` : e.message.split(/\.( |$)/)[0];
    throw new UsageError(`${msg} (see rapid --help)`, 2);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (values.version) return 'version';
  if (positionals[0] === 'reload') {
    if (positionals.length > 1) throw new UsageError('rapid reload takes no arguments', 2);
    return { reload: values['pid-file'] ?? 'rapid.pid' };
  }
  let workers: 'auto' | number | undefined;
  if (values.workers !== undefined) {
    const w = values.workers;
    if (w !== 'auto' && (!/^\d{1,4}$/.test(w) || Number(w) < 1 || Number(w) > 1024)) {
      throw new UsageError(`invalid --workers ${JSON.stringify(w)} (auto or 1-1024)`, 2);
    }
    workers = w === 'auto' ? 'auto' : Number(w);
  }
  const pidFile = values['pid-file'] === undefined ? undefined : resolve(values['pid-file']);
  if (positionals.length > 1) {
    throw new UsageError(`expected at most one root directory, got ${positionals.length}`, 2);
  }
  let port = 8080;
  if (values.port !== undefined) {
    if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535) {
      throw new UsageError(`invalid port ${JSON.stringify(values.port)} (0-65535)`, 2);
    }
    port = Number(values.port);
  }
  const host = values.host ?? '127.0.0.1';
  if (host.length === 0) throw new UsageError('empty --host', 2);
  const root =
    positionals[0] !== undefined
      ? resolve(positionals[0])
      : join(packageRoot(), 'examples', 'site');
  let isDir = false;
  try {
    isDir = statSync(root).isDirectory();
  } catch {
    throw new UsageError(`root directory not found: ${root}`, 1);
  }
  if (!isDir) throw new UsageError(`root is not a directory: ${root}`, 1);
  return { root, port, host, workers, pidFile };
}

/** The URLs a client can use: every local address when bound to a wildcard. */
function urls(host: string, port: number): string[] {
  const fmt = (a: string): string => `http://${a.includes(':') ? `[${a}]` : a}:${port}/`;
  if (host !== '0.0.0.0' && host !== '::') return [fmt(host)];
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (host === '0.0.0.0' && a.family !== 'IPv4') continue;
      // Link-local IPv6 addresses need a zone id to be usable; skip them.
      if (a.family === 'IPv6' && a.address.startsWith('fe80:')) continue;
      out.push(fmt(a.address));
    }
  }
  return out.length > 0 ? out : [fmt(host)];
}

/** Turns a listen failure into the one line a user needs. */
function listenMessage(err: unknown, host: string, port: number): string | null {
  let e: unknown = err;
  for (let i = 0; i < 4 && e !== null && typeof e === 'object'; i++) {
    const code = (e as NodeJS.ErrnoException).code;
    const where = `${host}:${port}`;
    if (code === 'EADDRINUSE') return `cannot listen on ${where}: address already in use`;
    if (code === 'EACCES') return `cannot listen on ${where}: permission denied`;
    if (code === 'EADDRNOTAVAIL') return `cannot listen on ${where}: address not available`;
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve host ${host}`;
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}

async function main(argv: string[]): Promise<number> {
  const settings = parse(argv);
  if (settings === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (settings === 'version') {
    console.log(`rapid ${version()}`);
    return 0;
  }
  if ('reload' in settings) {
    try {
      console.log(reloadCommand(settings.reload));
    } catch (err) {
      throw new UsageError((err as Error).message, 1);
    }
    return 0;
  }
  const { root, port, host } = settings;
  if (settings.workers !== undefined) return serveWorkers(settings);
  const files = createStaticHandler({ root, notFound: '404.html' });
  let server: RapidServer;
  try {
    server = await serve({ port, host, handler: files });
  } catch (err) {
    files.close();
    const msg = listenMessage(err, host, port);
    if (msg !== null) throw new UsageError(msg, 1);
    throw err;
  }
  console.log(`rapid ${version()} serving ${root}`);
  for (const u of urls(host, server.port)) console.log(`  listening on ${u}`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second Ctrl-C: the user does not want to wait for open requests.
      process.exit(130);
    }
    stopping = true;
    console.log(`rapid: ${signal}, closing`);
    server.close().then(
      () => {
        files.close();
        process.exit(0);
      },
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return -1;
}

/** --workers: the primary supervises, every worker serves the root (src/cli/workers.ts). */
async function serveWorkers(settings: Settings): Promise<number> {
  const { root, port, host } = settings;
  try {
    return await serveWithWorkers({
      workers: settings.workers ?? 'auto',
      pidFile: settings.pidFile,
      banner: (bound) => {
        console.log(`rapid ${version()} serving ${root}`);
        for (const u of urls(host, bound ?? port)) console.log(`  listening on ${u}`);
      },
      async start(ctx) {
        const files = createStaticHandler({ root, notFound: '404.html' });
        let server: RapidServer;
        try {
          server = await serve({
            port,
            host,
            handler: files,
            reusePort: ctx.reusePort,
            metrics: ctx.metrics,
          });
        } catch (err) {
          files.close();
          throw new Error(listenMessage(err, host, port) ?? String(err));
        }
        ctx.metrics.addSources({ cache: () => files.cacheStats() });
        return {
          ports: [server.port],
          close: async (timeoutMs, o) => {
            await server.close(timeoutMs, o);
            files.close();
          },
        };
      },
    });
  } catch (err) {
    // A worker could not start (the message says why): one line, like the single-process mode.
    const msg = (err as Error).message;
    throw new UsageError(msg.replace(/^.*before it was listening: /, ''), 1);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`rapid: ${err.message}`);
      process.exitCode = err.exitCode;
    } else {
      // A bug, not a user mistake: the stack helps whoever reports it.
      console.error('rapid: unexpected error:', err);
      process.exitCode = 70;
    }
  },
);
