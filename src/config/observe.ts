/**
 * Logging and the status endpoint in config mode: the config's `accessLog` (server-wide and per
 * site), `errorLog` and `status` become one Observability (src/server/observe.ts) shared by every
 * listener, so one file has one writer however many listeners there are.
 *
 * Zero cost when off: a config without an access log or a status endpoint installs no response
 * observer on any listener. When they are on, each listener gets one stable indirection, so a
 * reload can replace the logs (other paths, formats) without touching the listeners; a reload that
 * turns them on installs the observer on the running listeners (new connections are observed,
 * connections open before it are not).
 */
import type { Handler, RapidRequest, ResponseObserver } from '../core/types.js';
import type { AccessLogOptions } from '../features/log/access.js';
import { Metrics, observe, type Observability, type StatusView } from '../server/observe.js';
import type { Config } from './schema.js';

export interface ObserveBuildOptions {
  /** Counters to feed (a cluster worker's, so the primary adds every worker up). */
  metrics?: Metrics;
  /** Where the status page's numbers come from (a cluster worker asks the primary). */
  statusView?: () => Promise<StatusView> | StatusView;
}

/** What of a config this part depends on: an unchanged key keeps the open log files. */
export function observeKey(config: Config): string {
  return JSON.stringify([
    config.baseDir,
    config.accessLog,
    config.errorLog,
    config.status,
    config.sites.map((s) => [s.name, s.aliases, s.accessLog]),
  ]);
}

/** The access log entries: one per site that has its own, then the server-wide one. */
export function accessLogEntries(config: Config): AccessLogOptions[] {
  const out: AccessLogOptions[] = [];
  for (const s of config.sites) {
    if (s.accessLog === undefined) continue;
    out.push({ path: s.accessLog.path, format: s.accessLog.format, hosts: [s.name, ...s.aliases] });
  }
  if (config.accessLog !== undefined) {
    out.push({ path: config.accessLog.path, format: config.accessLog.format });
  }
  return out;
}

/**
 * Build the observers of a config around `handler` (the sites); null when the config has none.
 * `metrics` is created on first need and kept by the caller, so the counters survive reloads.
 */
export async function observeConfig(
  config: Config,
  handler: Handler,
  options: ObserveBuildOptions & { metrics?: Metrics },
): Promise<Observability | null> {
  const logs = accessLogEntries(config);
  const status = config.status;
  return observe(
    {
      accessLog: logs.length === 0 ? undefined : logs,
      errorLog: config.errorLog,
      status,
      // Counting only feeds the status page: without one, nothing is measured.
      metrics: status === undefined ? undefined : options.metrics,
      statusView: options.statusView,
      baseDir: config.baseDir,
    },
    handler,
  );
}

/** The one observer a listener gets while the config observes responses. */
export function observerOf(get: () => Observability | null): ResponseObserver {
  return (req, status, bytes, headBytes, startMs, remote, seq) => {
    const o = get()?.onResponse;
    if (o != null) o(req, status, bytes, headBytes, startMs, remote, seq);
  };
}

/** serve()'s onError: the error log when configured, else `fallback`. */
export function onErrorOf(
  get: () => Observability | null,
  fallback: ((err: unknown, req: RapidRequest | null) => void) | undefined,
): (err: unknown, req: RapidRequest | null) => void {
  return (err, req) => {
    const log = get()?.onError;
    if (log != null) log(err, req);
    else if (fallback !== undefined) fallback(err, req);
    else {
      const where = req === null ? '' : ` (${req.method} ${req.url})`;
      console.error(`rapid: handler failed${where}:`, err);
    }
  };
}

export { Metrics, type Observability };
