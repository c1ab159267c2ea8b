/**
 * CGI/1.1 (RFC 3875) as a feature handler: `createCgiHandler(options)` runs the script a request
 * names below `root` (a cgi-bin directory: the first path segments naming a regular file are the
 * script, the rest is PATH_INFO) as a child process, with its interpreter when its extension has
 * one (`{ '.php': 'php-cgi' }`), else directly (it must be executable, e.g. with a #! line).
 *
 * - No shell is ever involved: the command and its arguments go to spawn() as a list.
 * - The environment is the CGI variables (src/features/cgi-env.ts), PATH, and `env`; nothing
 *   else of the server's environment leaks into scripts.
 * - The body goes to stdin with backpressure; stdout is parsed and streamed like FastCGI's
 *   (src/features/cgi-response.ts); stderr lines go to `log` (each bounded).
 * - The script runs in its own process group, killed as a whole on timeout (504), when the client
 *   goes away, and on close(): a script's own children cannot outlive it and hold pipes open.
 *   Node reaps every child, so no zombie is left.
 * - A script that exits (or dies) before a complete header block gets 502.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { realpathSync, statSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { pipeline } from 'node:stream';
import { E, RapidError, type ErrorSpec } from '../../core/errors.js';
import type { RapidRequest, RapidResponse } from '../../core/types.js';
import { onClientGone } from '../../app/fetch.js';
import { findScript, scriptRequest, isStringRecord, type ScriptLookup } from '../cgi-env.js';
import { CgiOutput, defaultLog, sendErrorSpec, type InteropLog } from '../cgi-response.js';

export interface CgiOptions {
  /** The cgi-bin directory: every regular file below it is a script. */
  root: string;
  /** Base for a relative `root` (default process.cwd()). */
  baseDir?: string;
  /** Interpreter per extension: { '.php': 'php-cgi', '.py': 'python3' }. Words split on spaces
   * become arguments ("php-cgi -d display_errors=0"); the script path is the last argument. */
  interpreters?: Readonly<Record<string, string>>;
  /** Extra environment variables for every script (they override the CGI ones). */
  env?: Readonly<Record<string, string>>;
  /** Time in ms a script may run (default 60000): killed, 504. 0 for no limit. */
  timeout?: number;
  /** Scripts tried for a directory request (default none: 404). */
  index?: string | readonly string[];
  /** Where stderr lines and failures are reported (default: stderr). */
  log?: InteropLog;
}

export interface CgiHandler {
  (req: RapidRequest, res: RapidResponse, next?: () => void | Promise<void>): Promise<void>;
  /** Scripts running now. */
  readonly running: number;
  /** Kill every running script. */
  close(): void;
}

/** Longest stderr line logged; the rest of a longer line is dropped. */
const MAX_STDERR_LINE = 8192;

function check(ok: boolean, what: string): void {
  if (!ok) throw new RapidError(E.CGI_INVALID_OPTION, what);
}

/** Kill the script's whole process group (it was started detached, as its leader). */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
    child.kill('SIGKILL');
  }
}

/** Splits a stream into lines for the log, each bounded, without holding more than one line. */
class LineLog {
  private buf = '';
  private dropping = false;
  constructor(private readonly emit: (line: string) => void) {}

  push(chunk: Buffer): void {
    let text = chunk.toString('utf8');
    for (;;) {
      const nl = text.indexOf('\n');
      if (nl === -1) break;
      if (!this.dropping) this.out(this.buf + text.slice(0, nl));
      this.buf = '';
      this.dropping = false;
      text = text.slice(nl + 1);
    }
    if (this.dropping) return;
    this.buf += text;
    if (this.buf.length > MAX_STDERR_LINE) {
      this.out(this.buf.slice(0, MAX_STDERR_LINE));
      this.buf = '';
      this.dropping = true;
    }
  }

  end(): void {
    if (!this.dropping && this.buf.length > 0) this.out(this.buf);
    this.buf = '';
  }

  private out(line: string): void {
    const l = line.replace(/\r$/, '');
    if (l.length > 0) this.emit(l);
  }
}

class Cgi {
  private readonly lookup: ScriptLookup;
  private readonly interpreters: Map<string, string[]>;
  private readonly env: Readonly<Record<string, string>> | undefined;
  private readonly timeout: number;
  private readonly log: InteropLog;
  readonly children = new Set<ChildProcess>();

  constructor(o: CgiOptions) {
    check(typeof o === 'object' && o !== null, 'options must be an object');
    const baseDir = o.baseDir ?? process.cwd();
    check(typeof o.root === 'string' && o.root.length > 0, 'root must be a path');
    let root: string;
    try {
      root = realpathSync(resolve(baseDir, o.root));
      if (!statSync(root).isDirectory()) throw new Error('not a directory');
    } catch {
      throw new RapidError(E.CGI_INVALID_OPTION, `root ${o.root} is not a directory`);
    }
    const index = o.index === undefined ? [] : typeof o.index === 'string' ? [o.index] : o.index;
    check(
      Array.isArray(index) &&
        index.every((n) => typeof n === 'string' && n.length > 0 && !/[/\\\0]/.test(n)),
      'index must be a file name or a list of file names',
    );
    check(
      o.interpreters === undefined || isStringRecord(o.interpreters),
      'interpreters must map extensions to commands',
    );
    this.interpreters = new Map();
    for (const [ext, cmd] of Object.entries(o.interpreters ?? {})) {
      check(/^\.[^/\\\0]+$/.test(ext), `interpreters: ${JSON.stringify(ext)} is not an extension`);
      const words = cmd.trim().split(/\s+/);
      check(words[0] !== '', `interpreters: empty command for ${ext}`);
      this.interpreters.set(ext, words);
    }
    check(o.env === undefined || isStringRecord(o.env), 'env must map names to strings');
    const timeout = o.timeout ?? 60_000;
    check(
      typeof timeout === 'number' && Number.isFinite(timeout) && timeout >= 0,
      'timeout must be a number of ms',
    );
    check(o.log === undefined || typeof o.log === 'function', 'log must be a function');
    this.lookup = { root, index, extensions: null, splitPathInfo: true };
    this.env = o.env;
    this.timeout = timeout;
    this.log = o.log ?? defaultLog('cgi');
  }

  async handle(
    req: RapidRequest,
    res: RapidResponse,
    next?: () => void | Promise<void>,
  ): Promise<void> {
    const target = await findScript(this.lookup, req.path);
    if (typeof target === 'string') {
      if (next !== undefined) return next();
      sendErrorSpec(res, E.CGI_NOT_FOUND);
      return;
    }
    const { body, vars } = await scriptRequest(req, target, this.lookup.root, this.env);
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    };
    Object.assign(env, vars);
    const interp = this.interpreters.get(extname(target.filename));
    const command = interp === undefined ? target.filename : (interp[0] as string);
    const args = interp === undefined ? [] : [...interp.slice(1), target.filename];
    await this.run(req, res, command, args, env, dirname(target.filename), body);
  }

  private run(
    req: RapidRequest,
    res: RapidResponse,
    command: string,
    args: string[],
    env: Record<string, string>,
    cwd: string,
    body: Buffer | null,
  ): Promise<void> {
    return new Promise<void>((resolveFn, reject) => {
      let child: ChildProcess;
      try {
        child = spawn(command, args, {
          cwd,
          env,
          stdio: ['pipe', 'pipe', 'pipe'],
          detached: true, // its own process group, killed as one
          shell: false,
          windowsHide: true,
        });
      } catch (err) {
        this.log(
          'error',
          `${req.method} ${req.url}: cannot start ${command}: ${(err as Error).message}`,
        );
        sendErrorSpec(res, E.CGI_SPAWN_FAILED);
        resolveFn();
        return;
      }
      this.children.add(child);
      let settled = false;
      const stdout = child.stdout!;
      const output = new CgiOutput(res, {
        pause: () => stdout.pause(),
        resume: () => stdout.resume(),
      });
      const stderr = new LineLog((line) => this.log('warn', `${req.method} ${req.url}: ${line}`));
      const stopWatch = onClientGone(req, () => fail(null, 'client went away'), true);
      const timer =
        this.timeout > 0
          ? setTimeout(() => fail(E.CGI_TIMEOUT, `killed after ${this.timeout} ms`), this.timeout)
          : undefined;

      const done = (): void => {
        settled = true;
        clearTimeout(timer);
        stopWatch();
      };
      const fail = (spec: ErrorSpec | null, detail: string): void => {
        if (settled) return;
        done();
        killGroup(child);
        if (spec === null) {
          resolveFn();
          return;
        }
        this.log('error', `${req.method} ${req.url}: ${spec.message} (${detail})`);
        if (sendErrorSpec(res, spec)) resolveFn();
        else reject(new RapidError(spec, detail));
      };

      child.once('error', (err) => fail(E.CGI_SPAWN_FAILED, `${command}: ${err.message}`));
      stdout.on('data', (chunk: Buffer) => {
        if (!settled && !output.push(chunk)) fail(E.CGI_BAD_RESPONSE, output.reason);
      });
      child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
      // 'close': the process exited and its stdio streams are done.
      child.once('close', (code, signal) => {
        this.children.delete(child);
        stderr.end();
        if (settled) return;
        if (!output.headersDone) {
          return fail(
            E.CGI_NO_RESPONSE,
            signal !== null ? `killed by ${signal}` : `exit status ${code}: ${output.reason}`,
          );
        }
        done();
        try {
          output.end();
        } catch (err) {
          reject(err as Error);
          return;
        }
        resolveFn();
      });

      const stdin = child.stdin!;
      // A script that exits without reading its input makes writes fail with EPIPE: not an error.
      stdin.on('error', () => {});
      if (body !== null) stdin.end(body);
      else if (!req.hasBody) stdin.end();
      else {
        pipeline(req.stream(), stdin, (err) => {
          if (err && (err as NodeJS.ErrnoException).code !== 'EPIPE' && !settled) {
            // The client's body failed (it went away, or timed out): the script cannot finish.
            if (err instanceof RapidError) fail(null, err.message);
          }
        });
      }
    });
  }

  close(): void {
    for (const c of this.children) killGroup(c);
  }
}

export function createCgiHandler(options: CgiOptions): CgiHandler {
  const c = new Cgi(options);
  const handler = ((req, res, next) => c.handle(req, res, next)) as CgiHandler;
  Object.defineProperty(handler, 'running', { get: () => c.children.size });
  handler.close = () => c.close();
  return handler;
}
