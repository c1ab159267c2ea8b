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
