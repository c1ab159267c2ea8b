/** CGI/1.1 scripts as a feature handler (docs/interop.md). */
export { createCgiHandler, type CgiHandler, type CgiOptions } from './handler.js';
