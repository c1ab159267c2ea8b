/**
 * The application layer: routes, middleware, hooks, sub-apps and virtual hosts on top of the
 * native handler API (docs/app.md). Imports only src/router, src/core and src/util.
 */
export { App, createApp, type AppOptions, type RouteHandlers, type SiteOptions } from './app.js';
export { HttpError, httpErrors, type HttpErrorOptions } from './errors.js';
export { parseQuery } from './query.js';
export { parseCookies, serializeCookie, signCookie, unsignCookie } from './cookies.js';
export { compileTrust, parseForwarded, type TrustProxy, type TrustFn } from './proxy.js';
export type * from './types.js';
