/** Rapid's public API. */
export { serve, RapidServer, resolveLimits, type ServeOptions } from './server/server.js';
export * from './core/index.js';
