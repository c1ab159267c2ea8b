/** The reverse proxy as a feature handler (docs/interop.md). */
export { createProxyHandler, type ProxyHandler, type ProxyOptions } from './handler.js';
