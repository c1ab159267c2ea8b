/** Rapid's public API. */
export { serve, RapidServer, resolveLimits, type ServeOptions } from './server/server.js';
export * from './core/index.js';
// The application layer (docs/app.md): serve({ handler: createApp().get('/', () => 'hi').handler }).
export {
  App,
  createApp,
  HttpError,
  httpErrors,
  parseQuery,
  parseCookies,
  serializeCookie,
  signCookie,
  unsignCookie,
  type AppOptions,
  type SiteOptions,
  type HttpErrorOptions,
  type TrustProxy,
  type TrustFn,
  type AppRequest,
  type AppResponse,
  type AppHandler,
  type Middleware,
  type Next,
  type RequestHook,
  type SendHook,
  type ErrorHook,
  type ErrorHandler,
  type Payload,
  type HookName,
  type BodyParser,
  type BodyParseContext,
  type FileSender,
  type SendFileOptions,
  type CookieOptions,
  type Query,
} from './app/index.js';
// Workers, logging and metrics (docs/cluster.md, docs/logging.md).
export {
  runPrimary,
  runWorker,
  resolveWorkers,
  defaultDistribution,
  nofileLimit,
  type ClusterOptions,
  type Distribution,
  type Primary,
  type WorkerContext,
  type WorkerHandle,
  type WorkerMain,
} from './cluster/index.js';
export {
  createAccessLog,
  createErrorLog,
  LineWriter,
  type AccessLog,
  type AccessLogFormat,
  type AccessLogOptions,
  type ErrorLog,
  type ErrorLogOptions,
  type LogLevel,
} from './features/log/index.js';
export {
  Metrics,
  createStatusHandler,
  renderPrometheus,
  renderHtml,
  type MetricsSnapshot,
  type StatusOptions,
  type StatusView,
} from './features/metrics/index.js';
export type { ObserveOptions } from './server/observe.js';
export type { ResponseObserver } from './core/types.js';
