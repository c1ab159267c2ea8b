/**
 * What the load generator asks for. The plaintext, JSON and pipelined scenarios are TechEmpower's
 * (same paths, same Accept headers, pipelining by repeating the request in one write); the others
 * cover what TechEmpower does not: a new connection per request, and static files.
 */
import { join } from 'node:path';
import type { Probe } from './proc.js';

export interface WrkOptions {
  duration: number;
  connections: number;
  threads: number;
  depth: number;
  /** Directory of bench/wrk (the Lua scripts). */
  scripts: string;
}

export interface ScenarioSpec {
  name: string;
  label: string;
  description: string;
  path: string;
  /** wrk's arguments for one run against `url` (the scenario's path on one server). */
  wrkArgs(url: string, o: WrkOptions): string[];
  /** null when a probe of `path` got the response this scenario expects, else what is wrong. */
  verify(p: Probe): string | null;
  /**
   * A dedicated comparison: only these servers take part (and servers marked `dedicated` take
   * part only where a scenario names them). Default: every general server.
   */
  servers?: readonly string[];
  /** The server the ratios of this scenario are taken against (default node-http). */
  baseline?: string;
}

export const DEFAULT_BASELINE = 'node-http';

// TechEmpower's request headers (toolset/benchmark/test_types/*: "accept" per test type).
const ACCEPT_PLAIN =
  'Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7';
const ACCEPT_JSON =
  'Accept: application/json,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7';

export const PLAINTEXT_BODY = 'Hello, World!';
/** The last parametric route of bench/app.ts's 1,000 (BENCH_ROUTES=1000). */
export const ROUTES_PATH = '/p/res499/42';
export const JSON_BODY = '{"message":"Hello, World!"}';
/** Sizes of the static files (written into the run's temp dir as static/1k.bin, static/64k.bin). */
export const STATIC_SIZES = { static1k: 1024, static64k: 64 * 1024 } as const;

function base(o: WrkOptions, script: string): string[] {
  return [
    `-t${o.threads}`,
    `-c${o.connections}`,
    `-d${o.duration}s`,
    '--latency',
    '-s',
    join(o.scripts, script),
  ];
}

/** wrkArgs: the common options with `script`, a `-H` for each of `headers`, the URL, `after`. */
function wrkArgs(
  script: string,
  headers: readonly string[],
  after: (o: WrkOptions) => string[] = () => [],
): ScenarioSpec['wrkArgs'] {
  return (url, o) => [...base(o, script), ...headers.flatMap((h) => ['-H', h]), url, ...after(o)];
}

const KEEPALIVE = 'Connection: keep-alive';

function expectPlain(p: Probe): string | null {
  if (p.status !== 200) return `status ${p.status}`;
  if (p.body.toString('latin1') !== PLAINTEXT_BODY) return 'body is not "Hello, World!"';
  if (!(p.headers['content-type'] ?? '').startsWith('text/plain')) return 'not text/plain';
  if (p.headers['date'] === undefined) return 'no Date header';
  return null;
}

function expectJson(p: Probe): string | null {
  if (p.status !== 200) return `status ${p.status}`;
  let v: unknown;
  try {
    v = JSON.parse(p.body.toString('utf8'));
  } catch {
    return 'body is not JSON';
  }
  if ((v as { message?: unknown }).message !== 'Hello, World!') return 'wrong JSON body';
  if (!(p.headers['content-type'] ?? '').startsWith('application/json')) return 'not JSON type';
  if (p.headers['date'] === undefined) return 'no Date header';
  return null;
}

function expectStatic(size: number) {
  return (p: Probe): string | null => {
    if (p.status !== 200) return `status ${p.status} (static files not served)`;
    if (p.body.length !== size) return `body is ${p.body.length} bytes, not ${size}`;
    return null;
  };
}

export const SCENARIOS: readonly ScenarioSpec[] = [
  {
    name: 'plaintext',
    label: 'plaintext',
    description:
      'GET /plaintext on 64 keep-alive connections, one request in flight per connection.',
    path: '/plaintext',
    wrkArgs: wrkArgs('report.lua', [ACCEPT_PLAIN, KEEPALIVE]),
    verify: expectPlain,
  },
  {
    name: 'json',
    label: 'JSON',
    description: 'GET /json (serialized per request) on 64 keep-alive connections.',
    path: '/json',
    wrkArgs: wrkArgs('report.lua', [ACCEPT_JSON, KEEPALIVE]),
    verify: expectJson,
  },
  {
    name: 'pipeline',
    label: 'pipelined ×16',
    description:
      'GET /plaintext, 16 requests written at once per connection (TechEmpower pipeline.lua).',
    path: '/plaintext',
    wrkArgs: wrkArgs('pipeline.lua', [ACCEPT_PLAIN, KEEPALIVE], (o) => ['--', String(o.depth)]),
    verify: expectPlain,
  },
  {
    name: 'noka',
    label: 'no keep-alive',
    description: 'GET /plaintext with "Connection: close": a new TCP connection for every request.',
    path: '/plaintext',
    wrkArgs: wrkArgs('report.lua', [ACCEPT_PLAIN, 'Connection: close']),
    verify: (p) => {
      const e = expectPlain(p);
      if (e !== null) return e;
      // RFC 9112 §9.6: the server MUST close after answering a "close" request and SHOULD say so
      // with "Connection: close" (wrk reconnects on either; a server doing neither would be
      // measured on keep-alive).
      return (p.headers['connection'] ?? '').toLowerCase() === 'close' || p.closedByServer
        ? null
        : 'keeps the connection open after a "Connection: close" request';
    },
  },
  {
    name: 'static1k',
    label: 'static 1 KB',
    description: 'GET /static/1k.bin, a 1 KiB file, on 64 keep-alive connections.',
    path: '/static/1k.bin',
    wrkArgs: wrkArgs('report.lua', []),
    verify: expectStatic(STATIC_SIZES.static1k),
  },
  {
    name: 'static64k',
    label: 'static 64 KB',
    description: 'GET /static/64k.bin, a 64 KiB file, on 64 keep-alive connections.',
    path: '/static/64k.bin',
    wrkArgs: wrkArgs('report.lua', []),
    verify: expectStatic(STATIC_SIZES.static64k),
  },
  {
    name: 'routes',
    label: '1,000 routes',
    description:
      'GET /p/res499/42 on 64 keep-alive connections: Rapid’s application layer with 1,000 routes ' +
      '(500 static, 500 parametric; this hits the last parametric one) against the bare engine ' +
      'answering the same bytes from one `if`; ratios are to the bare engine.',
    path: ROUTES_PATH,
    wrkArgs: wrkArgs('report.lua', [ACCEPT_PLAIN, KEEPALIVE]),
    verify: expectPlain,
    servers: ['rapid', 'rapid-routes'],
    baseline: 'rapid',
  },
  {
    name: 'fetch',
    label: 'fetch handler',
    description:
      'GET /user/42 on 64 keep-alive connections: the same Hono app (bench/peers/hono-app.mjs: a ' +
      'route parameter, a header read, a JSON answer) on Rapid’s `serve({ fetch })` and on ' +
      '@hono/node-server; ratios are to @hono/node-server.',
    path: '/user/42',
    wrkArgs: wrkArgs('report.lua', [ACCEPT_JSON, KEEPALIVE]),
    verify: (p) => {
      if (p.status !== 200) return `status ${p.status}`;
      try {
        const v = JSON.parse(p.body.toString('utf8')) as { id?: unknown };
        return v.id === '42' ? null : 'wrong JSON body';
      } catch {
        return 'body is not JSON';
      }
    },
    servers: ['rapid-fetch', 'hono-fetch'],
    baseline: 'hono-fetch',
  },
];

export const DEFAULT_SCENARIOS = [
  'plaintext',
  'json',
  'pipeline',
  'noka',
  'static1k',
  'static64k',
  'routes',
  'fetch',
];
