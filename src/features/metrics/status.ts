/**
 * The status endpoint: Prometheus text exposition format (version 0.0.4) by default, a small HTML
 * page with `?html` or `Accept: text/html`. Off unless configured; only the allowed addresses
 * (default loopback) get an answer, everyone else a 403. In a cluster, `view` asks the primary for
 * every worker's numbers; alone it shows this process.
 */
import { BlockList, isIP } from 'node:net';
import { E, RapidError } from '../../core/errors.js';
import type { RapidRequest, RapidResponse } from '../../core/types.js';
import {
  LATENCY_BUCKETS,
  sumSnapshots,
  totalRequests,
  type Metrics,
  type MetricsSnapshot,
} from './metrics.js';

export interface WorkerView {
  id: number;
  pid: number;
  snapshot: MetricsSnapshot;
}

/** What the page shows: the sum, each worker, and what only the primary knows. */
export interface StatusView {
  total: MetricsSnapshot;
  workers: WorkerView[];
  /** Workers replaced after a crash or a rolling restart. */
  restarts: number;
  /** How connections reach workers: 'single', 'shared' (cluster round-robin), 'reuseport', ... */
  mode: string;
}

export interface StatusOptions {
  /** The path served (default '/server-status'). */
  path?: string;
  /** Addresses or CIDR ranges allowed ('all' for everyone; default ['127.0.0.1', '::1']). */
  allow?: string[];
}

export interface StatusHandler {
  (req: RapidRequest, res: RapidResponse, next?: () => void | Promise<void>): void | Promise<void>;
  readonly path: string;
  close(): void;
}

const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

/** A matcher for addresses and CIDR ranges, built on node:net's BlockList. */
export function addressMatcher(
  list: readonly string[],
  what = 'status.allow',
): (ip: string) => boolean {
  if (!Array.isArray(list))
    throw new RapidError(E.METRICS_INVALID_OPTION, `${what} must be an array`);
  if (list.includes('all')) return () => true;
  const bl = new BlockList();
  for (const entry of list) {
    if (typeof entry !== 'string')
      throw new RapidError(E.METRICS_INVALID_OPTION, `${what}: ${String(entry)}`);
    const [addr = '', bits] = entry.split('/');
    const family = isIP(addr);
    if (family === 0) {
      throw new RapidError(E.METRICS_INVALID_OPTION, `${what}: not an address or range: ${entry}`);
    }
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) bl.addAddress(addr, type);
    else {
      const prefix = Number(bits);
      if (!/^\d+$/.test(bits) || prefix > (family === 6 ? 128 : 32)) {
        throw new RapidError(E.METRICS_INVALID_OPTION, `${what}: bad prefix length: ${entry}`);
      }
      bl.addSubnet(addr, prefix, type);
    }
  }
  return (ip) => {
    // IPv4 clients on a dual-stack socket appear as ::ffff:a.b.c.d.
    const v4 = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
    const family = isIP(v4);
    return family !== 0 && bl.check(v4, family === 6 ? 'ipv6' : 'ipv4');
  };
}

const num = (n: number): string =>
  Number.isInteger(n) ? String(n) : String(Math.round(n * 1e6) / 1e6);
const esc = (s: string): string =>
  s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** The Prometheus text exposition of a view. */
export function renderPrometheus(v: StatusView): string {
  const t = v.total;
  const out: string[] = [];
  const metric = (name: string, type: string, help: string): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };
  metric('rapid_requests_total', 'counter', 'Responses sent, by site (Host) and status class.');
  for (const [site, counts] of Object.entries(t.requests).sort(([a], [b]) => (a < b ? -1 : 1))) {
    counts.forEach((n, i) => {
      if (n > 0) out.push(`rapid_requests_total{site="${esc(site)}",class="${CLASSES[i]}"} ${n}`);
    });
  }
  metric(
    'rapid_request_duration_seconds',
    'histogram',
    'Time from the end of the request head to the last byte of the response queued.',
  );
  let cum = 0;
  LATENCY_BUCKETS.forEach((le, i) => {
    cum += t.latencyBuckets[i] ?? 0;
    out.push(`rapid_request_duration_seconds_bucket{le="${le}"} ${cum}`);
  });
  cum += t.latencyBuckets[LATENCY_BUCKETS.length] ?? 0;
  out.push(`rapid_request_duration_seconds_bucket{le="+Inf"} ${cum}`);
  out.push(`rapid_request_duration_seconds_sum ${num(t.latencySum)}`);
  out.push(`rapid_request_duration_seconds_count ${t.latencyCount}`);
  metric('rapid_response_bytes_total', 'counter', 'Bytes of responses (heads and bodies) written.');
  out.push(`rapid_response_bytes_total ${t.bytesOut}`);
  metric('rapid_open_connections', 'gauge', 'Client connections open now.');
  out.push(`rapid_open_connections ${t.openConnections}`);
  metric(
    'rapid_keepalive_reused_requests_total',
    'counter',
    'Requests that arrived on a reused keep-alive connection.',
  );
  out.push(`rapid_keepalive_reused_requests_total ${t.reusedRequests}`);
  metric('rapid_cache_hits_total', 'counter', 'Static file output cache hits.');
  out.push(`rapid_cache_hits_total ${t.cacheHits}`);
  metric('rapid_cache_misses_total', 'counter', 'Static file output cache misses.');
  out.push(`rapid_cache_misses_total ${t.cacheMisses}`);
  metric('rapid_workers', 'gauge', 'Worker processes serving now.');
  out.push(`rapid_workers ${v.workers.length}`);
  metric(
    'rapid_worker_restarts_total',
    'counter',
    'Workers replaced (after a crash or a rolling restart).',
  );
  out.push(`rapid_worker_restarts_total ${v.restarts}`);
  metric('rapid_worker_requests_total', 'counter', 'Responses sent, by worker.');
  for (const w of v.workers) {
    out.push(
      `rapid_worker_requests_total{worker="${w.id}",pid="${w.pid}"} ${totalRequests(w.snapshot)}`,
    );
  }
  return `${out.join('\n')}\n`;
}

const html = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The human page: the same numbers at a glance. */
export function renderHtml(v: StatusView): string {
  const t = v.total;
  const total = totalRequests(t);
  const avg = t.latencyCount > 0 ? ((t.latencySum / t.latencyCount) * 1000).toFixed(2) : '-';
  const reuse = total > 0 ? ((t.reusedRequests / total) * 100).toFixed(1) : '-';
  const lookups = t.cacheHits + t.cacheMisses;
  const hitRate = lookups > 0 ? ((t.cacheHits / lookups) * 100).toFixed(1) : '-';
  const sites = Object.entries(t.requests)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([s, c]) => `<tr><td>${html(s)}</td>${c.map((n) => `<td>${n}</td>`).join('')}</tr>`)
    .join('');
  const workers = v.workers
    .map(
      (w) =>
        `<tr><td>${w.id}</td><td>${w.pid}</td><td>${totalRequests(w.snapshot)}</td>` +
        `<td>${w.snapshot.openConnections}</td><td>${Math.round(w.snapshot.uptime)} s</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Rapid status</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .7em;text-align:right}th{background:#f4f4f4}</style>
</head><body>
<h1>Rapid status</h1>
<p>Mode: ${html(v.mode)} &middot; workers: ${v.workers.length} &middot; restarts: ${v.restarts} &middot; up ${Math.round(t.uptime)} s</p>
<table><tr><th>Requests</th><th>Open connections</th><th>Bytes out</th><th>Avg latency</th><th>Keep-alive reuse</th><th>Cache hit rate</th></tr>
<tr><td>${total}</td><td>${t.openConnections}</td><td>${t.bytesOut}</td><td>${avg} ms</td><td>${reuse} %</td><td>${hitRate} %</td></tr></table>
<h2>Sites</h2>
<table><tr><th>Site</th>${CLASSES.map((c) => `<th>${c}</th>`).join('')}</tr>${sites}</table>
<h2>Workers</h2>
<table><tr><th>Worker</th><th>pid</th><th>Requests</th><th>Open connections</th><th>Uptime</th></tr>${workers}</table>
</body></html>
`;
}

/** This process alone, as a view. */
export function localView(metrics: Metrics): StatusView {
  const s = metrics.snapshot();
  return {
    total: sumSnapshots([s]),
    workers: [{ id: 0, pid: s.pid, snapshot: s }],
    restarts: 0,
    mode: 'single',
  };
}

/**
 * The status handler. `view` gives the numbers to show (default: this process's `metrics`);
 * requests for other paths go to `next` (404 without one).
 */
export function createStatusHandler(
  metrics: Metrics,
  options: StatusOptions = {},
  view: () => Promise<StatusView> | StatusView = () => localView(metrics),
): StatusHandler {
  const path = options.path ?? '/server-status';
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new RapidError(
      E.METRICS_INVALID_OPTION,
      `status.path must start with "/", got ${JSON.stringify(path)}`,
    );
  }
  const allowed = addressMatcher(options.allow ?? ['127.0.0.1', '::1']);
  const handler = async (
    req: RapidRequest,
    res: RapidResponse,
    next?: () => void | Promise<void>,
  ): Promise<void> => {
    if (req.path !== path) {
      if (next !== undefined) return next();
      res.status(404).setHeader('Content-Type', 'text/plain; charset=utf-8').send('Not Found\n');
      return;
    }
    res.setHeader('Cache-Control', 'no-store');
    if (!allowed(req.remoteAddress)) {
      res
        .status(403)
        .setHeader('Content-Type', 'text/plain; charset=utf-8')
        .send(`${E.METRICS_FORBIDDEN.message}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res
        .status(405)
        .setHeader('Allow', 'GET, HEAD')
        .setHeader('Content-Type', 'text/plain; charset=utf-8')
        .send('Method Not Allowed\n');
      return;
    }
    const v = await view();
    const wantsHtml =
      /(^|[?&])html(=|&|$)/.test(req.search.slice(1)) ||
      /\btext\/html\b/.test(req.header('accept') ?? '');
    res.setHeader('Vary', 'Accept');
    if (wantsHtml) {
      res.setHeader('Content-Type', 'text/html; charset=utf-8').send(renderHtml(v));
    } else {
      res
        .setHeader('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
        .send(renderPrometheus(v));
    }
  };
  return Object.assign(handler, { path, close: () => undefined });
}
