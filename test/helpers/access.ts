/**
 * Helpers for the access-rule and header/redirect/rewrite tests: chaining feature handlers, a
 * server on a chosen address (127.0.0.1, ::1 or the dual-stack ::), requests from a chosen source
 * address (127.0.0.x via localAddress) with undici or raw sockets, and htpasswd files written by
 * the real `htpasswd` binary.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { Agent, request as undiciRequest } from 'undici';
import type { Handler, RapidRequest, RapidResponse } from '../../src/core/types.js';
import { serve, type RapidServer } from '../../src/server/server.js';
import { parseResponse, type RawResponse } from './static-site.js';

export type FeatureHandler = (
  req: RapidRequest,
  res: RapidResponse,
  next?: () => void | Promise<void>,
) => void | Promise<void>;

/** Run feature handlers in order, each one's `next` being the rest; `last` ends the chain. */
export function chain(handlers: FeatureHandler[], last: Handler): Handler {
  return (req, res) => {
    const step = (i: number): void | Promise<void> =>
      i === handlers.length
        ? last(req, res)
        : (handlers[i] as FeatureHandler)(req, res, () => step(i + 1));
    return step(0);
  };
}

/** A handler answering 200 with "<method> <path><search> url=<url>". */
export const echo: Handler = (req, res) => {
  res.setHeader('Content-Type', 'text/plain');
  res.send(`${req.method} ${req.path}${req.search} url=${req.url}`);
};

export interface Served {
  server: RapidServer;
  port: number;
  /** Errors reported to onError. */
  errors: unknown[];
}

/** serve() on `host`, port 0, closed after the file's tests. */
export async function startOn(host: string, handler: Handler): Promise<Served> {
  const errors: unknown[] = [];
  const server = await serve({ port: 0, host, handler, onError: (err) => errors.push(err) });
  after(() => server.close(1000));
  return { server, port: server.port, errors };
}

const agents = new Map<string, Agent>();
after(async () => {
  for (const a of agents.values()) await a.close();
  agents.clear();
});

function agentFor(localAddress: string | undefined): Agent {
  const key = localAddress ?? '';
  let a = agents.get(key);
  if (a === undefined) {
    a = new Agent(localAddress === undefined ? {} : { localAddress });
    agents.set(key, a);
  }
  return a;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request with undici from `localAddress` (default: the OS's choice). */
export async function fetchFrom(
  origin: string,
  path: string,
  opts: { localAddress?: string; headers?: Record<string, string>; method?: string } = {},
): Promise<Answer> {
  const r = await undiciRequest(origin + path, {
    method: (opts.method ?? 'GET') as 'GET',
    headers: opts.headers,
    dispatcher: agentFor(opts.localAddress),
  });
  return { status: r.statusCode, headers: r.headers, body: await r.body.text() };
}

/** Raw bytes on a new connection from `localAddress`, read until the server closes. */
export function rawFrom(
  port: number,
  bytes: string,
  opts: { host?: string; localAddress?: string; noBody?: boolean } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = net.connect({
      port,
      host: opts.host ?? '127.0.0.1',
      localAddress: opts.localAddress,
    });
    sock.on('connect', () => sock.write(bytes, 'latin1'));
    sock.on('data', (c) => chunks.push(c));
    sock.on('end', () => {
      try {
        resolve(parseResponse(Buffer.concat(chunks), opts.noBody === true));
      } catch (err) {
        reject(err as Error);
      }
    });
    sock.on('error', reject);
  });
}

/** "Basic base64(user:password)". */
export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

/** A temporary directory removed after the file's tests. */
export function tempDir(prefix = 'rapid-access-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Add or update a user in an htpasswd file with the real htpasswd binary: flag "B" (bcrypt, cost
 * 4 to keep tests fast), "m" ($apr1$), "s" ({SHA}). Creates the file when `create`.
 */
export function htpasswd(
  file: string,
  flag: string,
  user: string,
  password: string,
  create = false,
): void {
  const args = [
    `-b${create ? 'c' : ''}${flag}`,
    ...(flag === 'B' ? ['-C', '4'] : []),
    file,
    user,
    password,
  ];
  execFileSync('htpasswd', args, { stdio: 'ignore' });
}
