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
