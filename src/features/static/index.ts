/** Static file serving (docs/static.md). */
export {
  createStaticHandler,
  type CompressionOptions,
  type StaticNext,
  type StaticHandler,
  type StaticOptions,
} from './handler.js';
export type { OutputCacheOptions } from './cache.js';
export { IMMUTABLE, type CacheControlRule } from './cache-control.js';
export type { Coding } from './encoding.js';
