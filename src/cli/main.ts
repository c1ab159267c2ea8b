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
import { certCommand } from './cert.js';
import { serve, type RapidServer } from '../server/server.js';

const USAGE = `Usage: rapid [root] [options]

Serve the files under <root> (default: the bundled example site).

Options:
  -p, --port <n>   TCP port, 0 for any free port (default 8080)
      --host <h>   address to listen on (default 127.0.0.1; 0.0.0.0 or :: for all)
      --cert <f>   serve HTTPS (and HTTP/2) with this PEM certificate ...
      --key <f>    ... and this PEM key (SIGHUP reloads both)
  -h, --help       show this help
  -v, --version    print the version

A file named 404.html in the root is sent as the body of 404 responses.
rapid cert <names...> writes a development certificate (rapid cert --help).`;

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
  cert?: string;
  key?: string;
}

function parse(argv: string[]): Settings | 'help' | 'version' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
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
  if ((values.cert === undefined) !== (values.key === undefined))
    throw new UsageError('--cert and --key go together', 2);
  return { root, port, host, cert: values.cert, key: values.key };
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
  if (argv[0] === 'cert') return certCommand(argv.slice(1));
  const settings = parse(argv);
  if (settings === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (settings === 'version') {
    console.log(`rapid ${version()}`);
    return 0;
  }
  const { root, port, host, cert, key } = settings;
  const files = createStaticHandler({ root, notFound: '404.html' });
  let server: RapidServer;
  try {
    const tls = cert !== undefined && key !== undefined ? { cert, key } : undefined;
    server = await serve({ port, host, handler: files, tls });
  } catch (err) {
    files.close();
    const msg = listenMessage(err, host, port);
    if (msg !== null) throw new UsageError(msg, 1);
    if ((err as { code?: string }).code?.startsWith('RAPID_ERR_TLS_') === true)
      throw new UsageError((err as Error).message, 1);
    throw err;
  }
  console.log(`rapid ${version()} serving ${root}`);
  for (const u of urls(host, server.port))
    console.log(`  listening on ${server.secure ? u.replace('http:', 'https:') : u}`);
  if (server.secure) {
    process.on('SIGHUP', () => {
      try {
        server.reloadCertificates();
        console.log('rapid: SIGHUP, certificates reloaded');
      } catch (err) {
        console.error(`rapid: SIGHUP, certificates not reloaded: ${(err as Error).message}`);
      }
    });
  }

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
