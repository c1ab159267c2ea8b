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
// Config files (docs/config.md): the schema, the loaders and the builder.
export {
  defineConfig,
  configJsonSchema,
  ConfigSchema,
  loadConfig,
  loadConfigValue,
  ConfigError,
  formatIssue,
  startServers,
  startFromConfig,
  factories,
  type Config,
  type ConfigInput,
  type SiteConfig,
  type ListenerConfig,
  type HandlerConfig,
  type LoadedConfig,
  type LoadOptions,
  type ConfigIssue,
  type RunningConfig,
  type ConfigServer,
  type FeatureFactories,
  type FeatureHandler,
  type FactoryContext,
} from './config/index.js';
// Access rules, header rules, redirects and rewrites (docs/access.md, docs/rules.md).
export {
  createAccessControl,
  remoteUser,
  IpMatcher,
  parseHtpasswd,
  type AccessControl,
  type AccessNext,
  type AccessOptions,
  type AccessRule,
  type AuthOptions,
} from './features/access/index.js';
export {
  createHeaderRules,
  createRedirects,
  createRewrites,
  rewriteTarget,
  MAX_REWRITES,
  type HeaderRule,
  type HeaderRules,
  type HeaderRulesOptions,
  type RedirectRule,
  type Redirects,
  type RewriteRule,
  type Rewrites,
} from './features/rules/index.js';
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
// HTTPS and HTTP/2 (docs/tls.md, docs/http2.md).
export { TlsSetup, DEFAULT_CIPHERS, type TlsOptions, type TlsCertificate } from './server/tls.js';
export {
  createHttpsRedirect,
  createHsts,
  hstsValue,
  httpsLocation,
  type HstsOptions,
  type HttpsRedirectOptions,
} from './features/https/index.js';
export { H2Request, H2Response, FLOOD_WINDOW_MS } from './http2/index.js';
export { createDevCertificate, type DevCertOptions, type DevCert } from './cli/cert.js';
// Interop handlers (docs/interop.md): PHP over FastCGI, CGI scripts, reverse proxy.
export {
  createFastCgiHandler,
  type FastCgiHandler,
  type FastCgiOptions,
} from './features/fastcgi/index.js';
export { createCgiHandler, type CgiHandler, type CgiOptions } from './features/cgi/index.js';
export {
  createProxyHandler,
  type ProxyHandler,
  type ProxyOptions,
} from './features/proxy/index.js';
export type { InteropLog } from './features/cgi-response.js';
