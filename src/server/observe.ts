/**
 * What serve() adds around the handler when logging or metrics are configured: the access log and
 * the metrics counters as one ResponseObserver for the engine, and the status endpoint in front
 * of the handler. With none of them configured this returns null and the request path is the
 * plain one (no observer is installed, nothing is measured).
 */
import type { Handler, RapidRequest, ResponseObserver } from '../core/types.js';
import { createAccessLog, type AccessLog, type AccessLogOptions } from '../features/log/access.js';
import { createErrorLog, type ErrorLog, type ErrorLogOptions } from '../features/log/error.js';
import { Metrics } from '../features/metrics/metrics.js';
import {
  createStatusHandler,
  type StatusOptions,
  type StatusView,
} from '../features/metrics/status.js';

export interface ObserveOptions {
  /** Access log(s): `{ path, format }`, or one entry per site with `hosts` (docs/logging.md). */
  accessLog?: AccessLogOptions | AccessLogOptions[] | false;
  /** The error log (pino): `{ path, level }`. Handler failures go there instead of stderr. */
  errorLog?: ErrorLogOptions | ErrorLog | false;
  /** Counters to feed (a cluster worker passes its own so every server of it adds up). */
  metrics?: Metrics;
  /** The status endpoint (off by default): `{ path: '/server-status', allow: ['127.0.0.1'] }`. */
  status?: StatusOptions | false;
  /** Where the status page's numbers come from (a cluster worker asks the primary). */
  statusView?: () => Promise<StatusView> | StatusView;
  /** Relative log paths are resolved against it (default process.cwd()). */
  baseDir?: string;
}

export interface Observability {
  readonly handler: Handler;
  readonly onResponse: ResponseObserver | null;
  readonly metrics: Metrics | null;
  readonly accessLog: AccessLog | null;
  readonly errorLog: ErrorLog | null;
  readonly onError: ((err: unknown, req: RapidRequest | null) => void) | null;
  reopen(): Promise<void>;
  close(): Promise<void>;
}

/** Build the observers; null when nothing is configured. */
export async function observe(
  options: ObserveOptions,
  handler: Handler,
): Promise<Observability | null> {
  const wantsStatus = options.status !== undefined && options.status !== false;
  const wantsLog = options.accessLog !== undefined && options.accessLog !== false;
  const wantsErrors = options.errorLog !== undefined && options.errorLog !== false;
  if (!wantsStatus && !wantsLog && !wantsErrors && options.metrics === undefined) return null;
  const baseDir = options.baseDir;
  const metrics = options.metrics ?? (wantsStatus ? new Metrics() : null);
  let status: ReturnType<typeof createStatusHandler> | null = null;
  if (wantsStatus) {
    status = createStatusHandler(
      metrics as Metrics,
      options.status as StatusOptions,
      options.statusView,
    );
  }
  const accessLog = wantsLog
    ? await createAccessLog(options.accessLog as AccessLogOptions | AccessLogOptions[], {
        baseDir,
      })
    : null;
  const given = options.errorLog;
  const ownErrorLog = wantsErrors && typeof (given as ErrorLog).logger !== 'object';
  const errorLog = wantsErrors
    ? ownErrorLog
      ? createErrorLog(given as ErrorLogOptions, { baseDir })
      : (given as ErrorLog)
    : null;

  let onResponse: ResponseObserver | null = null;
  const log = accessLog?.observe;
  const count = metrics?.observe;
  if (log !== undefined && count !== undefined) {
    onResponse = (req, status, bytes, headBytes, startMs, remote, seq) => {
      count(req, status, bytes, headBytes, startMs, remote, seq);
      log(req, status, bytes, headBytes, startMs, remote, seq);
    };
  } else onResponse = log ?? count ?? null;

  let wrapped = handler;
  if (status !== null) {
    const s = status;
    const path = s.path;
    wrapped = (req, res) => (req.path === path ? s(req, res) : handler(req, res));
  }
  const onError =
    errorLog === null
      ? null
      : (err: unknown, req: RapidRequest | null): void => {
          errorLog.error('handler failed', {
            err,
            ...(req === null ? {} : { method: req.method, url: req.url, host: req.host }),
          });
        };
  return {
    handler: wrapped,
    onResponse,
    metrics,
    accessLog,
    errorLog,
    onError,
    async reopen() {
      errorLog?.reopen();
      await accessLog?.reopen();
    },
    async close() {
      await accessLog?.close();
      if (ownErrorLog) errorLog?.close();
    },
  };
}

// What the cluster layer (which sits above server, not above features) needs of these features.
export { Metrics, sumSnapshots, type MetricsSnapshot } from '../features/metrics/metrics.js';
export type { StatusView, WorkerView } from '../features/metrics/status.js';
export { createErrorLog, type ErrorLog, type ErrorLogOptions } from '../features/log/error.js';
