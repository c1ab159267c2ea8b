#!/usr/bin/env node
/**
 * The `rapid` command: serve a directory, or run a config file.
 *
 *   rapid [root] [--port N] [--host H]      serve a directory
 *   rapid --config rapid.xml                run a config file (.xml, .yaml, .json, .js, .ts)
 *   rapid check rapid.xml                   validate a config file without starting
 *   rapid --help | --version
 *
 * Without a root it serves the bundled example site (examples/site/ in the package) on
 * http://127.0.0.1:8080. Mistakes a user can make (a bad flag, a missing directory, a port in
 * use, a bad config file) end the process with status 2 or 1 and one line per problem on
 * stderr, never a stack trace. SIGINT and SIGTERM close the server gracefully; a second signal
 * exits at once. SIGHUP re-reads the config file: a bad one is refused (the error is logged and
 * the old config keeps serving), a good one applies to new requests without dropping
 * connections.
 */
import cluster from 'node:cluster';
import { readFileSync, statSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { compileSites } from '../config/build.js';
import { ConfigError } from '../config/issues.js';
import { loadConfig, settingError } from '../config/load.js';
import { startFromConfig, type ConfigServer } from '../config/start.js';
import { factories } from '../config/features.js';
import type { Config } from '../config/schema.js';
import { createStaticHandler } from '../features/static/index.js';
import { hasReusePort } from '../cluster/index.js';
import { serve, type RapidServer } from '../server/server.js';
import { findPackageRoot } from '../util/package-root.js';
import { argsErrorLine } from './args.js';
import { certCommand } from './cert.js';
import { reloadCommand, serveWithWorkers } from './workers.js';

const USAGE = `Usage: rapid [root] [options]
       rapid --config <file>
       rapid check <file>

Serve the files under <root> (default: the bundled example site), or run a config file
(.xml, .yaml, .yml, .json, .js, .mjs or .ts; see docs/config.md).

Options:
  -p, --port <n>       TCP port, 0 for any free port (default 8080)
      --host <h>       address to listen on (default 127.0.0.1; 0.0.0.0 or :: for all)
      --cert <f>       serve HTTPS (and HTTP/2) with this PEM certificate ...
      --key <f>        ... and this PEM key (SIGHUP reloads both)
  -c, --config <file>  run this config file; SIGHUP re-reads it, SIGUSR1 reopens its logs
  -w, --workers <auto|n>  serve from n worker processes (auto: one per CPU); with
                       --config it overrides the file's workers setting
      --pid-file <f>   write the primary's pid to f (for rapid reload)
  -h, --help           show this help
  -v, --version        print the version

Commands:
  check <file>         validate a config file without starting: prints OK or the problems
  cert <names...> [--out dir] [--days n]
                       write a self-signed development certificate (see docs/tls.md)
  reload [--pid-file <f>]
                       rolling restart of a server started with --workers and --pid-file
                       (default ./rapid.pid): new workers take over one by one without
                       failing a request (the same as sending it SIGUSR2)

A file named 404.html in the root is sent as the body of 404 responses.`;

/** Exit codes: 1 = could not run (root, port), 2 = bad command line. */
class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    /** The message names its file and line already (config problems). */
    readonly located = false,
  ) {
    super(message);
  }
}

function version(): string {
  const pkg = JSON.parse(
    readFileSync(join(findPackageRoot(import.meta.url), 'package.json'), 'utf8'),
  ) as {
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
  cert?: string;
  key?: string;
}

type Command =
  | { kind: 'serve'; settings: Settings }
  | { kind: 'config'; file: string; workers?: 'auto' | number; pidFile?: string }
  | { kind: 'check'; file: string }
  | { kind: 'reload'; pidFile: string }
  | 'help'
  | 'version';

function parse(argv: string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        config: { type: 'string', short: 'c' },
        workers: { type: 'string', short: 'w' },
        'pid-file': { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    throw new UsageError(`${argsErrorLine(err)} (see rapid --help)`, 2);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (values.version) return 'version';
  if (positionals[0] === 'reload') {
    if (positionals.length > 1) throw new UsageError('rapid reload takes no arguments', 2);
    return { kind: 'reload', pidFile: values['pid-file'] ?? 'rapid.pid' };
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
  if (positionals[0] === 'check') {
    if (positionals.length !== 2) throw new UsageError('usage: rapid check <config file>', 2);
    if (values.config !== undefined || values.port !== undefined || values.host !== undefined) {
      throw new UsageError('rapid check takes only a file', 2);
    }
    return { kind: 'check', file: positionals[1]! };
  }
  if (values.config !== undefined) {
    if (values.config.length === 0) throw new UsageError('empty --config', 2);
    if (positionals.length > 0) {
      throw new UsageError('give a root directory or --config, not both', 2);
    }
    if (values.port !== undefined || values.host !== undefined) {
      throw new UsageError(
        '--port and --host do not apply to --config: set listeners in the file',
        2,
      );
    }
    return { kind: 'config', file: values.config, workers, pidFile };
  }
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
      : join(findPackageRoot(import.meta.url), 'examples', 'site');
  let isDir = false;
  try {
    isDir = statSync(root).isDirectory();
  } catch {
    throw new UsageError(`root directory not found: ${root}`, 1);
  }
  if (!isDir) throw new UsageError(`root is not a directory: ${root}`, 1);
  if ((values.cert === undefined) !== (values.key === undefined))
    throw new UsageError('--cert and --key go together', 2);
  return {
    kind: 'serve',
    settings: { root, port, host, workers, pidFile, cert: values.cert, key: values.key },
  };
}

/** The URLs a client can use: every local address when bound to a wildcard. */
function urls(host: string, port: number, scheme = 'http'): string[] {
  const fmt = (a: string): string => `${scheme}://${a.includes(':') ? `[${a}]` : a}:${port}/`;
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

/** SIGINT/SIGTERM: graceful close, then exit 0; a second signal exits at once. */
function onStop(close: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second Ctrl-C: the user does not want to wait for open requests.
      process.exit(130);
    }
    stopping = true;
    console.log(`rapid: ${signal}, closing`);
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** One line per problem, for stderr. */
function problems(err: unknown): string | null {
  if (err instanceof ConfigError) return err.detail;
  return null;
}

async function serveDirectory(settings: Settings): Promise<void> {
  const { root, port, host } = settings;
  if (settings.workers !== undefined) {
    await serveWorkers(settings);
    return;
  }
  const files = createStaticHandler({ root, notFound: '404.html' });
  let server: RapidServer;
  try {
    const { cert, key } = settings;
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
  } else {
    // Nothing to re-read, but SIGHUP must not kill a server started from a terminal.
    process.on('SIGHUP', () => console.log('rapid: SIGHUP ignored (no config file to reload)'));
  }
  onStop(async () => {
    await server.close();
    files.close();
  });
}

function printStarted(app: ConfigServer): void {
  // One write, so a reader that sees the first address sees the sites too.
  const lines = [`rapid ${version()} serving ${app.file}`];
  for (const l of app.listeners) {
    const list =
      l.config.socket === undefined
        ? urls(l.config.host, l.server.port, l.config.tls !== undefined ? 'https' : 'http')
        : [l.url];
    for (const u of list) lines.push(`  listening on ${u}`);
  }
  for (const s of app.sites) {
    const names = [s.name, ...s.aliases].join(', ');
    const what = s.root ?? '(handlers only)';
    lines.push(`  site ${names}${s.default ? ' (default)' : ''} -> ${what}`);
  }
  console.log(lines.join('\n'));
}

async function serveConfig(command: {
  file: string;
  workers?: 'auto' | number;
  pidFile?: string;
}): Promise<void> {
  const file = resolve(command.file);
  // A worker (src/cluster) runs the same command line: it goes straight to serving.
  if (cluster.isWorker) {
    await configWorkers(file, null, command);
    return;
  }
  let app: ConfigServer;
  let loaded;
  try {
    loaded = await loadConfig(file);
    const d = loaded.config.distribution;
    const clustered = command.workers !== undefined || loaded.config.workers !== 1;
    if (d !== undefined && !clustered)
      throw settingError(loaded, 'distribution', 'applies to worker processes: set workers too');
    if (d === 'reuseport' && !hasReusePort())
      throw settingError(
        loaded,
        'distribution',
        `"reuseport" needs Node 22.12+ (this is ${process.versions.node})`,
      );
    if (clustered) {
      await configWorkers(file, loaded.config, command);
      return;
    }
    app = await startFromConfig(file);
  } catch (err) {
    const p = problems(err);
    if (p !== null) throw new UsageError(p, 1, true);
    throw err;
  }
  printStarted(app);
  let reloads = Promise.resolve();
  process.on('SIGHUP', () => {
    reloads = reloads.then(async () => {
      try {
        await app.reload();
        console.log(`rapid: reloaded ${app.file}`);
        for (const l of app.listeners) console.log(`  listening on ${l.url}`);
      } catch (err) {
        const p = problems(err) ?? String((err as Error)?.stack ?? err);
        console.error(`rapid: reload refused, the previous configuration keeps serving:\n${p}`);
      }
    });
  });
  process.on('SIGUSR1', () => {
    app.reopenLogs().catch((err: unknown) => console.error('rapid: reopening logs failed:', err));
  });
  onStop(() => app.close());
}

/**
 * Config mode in workers: every worker runs startFromConfig(file); the primary (which loaded the
 * file to learn `workers` and `shutdownTimeout`) supervises. SIGHUP reloads the file in every
 * worker (a bad file is refused by each, the old config keeps serving), SIGUSR2 restarts them one
 * by one (the new ones read the file as it is then), SIGUSR1 reopens their logs.
 */
async function configWorkers(
  file: string,
  config: Config | null,
  command: { workers?: 'auto' | number; pidFile?: string },
): Promise<void> {
  try {
    await serveWithWorkers({
      workers: command.workers ?? config?.workers ?? 'auto',
      distribution: config?.distribution,
      pidFile: command.pidFile,
      shutdownTimeout: config?.shutdownTimeout,
      banner: (_port, ports) => {
        const lines = [`rapid ${version()} serving ${file}`];
        (config?.listeners ?? []).forEach((l, i) => {
          const list =
            l.socket !== undefined
              ? [`unix:${l.socket}`]
              : urls(l.host, ports[i] ?? l.port, l.tls !== undefined ? 'https' : 'http');
          for (const u of list) lines.push(`  listening on ${u}`);
        });
        console.log(lines.join('\n'));
      },
      async start(ctx) {
        let app: ConfigServer;
        try {
          app = await startFromConfig(file, {
            metrics: ctx.metrics,
            statusView: () => ctx.statusView(),
            reusePort: ctx.reusePort,
          });
        } catch (err) {
          throw new Error(problems(err) ?? String(err));
        }
        return {
          ports: app.listeners.map((l) => l.server.port),
          reload: async () => {
            try {
              await app.reload();
            } catch (err) {
              throw new Error(
                `refused, the previous configuration keeps serving:\n${problems(err) ?? String(err)}`,
              );
            }
          },
          reopenLogs: () => app.reopenLogs(),
          close: (timeoutMs, o) => app.close(timeoutMs, o),
        };
      },
    });
  } catch (err) {
    const msg = (err as Error).message;
    throw new UsageError(msg.replace(/^.*?before it was listening: /s, ''), 1, true);
  }
}

/** rapid check: load, build every handler (nothing listens), close; 0 when fine. */
async function checkConfig(file: string): Promise<number> {
  try {
    const loaded = await loadConfig(resolve(file));
    const compiled = await compileSites(loaded);
    await compiled.close();
    console.log(`${loaded.file}: OK`);
    return 0;
  } catch (err) {
    const p = problems(err);
    if (p === null) throw err;
    console.error(p);
    return 1;
  }
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

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'cert') return certCommand(argv.slice(1));
  // This process can run workers (src/cluster): a config's workers setting is honoured.
  factories.workers = true;
  const command = parse(argv);
  if (command === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (command === 'version') {
    console.log(`rapid ${version()}`);
    return 0;
  }
  if (command.kind === 'check') return checkConfig(command.file);
  if (command.kind === 'reload') {
    try {
      console.log(reloadCommand(command.pidFile));
    } catch (err) {
      throw new UsageError((err as Error).message, 1);
    }
    return 0;
  }
  if (command.kind === 'config') await serveConfig(command);
  else await serveDirectory(command.settings);
  return -1;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      // Config problems are "file:line:column: setting: message" lines, printed as they are.
      console.error(err.located ? err.message : `rapid: ${err.message}`);
      process.exitCode = err.exitCode;
    } else {
      // A bug, not a user mistake: the stack helps whoever reports it.
      console.error('rapid: unexpected error:', err);
      process.exitCode = 70;
    }
  },
);
